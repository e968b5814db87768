"""Streaming multi-algorithm hashing: one read per file for every algorithm, in parallel.

Large files are hashed by threads (hashlib releases the GIL on big updates); many small
files go to a process pool in batches so the per-file overhead is shared.
"""
from __future__ import annotations

import hashlib
import os
from collections.abc import Iterable, Iterator, Sequence
from concurrent.futures import ThreadPoolExecutor

from archiver.durable import end_with_parent

BLOCK = 128 << 10  # 128 KiB reads: the buffer stays in L2 cache while every algorithm hashes it
SMALL = 4 << 20  # files under this go to the batched process pool
BATCH = 256

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
    fd = os.open(path, os.O_RDONLY | getattr(os, "O_CLOEXEC", 0) | getattr(os, "O_BINARY", 0))
    try:
        size = _hash_fd(fd, hashers, buf)
    finally:
        os.close(fd)
    return size, {a: h.hexdigest() for a, h in zip(algorithms, hashers)}


def _hash_fd(fd: int, hashers: list, buf: bytearray) -> int:
    view = memoryview(buf)
    size = 0
    # os.readv fills the reused buffer without a file object per file (small files are many)
    while n := (os.readv(fd, (buf,)) if _READV else _read_into(fd, view)):
        chunk = view if n == len(buf) else view[:n]
        for h in hashers:
            h.update(chunk)
        size += n
    return size


_READV = hasattr(os, "readv")


def _read_into(fd: int, view: memoryview) -> int:
    data = os.read(fd, len(view))
    view[:len(data)] = data
    return len(data)


def _hash_batch(paths: list[str], algorithms: Sequence[str]) -> list[tuple[str, int, dict[str, str] | str]]:
    buf = bytearray(BLOCK)
    out = []
    for p in paths:
        try:
            size, digests = hash_file(p, algorithms, buf)
            out.append((p, size, digests))
        except OSError as e:
            out.append((p, -1, e.strerror or str(e)))
    return out


def _hash_one(path: str, algorithms: Sequence[str]) -> tuple[str, int, dict[str, str] | str]:
    return _hash_batch([path], algorithms)[0]


class HashJob:
    """Hashing already under way: started when made, iterate for the results.

    Iterating yields (path, size, digests) in no particular order; a file that cannot be
    read yields (path, -1, error message). Small files go to a process pool in batches
    (forked first, before any hashing thread exists), large ones to threads. close() cancels
    what has not started; iterating to the end closes too.
    """

    def __init__(self, paths: Iterable[str], algorithms: Sequence[str] = DEFAULT_ALGORITHMS,
                 jobs: int | None = None, sizes: dict[str, int] | None = None):
        self.algorithms = algorithms = tuple(algorithms)
        jobs = max(1, jobs or os.cpu_count() or 1)
        small, large = _split(paths, sizes)
        self._inline: list[str] = []
        self._batches: list = []
        self._large: list = []
        self._pools: list = []
        if jobs == 1 or (len(small) < 2 * BATCH and not large):
            self._inline = small  # hashed here while iterating: a pool would cost more than it saves
        elif small:
            from concurrent.futures import ProcessPoolExecutor  # multiprocessing: only when needed

            batch = max(16, min(BATCH, len(small) // (jobs * 4) or 1))
            procs = ProcessPoolExecutor(jobs, initializer=end_with_parent, initargs=(os.getpid(),))
            self._pools.append(procs)
            self._batches = [procs.submit(_hash_batch, small[i:i + batch], algorithms)
                             for i in range(0, len(small), batch)]
        if large:
            threads = ThreadPoolExecutor(jobs)
            self._pools.append(threads)
            self._large = [threads.submit(_hash_one, p, algorithms) for p in large]

    def __iter__(self) -> Iterator[tuple[str, int, dict[str, str] | str]]:
        try:
            yield from _hash_batch(self._inline, self.algorithms)
            for fut in self._large:
                yield fut.result()
            for fut in self._batches:
                yield from fut.result()
        finally:
            self.close()

    def close(self) -> None:
        for pool in self._pools:
            pool.shutdown(cancel_futures=True)
        self._pools = []


def _split(paths: Iterable[str], sizes: dict[str, int] | None) -> tuple[list[str], list[str]]:
    small, large = [], []
    for p in paths:
        (large if _size(p, sizes) >= SMALL else small).append(p)
    return small, large


def _size(path: str, sizes: dict[str, int] | None) -> int:
    size = sizes.get(path) if sizes else None
    if size is None:
        try:
            size = os.stat(path).st_size
        except OSError:
            size = 0
    return size


def hash_many(paths: Iterable[str], algorithms: Sequence[str] = DEFAULT_ALGORITHMS,
              jobs: int | None = None, sizes: dict[str, int] | None = None,
              executor=None) -> HashJob | RemoteHashJob:
    """Start hashing every path (see HashJob); iterate the result for (path, size, digests).

    `sizes` (from an earlier stat) lets the scheduler split small and large files without a
    second stat. An executor (a cluster, see archiver.executor) hashes instead of this
    machine's threads and processes.
    """
    if executor is not None:
        return RemoteHashJob(paths, algorithms, executor, sizes)
    return HashJob(paths, algorithms, jobs, sizes)


class RemoteHashJob:
    """Hashing under way on an executor's workers, in tasks of many small files or one large
    one; iterate for (path, size, digests) as HashJob yields them, in the order given.

    Workers are sent absolute paths (their working directory is not this one); a file a worker
    cannot read while this machine can is the executor's error, not an unreadable file.
    """

    def __init__(self, paths: Iterable[str], algorithms: Sequence[str], executor,
                 sizes: dict[str, int] | None = None):
        self.algorithms = tuple(algorithms)
        given = list(paths)
        self._given = {os.path.abspath(p): p for p in given}
        absolute = list(self._given)
        weights = [_size(self._given[p], sizes) for p in absolute]
        self._results = executor.map(_hash_one, absolute, args=(self.algorithms,), weights=weights,
                                     per_task=1000, unseen=_unread)

    def __iter__(self) -> Iterator[tuple[str, int, dict[str, str] | str]]:
        try:
            for path, size, digests in self._results:
                yield self._given[path], size, digests
        finally:
            self.close()

    def close(self) -> None:
        self._results.close()


def _unread(path: str, result: tuple[str, int, dict[str, str] | str]) -> str | None:
    return path if result[1] == -1 else None


def copy_and_hash(src: str | os.PathLike, dst: str | os.PathLike,
                  algorithms: Sequence[str] = DEFAULT_ALGORITHMS,
                  buffer: bytearray | None = None) -> tuple[int, dict[str, str]]:
    """Copy src to dst byte for byte, hashing what was read on the way (one read). An
    OSError from the copy's side carries dst as its filename."""
    hashers = [ALGORITHMS[a]() for a in algorithms]
    buf = buffer if buffer is not None else bytearray(BLOCK)
    view = memoryview(buf)
    size = 0
    with open(src, "rb", buffering=0) as fin:
        try:
            fout = open(dst, "xb")
        except OSError as e:
            e.filename = os.fspath(dst)
            raise
        with fout:
            while n := fin.readinto(buf):
                chunk = view[:n]
                try:
                    fout.write(chunk)
                except OSError as e:  # the copy's side (a full disk): say so, not the source
                    e.filename = os.fspath(dst)
                    raise
                for h in hashers:
                    h.update(chunk)
                size += n
            try:
                fout.flush()
            except OSError as e:
                e.filename = os.fspath(dst)
                raise
    return size, {a: h.hexdigest() for a, h in zip(algorithms, hashers)}


def hash_bytes(data: bytes, algorithms: Sequence[str] = DEFAULT_ALGORITHMS) -> dict[str, str]:
    return {a: ALGORITHMS[a](data).hexdigest() for a in algorithms}
