"""archiver.fixity: every file hashed exactly once, however the work is shared out (batches
sent while the caller still feeds files, the caller's own process taking batches no worker
has started, threads for large files)."""
import hashlib
import os
import subprocess
import sys

import pytest

from archiver import fixity
from archiver.fixity import BLOCK, DEFAULT_ALGORITHMS, copy_and_hash


def _files(root, n, size=lambda i: 100 + i % 3000):
    root.mkdir()
    paths = []
    for i in range(n):
        p = root / f"f{i:05d}"
        p.write_bytes(os.urandom(size(i)))
        paths.append(str(p))
    return paths


def _expected(path):
    data = open(path, "rb").read()
    return len(data), {"sha256": hashlib.sha256(data).hexdigest(), "sha512": hashlib.sha512(data).hexdigest()}


@pytest.mark.parametrize("jobs", [1, 2, 3])
def test_each_file_once_with_its_digests(tmp_path, jobs):
    paths = _files(tmp_path / "small", 1500)
    missing = str(tmp_path / "small" / "gone")
    job = fixity.hash_stream(jobs=jobs)
    for p in [*paths[:700], missing, *paths[700:]]:
        job.add(p, 0)
    results = list(job.finish())
    assert sorted(r[0] for r in results) == sorted([*paths, missing])
    by_path = {p: (size, digests) for p, size, digests in results}
    assert by_path[missing][0] == -1 and isinstance(by_path[missing][1], str)
    for p in paths[::97]:
        assert by_path[p] == _expected(p)


def test_small_and_large_together(tmp_path, monkeypatch):
    monkeypatch.setattr(fixity, "SMALL", 2000)  # files of 2,000 bytes and more count as large
    paths = _files(tmp_path / "mixed", 1200)
    results = list(fixity.hash_many(paths, jobs=2))
    assert sorted(r[0] for r in results) == sorted(paths)
    assert all((size, digests) == _expected(p) for p, size, digests in results[::50])


def test_closing_early_stops_the_work(tmp_path):
    paths = _files(tmp_path / "many", 1500)
    job = fixity.hash_many(paths, jobs=2)
    first = next(iter(job))
    job.close()
    assert first[0] in paths and first[1] >= 0


def test_a_size_given_wrong_still_hashes_the_whole_file(tmp_path, monkeypatch):
    """The size from the walk only spares the empty read at the end; a file that grew or
    shrank since, or one that fills the buffer exactly, is read to its end."""
    monkeypatch.setattr(fixity, "BLOCK", 4096)
    root = tmp_path / "files"
    root.mkdir()
    sizes = {"grown": (3000, 10), "shrunk": (100, 3000), "block": (4096, 4096), "blocks": (3 * 4096, 4096),
             "empty": (0, 5), "exact": (2000, 2000)}
    for name, (real, _) in sizes.items():
        (root / name).write_bytes(os.urandom(real))
    job = fixity.hash_stream(jobs=1)
    for name, (_, given) in sizes.items():
        job.add(str(root / name), given)
    got = {os.path.basename(p): (size, digests) for p, size, digests in job.finish()}
    assert got == {name: _expected(str(root / name)) for name in sizes}


@pytest.mark.parametrize("size", [0, 1, BLOCK - 1, BLOCK, BLOCK + 1, 3 * BLOCK + 5])
def test_copy_and_hash_copies_byte_for_byte(tmp_path, size):
    src, dst = tmp_path / "src", tmp_path / "dst"
    data = os.urandom(size)
    src.write_bytes(data)
    n, digests = copy_and_hash(src, dst)
    assert n == size and dst.read_bytes() == data
    assert digests == {a: hashlib.new(a, data).hexdigest() for a in DEFAULT_ALGORITHMS}


def test_copy_and_hash_names_the_copy_when_the_copy_fails(tmp_path):
    src = tmp_path / "src"
    src.write_bytes(b"x" * (2 << 20))
    with pytest.raises(FileExistsError) as e:  # never over an existing file
        copy_and_hash(src, src)
    assert e.value.filename == str(src)
    # a file system that refuses more bytes (here: a file-size limit of 1 MiB)
    script = ("import resource, sys; from archiver.fixity import copy_and_hash\n"
              "resource.setrlimit(resource.RLIMIT_FSIZE, (1 << 20, 1 << 20))\n"
              "try:\n    copy_and_hash(sys.argv[1], sys.argv[2])\n"
              "except OSError as e:\n    print(e.filename)\n")
    out = subprocess.run([sys.executable, "-c", script, str(src), str(tmp_path / "dst")],
                         capture_output=True, text=True, timeout=60)
    assert out.stdout.strip() == str(tmp_path / "dst"), out.stderr
