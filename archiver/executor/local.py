"""The local executor: a pool of worker processes on this machine, forked from this one."""
from __future__ import annotations

import functools
import os
import signal
import sys
from collections.abc import Callable, Iterator, Sequence

from archiver.durable import end_with_parent
from archiver.executor.errors import WorkerLost

# multiprocessing is imported when a pool is made: validating one bag does not need it


class LocalPool:
    """`jobs` worker processes; results in order as they are done (see archiver.executor).

    A concurrent.futures pool, not multiprocessing.Pool: that one replaces a worker that dies
    and waits for ever for the task it was running; this one notices (BrokenProcessPool),
    and so does the caller (WorkerLost)."""

    remote = False

    def __init__(self, jobs: int):
        from concurrent.futures import ProcessPoolExecutor

        self.slots = max(1, jobs)
        self._pool = ProcessPoolExecutor(self.slots, mp_context=pool_context(), initializer=_worker_init,
                                         initargs=(os.getpid(),))
        # a forking pool forks all its workers at the first task: now, then, before the caller
        # opens what no child may inherit (audit's ledger)
        self._pool.submit(int)

    def map(self, fn: Callable, items: Sequence, *, args: tuple = (), weights=None,
            per_task: int = 8, unseen=None) -> Iterator:
        # the same machine sees the same files: weights and unseen matter to a cluster only
        chunk = max(1, min(per_task, len(items) // (self.slots * 8)))
        return _or_lost(lambda: self._pool.map(functools.partial(_apply, fn, args), items, chunksize=chunk))

    def submit(self, fn: Callable, *args, unseen=None) -> _Started:
        from concurrent.futures.process import BrokenProcessPool

        try:
            return _Started(self._pool.submit(fn, *args))
        except BrokenProcessPool:  # a worker died before this task could even be queued
            raise _lost() from None

    def check_shared(self, read=(), write=()) -> None:
        """Nothing to check: the workers are this machine's processes."""

    def close(self) -> None:
        """No more tasks (join waits for those started)."""

    def terminate(self) -> None:
        # an interrupt stops the workers now, mid-task if need be (the pool has no terminate
        # of its own before Python 3.14). Their deaths break the pool, which fails whatever
        # was queued; join then waits for its manager thread to finish that (shutting it
        # down here without waiting would leave the thread closing its pipes while the
        # interpreter exits: "Bad file descriptor" at exit).
        for process in list((getattr(self._pool, "_processes", None) or {}).values()):
            if process.exitcode is None:
                process.terminate()

    def join(self) -> None:
        self._pool.shutdown(wait=True)


class _Started:
    """One submitted task; result() waits for it (and raises what it raised)."""

    __slots__ = ("_future",)

    def __init__(self, future):
        self._future = future

    def result(self):
        from concurrent.futures.process import BrokenProcessPool

        try:
            return self._future.result()
        except BrokenProcessPool:
            raise _lost() from None


def _or_lost(start: Callable[[], Iterator]) -> Iterator:
    """The results of start() (which queues every task), as they come; a worker's death,
    noticed while queueing or while waiting, is WorkerLost."""
    from concurrent.futures.process import BrokenProcessPool

    try:
        yield from start()
    except BrokenProcessPool:
        raise _lost() from None


def _lost() -> WorkerLost:
    return WorkerLost("worker", "a worker process died while it worked (killed, or out of memory); "
                      "the run stopped: what it finished stands, the rest was not done")


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
