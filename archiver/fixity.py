"""Streaming multi-algorithm hashing: one read per file for every algorithm, in parallel.

Large files are hashed by threads (hashlib releases the GIL on big updates); many small
files go to a process pool in batches so the per-file overhead is shared.
"""
from __future__ import annotations

import hashlib
import os
from collections.abc import Iterable, Iterator, Sequence
from concurrent.futures import ProcessPoolExecutor, ThreadPoolExecutor

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
    view = memoryview(buf)
    size = 0
    with open(path, "rb", buffering=0) as f:
        while n := f.readinto(buf):
            chunk = view[:n]
            for h in hashers:
                h.update(chunk)
            size += n
    return size, {a: h.hexdigest() for a, h in zip(algorithms, hashers)}


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


def hash_many(paths: Iterable[str], algorithms: Sequence[str] = DEFAULT_ALGORITHMS,
              jobs: int | None = None, sizes: dict[str, int] | None = None,
              ) -> Iterator[tuple[str, int, dict[str, str] | str]]:
    """Yield (path, size, digests) for every path, in no particular order.

    A file that cannot be read yields (path, -1, error message) instead of raising,
    so one unreadable file never hides the rest. `sizes` (from an earlier stat) lets the
    scheduler split small and large files without a second stat.
    """
    algorithms = tuple(algorithms)
    jobs = max(1, jobs or os.cpu_count() or 1)
    small, large = [], []
    for p in paths:
        size = sizes.get(p) if sizes else None
        if size is None:
            try:
                size = os.stat(p).st_size
            except OSError:
                size = 0
        (large if size >= SMALL else small).append(p)

    if jobs == 1 or (len(small) < 2 * BATCH and not large):
        yield from _hash_batch(small, algorithms)
        small = []
    if large:
        with ThreadPoolExecutor(jobs) as pool:
            yield from pool.map(lambda p: _hash_batch([p], algorithms)[0], large)
    if small:
        batch = max(16, min(BATCH, len(small) // (jobs * 4) or 1))
        with ProcessPoolExecutor(jobs) as pool:
            futures = [pool.submit(_hash_batch, small[i:i + batch], algorithms)
                       for i in range(0, len(small), batch)]
            for fut in futures:
                yield from fut.result()


def copy_and_hash(src: str | os.PathLike, dst: str | os.PathLike,
                  algorithms: Sequence[str] = DEFAULT_ALGORITHMS,
                  buffer: bytearray | None = None) -> tuple[int, dict[str, str]]:
    """Copy src to dst byte for byte, hashing what was read on the way (one read)."""
    hashers = [ALGORITHMS[a]() for a in algorithms]
    buf = buffer if buffer is not None else bytearray(BLOCK)
    view = memoryview(buf)
    size = 0
    with open(src, "rb", buffering=0) as fin, open(dst, "xb") as fout:
        while n := fin.readinto(buf):
            chunk = view[:n]
            fout.write(chunk)
            for h in hashers:
                h.update(chunk)
            size += n
    return size, {a: h.hexdigest() for a, h in zip(algorithms, hashers)}


def hash_bytes(data: bytes, algorithms: Sequence[str] = DEFAULT_ALGORITHMS) -> dict[str, str]:
    return {a: ALGORITHMS[a](data).hexdigest() for a in algorithms}
