"""Tar archives damaged the ways copies and disks damage them, for the serialized-bag tests of
validate, audit and archiver.bagit.tarstream: a flipped bit in a header, a copy cut short, a
zeroed header, data after the end, two members of one name."""
from __future__ import annotations

import gzip
import io
import tarfile
from pathlib import Path

BLOCK = tarfile.BLOCKSIZE


def tar_of(folder: Path, out: Path, last: str = "tagmanifest-") -> Path:
    """A plain GNU-format tar of `folder` (as its own name), files whose name starts with
    `last` put last (as bagit tools do), so damage there leaves a bag that looks whole."""
    files = sorted((p for p in folder.rglob("*") if p.is_file()),
                   key=lambda p: (p.name.startswith(last), str(p)))
    with tarfile.open(out, "w", format=tarfile.GNU_FORMAT) as tf:
        for path in files:
            tf.add(path, f"{folder.name}/{path.relative_to(folder).as_posix()}", recursive=False)
    return out


def headers(tar: Path) -> list[tuple[str, int]]:
    """(member name, offset of its header) in archive order, read from an intact plain tar."""
    with tarfile.open(tar) as tf:
        return [(m.name, m.offset) for m in tf.getmembers()]


def members_end(tar: Path) -> int:
    """Where the end-of-archive marker starts: just after the last member's data."""
    with tarfile.open(tar) as tf:
        last = tf.getmembers()[-1]
        return last.offset_data + -(-last.size // BLOCK) * BLOCK


def damaged(tar: Path, how: str) -> tuple[bytes, int]:
    """The bytes of `tar` damaged `how`, and the byte offset the damage starts at.

    flip: one bit of the last member's header; cut-header: the copy stops inside that header;
    zero-header: that header overwritten with zeros; cut-at-member: the copy stops right after
    the last member (no end-of-archive marker); one-zero-block: the marker half there;
    appended: data after the end-of-archive marker."""
    data = bytearray(tar.read_bytes())
    name, at = headers(tar)[-1]
    end = members_end(tar)
    if how == "flip":
        data[at + 10] ^= 1
        return bytes(data), at
    if how == "cut-header":
        return bytes(data[:at + 100]), at
    if how == "zero-header":
        data[at:at + BLOCK] = bytes(BLOCK)
        return bytes(data), at
    if how == "cut-at-member":
        return bytes(data[:end]), end
    if how == "one-zero-block":
        return bytes(data[:end + BLOCK]), end
    if how == "appended":
        return bytes(data) + b"more data after the end\n", len(data)
    raise ValueError(how)


HOW = ("flip", "cut-header", "zero-header", "cut-at-member", "one-zero-block", "appended")
CODE = {"flip": "ARCHIVE-DAMAGED", "cut-header": "ARCHIVE-TRUNCATED", "zero-header": "ARCHIVE-DAMAGED",
        "cut-at-member": "ARCHIVE-TRUNCATED", "one-zero-block": "ARCHIVE-TRUNCATED",
        "appended": "ARCHIVE-DAMAGED"}


def gzipped(data: bytes) -> bytes:
    return gzip.compress(data, mtime=0)


def with_duplicate(folder: Path, out: Path, rel: str, forged: bytes, fmt: str = "tar",
                   prefix: str = "") -> Path:
    """An archive of `folder` whose member `rel` comes twice: first `forged`, then the genuine
    file (tar -x keeps the last, an extractor that keeps the first gets the forgery).
    `prefix` goes before the first one's name ("./": the same member once normalized)."""
    import zipfile
    import warnings

    files = sorted(p for p in folder.rglob("*") if p.is_file())
    first = f"{prefix}{folder.name}/{rel}"
    if fmt == "zip":
        with warnings.catch_warnings(), zipfile.ZipFile(out, "w") as zf:
            warnings.simplefilter("ignore")  # zipfile warns of the duplicate name it writes
            zf.writestr(first, forged)
            for path in files:
                zf.write(path, f"{folder.name}/{path.relative_to(folder).as_posix()}")
        return out
    with tarfile.open(out, "w") as tf:
        info = tarfile.TarInfo(first)
        info.size = len(forged)
        tf.addfile(info, io.BytesIO(forged))
        for path in files:
            tf.add(path, f"{folder.name}/{path.relative_to(folder).as_posix()}", recursive=False)
    return out
