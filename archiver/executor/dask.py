"""The cluster executor: tasks on a Dask distributed cluster whose workers share this
machine's file system, under the same paths.

Only paths and results travel through the scheduler, never file contents: a worker opens
the files itself. Results come back to this process, the one writer: whatever a result
leads to (a package renamed into the store, a PREMIS event, a ledger entry) is written here.
A worker lost mid-task has its tasks run again by another (the scheduler does that); a
scheduler lost mid-run is a ClusterError, and the caller undoes what is unfinished.
"""
from __future__ import annotations

import copy
import hashlib
import logging
import os
import stat
import uuid
from collections.abc import Callable, Iterator, Sequence
from concurrent.futures import CancelledError

from distributed import Client, KilledWorker, get_worker

from archiver import __version__
from archiver.executor import MAX_TASK_BYTES, ClusterError, task_groups

CHECKED_PATHS = 1000  # the shared-storage check looks at this many paths at most (spread evenly)


class DaskCluster:
    remote = True

    def __init__(self, address: str, timeout: float = 10.0):
        self.address = address
        self._owner = True
        self._futures: set = set()  # submitted, not yet consumed: what terminate() cancels
        # Dask logs what it meets (a lost scheduler, reconnection attempts) to stderr: the
        # errors that matter come back to the caller as ClusterError, in archiver's words
        for name in [n for n in logging.root.manager.loggerDict if n.split(".")[0] == "distributed"]:
            logging.getLogger(name).setLevel(logging.CRITICAL)
        try:
            self.client = Client(address, timeout=timeout, set_as_default=False)
        except (OSError, TimeoutError) as e:  # nothing listening, or not a scheduler
            raise ClusterError(address, f"no Dask scheduler answers there ({e})",
                               "CLUSTER-UNREACHABLE") from None
        try:
            self.client.wait_for_workers(1, timeout=timeout)
            self.slots = sum(self.client.nthreads().values())
        except (OSError, TimeoutError) as e:
            self.client.close()
            raise ClusterError(address, f"the scheduler has no workers ({type(e).__name__}: {e})",
                               "CLUSTER-UNREACHABLE") from None

    def borrowed(self) -> DaskCluster:
        """The same connection for one call; its join() leaves the connection open."""
        view = copy.copy(self)
        view._owner, view._futures = False, set()
        return view

    def map(self, fn: Callable, items: Sequence, *, args: tuple = (), weights: Sequence[int] | None = None,
            per_task: int = 8, unseen: Callable | None = None) -> Iterator:
        """Submit every task now (work starts at once); iterate for the results in order."""
        items = list(items)
        groups = task_groups(weights if weights is not None else [0] * len(items), per_task,
                             self.slots, MAX_TASK_BYTES)
        futures = self.client.map(_run_task, [fn] * len(groups), [items[a:b] for a, b in groups],
                                  [args] * len(groups), pure=False,
                                  key=[_key(fn) for _ in groups])
        self._futures.update(futures)
        return _Results(self, futures, groups, items, unseen)

    def submit(self, fn: Callable, *args, unseen: Callable | None = None) -> _Submitted:
        """fn(*args) as one task on the cluster, started now."""
        future = self.client.submit(_run_one, fn, args, pure=False, key=_key(fn))
        self._futures.add(future)
        return _Submitted(self, future, unseen)

    def check_shared(self, read: Sequence[str] = (), write: Sequence[str] = ()) -> None:
        """Every worker runs this archiver and sees `read` as this process does (same kind,
        same listing or size and time) and may write into `write`: else ClusterError naming
        the first worker that does not."""
        read = _spread([os.path.abspath(p) for p in read], CHECKED_PATHS)
        write = [os.path.abspath(p) for p in write]
        mine = [sight(p) for p in read]
        try:
            seen = self.client.run(_worker_view, read, write)
        except (OSError, TimeoutError) as e:
            raise ClusterError(self.address, f"the workers did not answer ({e})", "CLUSTER-LOST") from None
        for worker, (version, theirs, unwritable) in sorted(seen.items()):
            if version != __version__:
                raise ClusterError(worker, f"the worker runs archiver {version}, this machine "
                                   f"{__version__}", "CLUSTER-VERSION")
            for path, here, there in zip(read, mine, theirs):
                if here != there:
                    raise _unshared(worker, path, there, here)
            for path, why in unwritable:
                raise _unshared(worker, path, why, "this machine can write there")

    def close(self) -> None:
        """No more work: nothing to do (tasks finish on the cluster)."""

    def terminate(self) -> None:
        self.client.cancel([f for f in self._futures if not f.done()])

    def join(self) -> None:
        self._futures = set()
        if self._owner:
            self.client.close()


class _Results:
    """The results of one map, in order; close() cancels the tasks not yet consumed."""

    def __init__(self, cluster: DaskCluster, futures: list, groups: list[tuple[int, int]],
                 items: list, unseen: Callable | None):
        self.cluster, self.futures, self.groups, self.items, self.unseen = (
            cluster, futures, groups, items, unseen)
        self._pending = self._each()

    def __iter__(self) -> Iterator:
        return self

    def __next__(self):
        return next(self._pending)

    def _each(self) -> Iterator:
        try:
            for i, (start, stop) in enumerate(self.groups):
                worker, results = _result(self.cluster.address, self.futures[i])
                self.cluster._futures.discard(self.futures[i])
                self.futures[i] = None  # released: the scheduler and the worker forget it
                if self.unseen is not None:
                    self._check_seen(worker, self.items[start:stop], results)
                yield from results
        finally:
            self._cancel()

    def close(self) -> None:
        self._pending.close()
        self._cancel()

    def _cancel(self) -> None:
        left = [f for f in self.futures if f is not None]
        self.futures = []
        if left:
            self.cluster._futures.difference_update(left)
            self.cluster.client.cancel(left)

    def _check_seen(self, worker: str, items: list, results: list) -> None:
        for item, result in zip(items, results):
            path = self.unseen(item, result)
            if path is not None and _readable(path):
                raise _unshared(worker, path, "cannot read it", "this machine can")


class _Submitted:
    """One submitted task; result() waits for it, then releases it (the scheduler and the
    worker forget it: results of a long run do not pile up on the workers)."""

    def __init__(self, cluster: DaskCluster, future, unseen: Callable | None):
        self.cluster, self.future, self.unseen = cluster, future, unseen

    def result(self):
        worker, value = _result(self.cluster.address, self.future)
        self.cluster._futures.discard(self.future)
        self.future = None
        path = self.unseen(value) if self.unseen is not None else None
        if path is not None and _readable(path):
            raise _unshared(worker, path, "cannot read it", "this machine can")
        return value


def _result(address: str, future):
    try:
        return future.result()
    except KilledWorker as e:
        raise ClusterError(address, f"a task was lost with every worker that ran it ({e})",
                           "CLUSTER-LOST") from None
    except (CancelledError, OSError, TimeoutError) as e:
        # Dask's own words name its task keys over several lines: the kind is enough
        raise ClusterError(address, f"the connection to the scheduler was lost "
                           f"({type(e).__name__})", "CLUSTER-LOST") from None


def _key(fn: Callable) -> str:
    """A task's key: its kind (what the scheduler counts tasks by) and a unique part."""
    return f"archiver_{fn.__name__.lstrip('_')}-{uuid.uuid4().hex}"


def _unshared(worker: str, path: str, there: str, here: str) -> ClusterError:
    return ClusterError(path, f"worker {worker} does not see this as this machine does "
                        f"(worker: {there}; here: {here}); workers must share the file system "
                        "under the same paths", "CLUSTER-STORAGE-NOT-SHARED")


def _run_task(fn: Callable, items: list, args: tuple) -> tuple[str, list]:
    return get_worker().address, [fn(item, *args) for item in items]


def _run_one(fn: Callable, args: tuple) -> tuple[str, object]:
    return get_worker().address, fn(*args)


def sight(path: str) -> str:
    """What a machine sees at `path`, enough to tell another file system's file apart: a
    directory's listing (hashed), a file's size and modification second."""
    try:
        st = os.stat(path)
    except OSError as e:
        return f"cannot see it: {e.strerror}"
    if stat.S_ISDIR(st.st_mode):
        try:
            names = sorted(os.listdir(path))
        except OSError as e:
            return f"cannot list it: {e.strerror}"
        digest = hashlib.sha256("\0".join(names).encode("utf-8", "surrogateescape")).hexdigest()
        return f"a directory of {len(names)} entries (listing {digest[:12]})"
    return f"a file of {st.st_size} bytes modified at {int(st.st_mtime)}"


def _worker_view(read: list[str], write: list[str]) -> tuple[str, list[str], list[tuple[str, str]]]:
    unwritable = []
    for path in write:
        if not os.path.isdir(path):
            unwritable.append((path, "no such directory"))
        elif not os.access(path, os.W_OK | os.X_OK):
            unwritable.append((path, "cannot write there"))
    return __version__, [sight(p) for p in read], unwritable


def _readable(path: str) -> bool:
    try:
        if os.path.isdir(path):
            os.listdir(path)
        else:
            os.close(os.open(path, os.O_RDONLY))
        return True
    except OSError:
        return False


def _spread(paths: list[str], most: int) -> list[str]:
    """All paths, or `most` of them spread evenly (plus every folder they are in)."""
    if len(paths) <= most:
        return paths
    step = len(paths) / most
    picked = [paths[int(i * step)] for i in range(most)]
    return list(dict.fromkeys(picked + sorted({os.path.dirname(p) for p in paths})))
