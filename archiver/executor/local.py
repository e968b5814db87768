"""The local executor: a pool of worker processes on this machine, forked from this one."""
from __future__ import annotations

import functools
import os
import signal
import sys
from collections.abc import Callable, Iterator, Sequence

from archiver.durable import end_with_parent

# multiprocessing is imported when a pool is made: validating one bag does not need it


class LocalPool:
    """`jobs` worker processes; results in order as they are done (see archiver.executor)."""

    remote = False

    def __init__(self, jobs: int):
        self.slots = max(1, jobs)
        self._pool = pool_context().Pool(self.slots, initializer=_worker_init, initargs=(os.getpid(),))

    def map(self, fn: Callable, items: Sequence, *, args: tuple = (), weights=None,
            per_task: int = 8, unseen=None) -> Iterator:
        # the same machine sees the same files: weights and unseen matter to a cluster only
        chunk = max(1, min(per_task, len(items) // (self.slots * 8)))
        return self._pool.imap(functools.partial(_apply, fn, args), items, chunksize=chunk)

    def submit(self, fn: Callable, *args, unseen=None) -> _Started:
        return _Started(self._pool.apply_async(fn, args))

    def check_shared(self, read=(), write=()) -> None:
        """Nothing to check: the workers are this machine's processes."""

    def close(self) -> None:
        self._pool.close()

    def terminate(self) -> None:
        self._pool.terminate()  # an interrupt stops the workers now, mid-task if need be

    def join(self) -> None:
        self._pool.join()


class _Started:
    """One submitted task; result() waits for it (and raises what it raised)."""

    __slots__ = ("_async",)

    def __init__(self, async_result):
        self._async = async_result

    def result(self):
        return self._async.get()


def _apply(fn: Callable, args: tuple, item):
    return fn(item, *args)


def _worker_init(parent: int) -> None:
    # Ctrl-C reaches every process of the terminal's group: only the parent acts on it (it
    # terminates the workers and undoes their unfinished work)
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    signal.signal(signal.SIGTERM, signal.SIG_DFL)  # terminate() ends a worker at once
    end_with_parent(parent)  # a parent killed outright (kill -9) takes its workers with it


def can_fork() -> bool:
    import multiprocessing
    return "fork" in multiprocessing.get_all_start_methods()


def pool_context():
    """Fork, unless this process has loaded Siegfried's Go runtime (a caller used pygfried):
    children forked from it hang in their first identification, so they come from a clean
    fork server instead."""
    import multiprocessing
    if "pygfried" in sys.modules and "forkserver" in multiprocessing.get_all_start_methods():
        return multiprocessing.get_context("forkserver")
    if can_fork():
        return multiprocessing.get_context("fork")
    return multiprocessing.get_context("spawn")
