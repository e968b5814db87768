"""Streaming multi-algorithm hashing: one read per file for every algorithm, in parallel.

Large files are hashed by threads (hashlib releases the GIL on big updates); many small
files go to a process pool in batches so the per-file overhead is shared.
"""
from __future__ import annotations

import hashlib
import os
from collections.abc import Iterable, Iterator, Sequence

from archiver.durable import end_with_parent

BLOCK = 128 << 10  # 128 KiB reads: the buffer stays in L2 cache while every algorithm hashes it
SMALL = 4 << 20  # files under this go to the batched process pool
BATCH = 256
STREAM_START = 2 * BATCH  # small files fed one by one: the pool starts once this many have come
STREAM_BATCH = 128  # and gets them in batches of this many while the feeding goes on

# The algorithms BagIt 1.0 names (RFC 8493 section 2.4), mapped to hashlib constructors.
ALGORITHMS = {
    "md5": hashlib.md5,
    "sha1": hashlib.sha1,
    "sha224": hashlib.sha224,
    "sha256": hashlib.sha256,
    "sha384": hashlib.sha384,
    "sha512": hashlib.sha512,
    "blake2b": hashlib.blake2b,
}
DEFAULT_ALGORITHMS = ("sha256", "sha512")


def check_algorithms(algorithms: Iterable[str]) -> tuple[str, ...]:
    algs = tuple(dict.fromkeys(a.lower() for a in algorithms))
    unknown = [a for a in algs if a not in ALGORITHMS]
    if unknown:
        raise ValueError(f"unsupported checksum algorithm: {', '.join(unknown)} "
                         f"(choose from {', '.join(ALGORITHMS)})")
    if not algs:
        raise ValueError("at least one checksum algorithm is needed")
    return algs


def hash_file(path: str | os.PathLike, algorithms: Sequence[str] = DEFAULT_ALGORITHMS,
              buffer: bytearray | None = None) -> tuple[int, dict[str, str]]:
    """Return (size in bytes, {algorithm: hex digest}) reading the file once."""
    hashers = [ALGORITHMS[a]() for a in algorithms]
    buf = buffer if buffer is not None else bytearray(BLOCK)
    fd = os.open(path, _OPEN_FLAGS)
    try:
        size = _hash_fd(fd, hashers, buf, memoryview(buf))
    finally:
        os.close(fd)
    return size, {a: h.hexdigest() for a, h in zip(algorithms, hashers)}


_OPEN_FLAGS = os.O_RDONLY | getattr(os, "O_CLOEXEC", 0) | getattr(os, "O_BINARY", 0)
_READV = hasattr(os, "readv")
_CREATE_FLAGS = os.O_WRONLY | os.O_CREAT | os.O_EXCL | getattr(os, "O_CLOEXEC", 0) | getattr(os, "O_BINARY", 0)


def _hash_fd(fd: int, hashers: list, buf: bytearray, view: memoryview, expected: int = -1) -> int:
    size = 0
    whole = len(buf)
    # os.readv fills the reused buffer without a file object per file (small files are many).
    # The end is the empty read, or a short read that brings the size to what the walk saw
    # (`expected`): on a regular file only the end makes a read short, so the empty read
    # would only confirm it, one system call per file. A file that grew since is read on.
    while n := (os.readv(fd, (buf,)) if _READV else _read_into(fd, view)):
        chunk = view if n == whole else view[:n]
        for h in hashers:
            h.update(chunk)
        size += n
        if n < whole and size == expected:
            break
    return size


def _read_into(fd: int, view: memoryview) -> int:
    data = os.read(fd, len(view))
    view[:len(data)] = data
    return len(data)


def _hash_batch(paths: list[str], algorithms: Sequence[str], sizes: list[int] | None = None
                 ) -> list[tuple[str, int, dict[str, str] | str]]:
    """Hash each path (`sizes`: what the walk saw, if it did); a worker's task. Per file:
    open, the read (two for a file that fills the buffer), close, nothing else (the walk has
    the size, so no stat): with files of a few KiB, every call counts."""
    makers = [ALGORITHMS[a] for a in algorithms]
    buf = bytearray(BLOCK)
    view = memoryview(buf)
    out = []
    append = out.append
    for i, p in enumerate(paths):
        hashers = [make() for make in makers]
        try:
            fd = os.open(p, _OPEN_FLAGS)
            try:
                size = _hash_fd(fd, hashers, buf, view, sizes[i] if sizes else -1)
            finally:
                os.close(fd)
        except OSError as e:
            append((p, -1, e.strerror or str(e)))
            continue
        append((p, size, {a: h.hexdigest() for a, h in zip(algorithms, hashers)}))
    return out


def _hash_one(path: str, algorithms: Sequence[str]) -> tuple[str, int, dict[str, str] | str]:
    return _hash_batch([path], algorithms)[0]


class HashJob:
    """Hashing under way: fed file by file (`add`), or given every path at once; iterate for
    the results once `finish` has been called (hash_many does both).

    Iterating yields (path, size, digests) in no particular order; a file that cannot be
    read yields (path, -1, error message). Small files go in batches to a pool of jobs - 1
    worker processes, each batch sent as soon as it is full (so hashing starts while the
    caller still walks the tree); the pool is forked when the first STREAM_START small files
    have come, before any hashing thread exists. This process is the last of the `jobs`:
    while iterating it hashes, from the end of the queue, the batches no worker has started
    (fewer than STREAM_START files it hashes alone). Large files go to threads once the input
    is finished. close() cancels what has not started; iterating to the end closes too.
    """

    def __init__(self, algorithms: Sequence[str] = DEFAULT_ALGORITHMS, jobs: int | None = None):
        self.algorithms = tuple(algorithms)
        self.jobs = max(1, jobs or os.cpu_count() or 1)
        self._pending: list[str] = []  # small files not yet sent
        self._pending_sizes: list[int] = []  # and the size each was given with
        self._large: list[str] = []
        self._inline: tuple[list[str], list[int]] = ([], [])
        self._batches: list[tuple[list[str], list[int]]] = []  # sent to the pool, and each one's future
        self._futures: list = []
        self._large_done: list = []
        self._procs = None
        self._pools: list = []
        self._finished = False

    def add(self, path: str, size: int) -> None:
        if size >= SMALL:
            self._large.append(path)
            return
        pending = self._pending
        pending.append(path)
        self._pending_sizes.append(size)
        if self._procs is not None:
            if len(pending) >= STREAM_BATCH:
                self._send(pending, self._pending_sizes)
                self._pending, self._pending_sizes = [], []
        elif self.jobs > 1 and len(pending) >= STREAM_START:
            self._start_pool()
            self._send_all(STREAM_BATCH)

    def finish(self) -> "HashJob":
        """No more files: send what is left, start the large files' threads."""
        if self._finished:
            return self
        self._finished = True
        small = self._pending
        if self._procs is not None:
            # the last batches small, so that no process is left hashing alone at the end
            self._send_all(max(16, min(STREAM_BATCH, len(small) // self.jobs or 1)))
        elif self.jobs == 1 or (len(small) < 2 * BATCH and not self._large):
            # hashed here while iterating: a pool would cost more than it saves
            self._inline = (small, self._pending_sizes)
            self._pending, self._pending_sizes = [], []
        elif small:
            self._start_pool()
            self._send_all(max(16, min(BATCH, len(small) // (self.jobs * 4) or 1)))
        if self._large:
            from concurrent.futures import ThreadPoolExecutor

            threads = ThreadPoolExecutor(self.jobs)
            self._pools.append(threads)
            self._large_done = [threads.submit(_hash_one, p, self.algorithms) for p in self._large]
        return self

    def _start_pool(self) -> None:
        from concurrent.futures import ProcessPoolExecutor  # multiprocessing: only when needed

        self._procs = ProcessPoolExecutor(max(1, self.jobs - 1), initializer=end_with_parent,
                                          initargs=(os.getpid(),))
        self._pools.append(self._procs)

    def _send_all(self, batch: int) -> None:
        small, sizes = self._pending, self._pending_sizes
        self._pending, self._pending_sizes = [], []
        for i in range(0, len(small), batch):
            self._send(small[i:i + batch], sizes[i:i + batch])

    def _send(self, paths: list[str], sizes: list[int]) -> None:
        self._batches.append((paths, sizes))
        self._futures.append(self._procs.submit(_hash_batch, paths, self.algorithms, sizes))

    def __iter__(self) -> Iterator[tuple[str, int, dict[str, str] | str]]:
        self.finish()
        try:
            yield from _hash_batch(self._inline[0], self.algorithms, self._inline[1])
            for fut in self._large_done:
                yield fut.result()
            yield from self._batch_results()
        finally:
            self.close()

    def _batch_results(self) -> Iterator[tuple[str, int, dict[str, str] | str]]:
        # The pool takes its queue from the front; this process takes it from the back, each
        # batch no worker has started yet (a pending future can be cancelled), and hands on
        # the workers' results as they come, so few wait in memory. Once the last one left
        # has been started, every one before it has too: their results are all that is left.
        futures, front, back = self._futures, 0, len(self._futures) - 1
        steal = not self._large_done  # threads are busy with large files: leave the cores to them
        while front <= back:
            if futures[front].done():
                yield from futures[front].result()
                front += 1
            elif steal and futures[back].cancel():
                paths, sizes = self._batches[back]
                yield from _hash_batch(paths, self.algorithms, sizes)
                back -= 1
            else:
                break
        for fut in futures[front:back + 1]:
            yield from fut.result()

    def close(self) -> None:
        for pool in self._pools:
            pool.shutdown(cancel_futures=True)
        self._pools = []


def _size(path: str, sizes: dict[str, int] | None) -> int:
    size = sizes.get(path) if sizes else None
    if size is None:
        try:
            size = os.stat(path).st_size
        except OSError:
            size = 0
    return size


def hash_stream(algorithms: Sequence[str] = DEFAULT_ALGORITHMS, jobs: int | None = None,
                executor=None) -> HashJob | RemoteHashJob:
    """A job to feed path by path (`add(path, size)`), then `finish()`; iterate it for
    (path, size, digests). Hashing starts while it is being fed (here; a cluster's job starts
    at finish)."""
    if executor is not None:
        return RemoteHashJob(algorithms, executor)
    return HashJob(algorithms, jobs)


def hash_many(paths: Iterable[str], algorithms: Sequence[str] = DEFAULT_ALGORITHMS,
              jobs: int | None = None, sizes: dict[str, int] | None = None,
              executor=None) -> HashJob | RemoteHashJob:
    """Start hashing every path (see HashJob); iterate the result for (path, size, digests).

    `sizes` (from an earlier stat) lets the scheduler split small and large files without a
    second stat. An executor (a cluster, see archiver.executor) hashes instead of this
    machine's threads and processes.
    """
    job = hash_stream(algorithms, jobs, executor)
    for p in paths:
        job.add(p, _size(p, sizes))
    return job.finish()


class RemoteHashJob:
    """Hashing on an executor's workers, in tasks of many small files or one large one,
    started when the input is finished; iterate for (path, size, digests) as HashJob yields
    them, in the order given.

    Workers are sent absolute paths (their working directory is not this one); a file a worker
    cannot read while this machine can is the executor's error, not an unreadable file.
    """

    def __init__(self, algorithms: Sequence[str], executor):
        self.algorithms = tuple(algorithms)
        self._executor = executor
        self._given: dict[str, str] = {}
        self._weights: list[int] = []
        self._results = None

    def add(self, path: str, size: int) -> None:
        self._given[os.path.abspath(path)] = path
        self._weights.append(size)

    def finish(self) -> "RemoteHashJob":
        if self._results is None:
            self._results = self._executor.map(_hash_one, list(self._given), args=(self.algorithms,),
                                               weights=self._weights, per_task=1000, unseen=_unread)
        return self

    def __iter__(self) -> Iterator[tuple[str, int, dict[str, str] | str]]:
        self.finish()
        try:
            for path, size, digests in self._results:
                yield self._given[path], size, digests
        finally:
            self.close()

    def close(self) -> None:
        if self._results is not None:
            self._results.close()


def _unread(path: str, result: tuple[str, int, dict[str, str] | str]) -> str | None:
    return path if result[1] == -1 else None


def copy_and_hash(src: str | os.PathLike, dst: str | os.PathLike,
                  algorithms: Sequence[str] = DEFAULT_ALGORITHMS,
                  buffer: bytearray | None = None) -> tuple[int, dict[str, str]]:
    """Copy src to dst (a new file) byte for byte, hashing what was read on the way (one
    read), with bare descriptors: a build or deposit copies ten small files a package, where
    file objects cost a third of the copy. An OSError from the copy's side carries dst as its
    filename."""
    hashers = [ALGORITHMS[a]() for a in algorithms]
    buf = buffer if buffer is not None else bytearray(BLOCK)
    view = memoryview(buf)
    size = 0
    fin = os.open(src, _OPEN_FLAGS)
    try:
        try:
            fout = os.open(dst, _CREATE_FLAGS, 0o666)
        except OSError as e:
            e.filename = os.fspath(dst)
            raise
        try:
            while n := (os.readv(fin, (buf,)) if _READV else _read_into(fin, view)):
                chunk = view[:n]
                try:
                    written = 0
                    while written < n:  # a short write (a disk filling up) goes on, or fails
                        written += os.write(fout, chunk[written:])
                except OSError as e:  # the copy's side (a full disk): say so, not the source
                    e.filename = os.fspath(dst)
                    raise
                for h in hashers:
                    h.update(chunk)
                size += n
        finally:
            try:
                os.close(fout)
            except OSError as e:  # a write-back error reported at close: the copy's side too
                e.filename = os.fspath(dst)
                raise
    finally:
        os.close(fin)
    return size, {a: h.hexdigest() for a, h in zip(algorithms, hashers)}


def hash_bytes(data: bytes, algorithms: Sequence[str] = DEFAULT_ALGORITHMS) -> dict[str, str]:
    return {a: ALGORITHMS[a](data).hexdigest() for a in algorithms}
