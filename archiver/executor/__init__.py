"""The executor seam: per-file and per-package work run by a pool of this machine's processes
(the default) or by a Dask distributed cluster the user names.

It knows nothing of what the work is: a function, a list of items, optionally each item's
weight (its bytes) so tasks can be sized. Both executors offer

- `slots`: how many tasks run at once;
- `map(fn, items, args=(), weights=None, per_task=N, unseen=None)`: fn(item, *args) for every
  item, the results yielded in item order as they arrive. Items are grouped into tasks of at
  most `per_task` items (fewer, so that every slot gets work); a cluster also caps a task's
  weight, so that a large file is a task of its own. `unseen(item, result)` may name a path
  the result says could not be found: a cluster checks whether this machine sees it, and if
  so, the worker's view of the shared storage is at fault, not the item (ClusterError);
- `submit(fn, *args, unseen=None)`: fn(*args) as one task, started now; its `.result()`
  waits for what it returned (a caller that paces its own work: audit keeps a bounded
  number in flight and decides before each whether to start more). `unseen(result)` as
  map's;
- `check_shared(read=..., write=...)`: the workers see these paths as this process does;
- `close()`, `terminate()`, `join()`: as multiprocessing.Pool's (join also disconnects).

A worker that dies under a task (the kernel's OOM killer, a kill) stops the work with
WorkerLost, a ClusterError: never a wait for a result that will not come.

Dask is imported only by `connect()`, when an address is given.
"""
from __future__ import annotations

import math
from collections.abc import Sequence

from archiver.executor.errors import ClusterError, WorkerLost
from archiver.executor.local import LocalPool

__all__ = ["ClusterError", "LocalPool", "MAX_TASK_BYTES", "WorkerLost", "connect", "open_executor",
           "task_groups"]

LOCAL = "local"  # --cluster local: this machine's pool, whatever archiver.toml names
MAX_TASK_BYTES = 2 << 30  # a cluster task: a few GB of small files at most, one large file alone


def connect(cluster, timeout: float = 10.0):
    """None for no cluster (or "local"); an address ("tcp://HOST:8786") connects to its
    scheduler; an executor already connected is used as it is (and left open)."""
    if cluster is None or cluster == LOCAL:
        return None
    if not isinstance(cluster, str):
        return cluster.borrowed()
    from archiver.executor.dask import DaskCluster  # the only place Dask is imported from
    return DaskCluster(cluster, timeout=timeout)


def open_executor(cluster, jobs: int):
    """The cluster's executor when one is named, else a local pool of `jobs` processes."""
    return connect(cluster) or LocalPool(jobs)


def task_groups(weights: Sequence[int], per_task: int, slots: int, max_weight: int) -> list[tuple[int, int]]:
    """(start, stop) of each task over the items, in order: at most `per_task` items and
    (unless one item alone is heavier) `max_weight` per task, and small enough that every slot
    gets about four tasks, so a slow one does not leave the others idle at the end."""
    n = len(weights)
    if not n:
        return []
    spread = 4 * max(1, slots)
    most = max(1, min(per_task, math.ceil(n / spread)))
    heaviest = max(1, min(max_weight, math.ceil(sum(weights) / spread)))
    groups, start, load = [], 0, 0
    for i, w in enumerate(weights):
        if i > start and (i - start >= most or load + w > heaviest):
            groups.append((start, i))
            start, load = i, 0
        load += w
    groups.append((start, n))
    return groups
