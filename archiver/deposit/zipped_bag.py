"""A bag as a zip: the zip a deposit sends, and the bag found and checked in a zip a
repository gives back.

Repositories rarely return the bytes they were sent. A SWORD server disseminates a zip of
its own making (SimpleZip), wraps the original zip in another zip, or unpacks the bag and
zips its files again. So what comes back is judged by content: find the bag in the zip (its
bagit.txt, at any depth, or inside a zip inside the zip) and compare every file of the
package with it by size and SHA-256, payload and tag files alike. Memory stays bounded:
entries are hashed as they stream, nested zips are spooled to disk.
"""
from __future__ import annotations

import hashlib
import os
import shutil
import tempfile
import unicodedata
import zipfile
import zlib
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path

from archiver.deposit.base import deposited

BLOCK = 1 << 20
SAME, DIFFERENT, NOT_FOUND = "same", "different", "not-found"
MAX_NESTED = 8        # zips inside the zip looked into, per level
MAX_DEPTH = 2         # a zip in a zip in the zip is as deep as servers go

# bag-relative path -> (size, sha256)
Files = Mapping[str, tuple[int, str]]


@dataclass(frozen=True)
class Comparison:
    outcome: str          # SAME, DIFFERENT or NOT_FOUND
    detail: str           # what was found, in words
    where: str = ""       # where the bag is in the zip, e.g. "rpt-1/" or "rpt-1.zip > rpt-1/"


def write_zip(bag: Path, out) -> dict[str, tuple[int, str]]:
    """Zip the bag under a top-level directory of its own name, in a stable order (archiver's
    own temporaries left out); return the size and SHA-256 of every file, computed on the same
    read that zips it."""
    bag = Path(bag)
    files: dict[str, tuple[int, str]] = {}
    with zipfile.ZipFile(out, "w", compression=zipfile.ZIP_DEFLATED, compresslevel=6) as zf:
        for path in sorted(bag.rglob("*")):
            rel = path.relative_to(bag).as_posix()
            if not path.is_file() or not deposited(rel):
                continue
            info = zipfile.ZipInfo.from_file(path, f"{bag.name}/{rel}")
            info.compress_type = zipfile.ZIP_DEFLATED
            h, size = hashlib.sha256(), 0
            big = info.file_size >= zipfile.ZIP64_LIMIT
            with open(path, "rb") as src, zf.open(info, "w", force_zip64=big) as dst:
                while chunk := src.read(BLOCK):
                    h.update(chunk)
                    dst.write(chunk)
                    size += len(chunk)
            files[rel] = (size, h.hexdigest())
    return files


def package_files(bag: Path, skip: Callable[[str], bool] | None = None) -> dict[str, tuple[int, str]]:
    """Size and SHA-256 of every file of the bag as a deposit sends it (those `skip` names
    left out)."""
    bag = Path(bag)
    files = {}
    for path in sorted(bag.rglob("*")):
        if path.is_file():
            rel = path.relative_to(bag).as_posix()
            if not deposited(rel) or (skip and skip(rel)):
                continue
            h, size = hashlib.sha256(), 0
            with open(path, "rb") as f:
                while chunk := f.read(BLOCK):
                    h.update(chunk)
                    size += len(chunk)
            files[rel] = (size, h.hexdigest())
    return files


def _nfc(name: str) -> str:
    # macOS servers store NFD names; the same name in another normal form is the same file
    return unicodedata.normalize("NFC", name)


def _hash_member(zf: zipfile.ZipFile, info: zipfile.ZipInfo) -> str:
    h = hashlib.sha256()
    with zf.open(info) as f:
        while chunk := f.read(BLOCK):
            h.update(chunk)
    return h.hexdigest()


def _compare_at(zf: zipfile.ZipFile, prefix: str, members: dict[str, zipfile.ZipInfo],
                expected: Files, skip: Callable[[str], bool] | None) -> tuple[str, str]:
    """Compare the files under `prefix` in the zip with `expected`: (outcome, detail)."""
    held = {name[len(prefix):]: info for name, info in members.items() if name.startswith(prefix)}
    missing, changed = [], []
    for rel, (size, sha256) in sorted(expected.items()):
        info = held.get(_nfc(rel))
        if info is None:
            missing.append(rel)
        elif info.file_size != size:
            changed.append(f"{rel} ({info.file_size} bytes, {size} sent)")
        else:
            try:
                digest = _hash_member(zf, info)
            except (zipfile.BadZipFile, zlib.error, OSError, EOFError) as e:
                changed.append(f"{rel} (unreadable in the zip: {e})")
                continue
            if digest != sha256:
                changed.append(f"{rel} (SHA-256 {digest[:12]}…, {sha256[:12]}… sent)")
    wanted = {_nfc(rel) for rel in expected}
    extra = sorted(rel for rel in held if rel not in wanted and not (skip and skip(rel)))
    extra_payload = [rel for rel in extra if rel.startswith("data/")]
    if missing or changed or extra_payload:
        parts = []
        for label, items in (("missing", missing), ("different", changed),
                             ("not in the package", extra_payload)):
            if items:
                more = f" and {len(items) - 3} more" if len(items) > 3 else ""
                parts.append(f"{len(items)} {label}: {', '.join(items[:3])}{more}")
        return DIFFERENT, "; ".join(parts)
    detail = f"all {len(expected)} files of the package, same size and SHA-256"
    if extra:
        detail += (f"; the server's copy also holds {len(extra)} tag file(s) of its own "
                   f"({', '.join(extra[:3])})")
    return SAME, detail


def compare_zip(source: str | os.PathLike, expected: Files, bag_name: str,
                skip: Callable[[str], bool] | None = None, _depth: int = 0) -> Comparison:
    """Find the bag in the zip at `source` and compare it with `expected` (bag-relative
    path -> size, SHA-256). `skip` names files not to judge (present or absent alike)."""
    try:
        zf = zipfile.ZipFile(source)
    except (zipfile.BadZipFile, OSError, ValueError, EOFError):
        return Comparison(NOT_FOUND, "not a zip file")
    with zf:
        members = {_nfc(i.filename): i for i in zf.infolist() if not i.is_dir()}
        prefixes = [name[:-len("bagit.txt")] for name in members
                    if name == "bagit.txt" or name.endswith("/bagit.txt")]
        # the bag under its own name first, then the shallowest
        prefixes.sort(key=lambda p: (p.rstrip("/").rsplit("/", 1)[-1] != bag_name, p.count("/"), p))
        first_difference = None
        for prefix in prefixes:
            outcome, detail = _compare_at(zf, prefix, members, expected, skip)
            if outcome == SAME:
                return Comparison(SAME, detail, prefix or "(top level)")
            first_difference = first_difference or Comparison(DIFFERENT, detail, prefix or "(top level)")
        if first_difference:
            return first_difference
        if _depth >= MAX_DEPTH:
            return Comparison(NOT_FOUND, "no bag (bagit.txt) in the zip")
        nested = [i for name, i in members.items() if name.lower().endswith(".zip")][:MAX_NESTED]
        for info in nested:
            with tempfile.TemporaryFile(prefix="archiver-readback-") as spool:
                try:
                    with zf.open(info) as src:
                        shutil.copyfileobj(src, spool, BLOCK)
                except (zipfile.BadZipFile, zlib.error, OSError, EOFError):
                    continue
                spool.seek(0)
                found = compare_zip(spool, expected, bag_name, skip, _depth + 1)
            if found.outcome != NOT_FOUND:
                return Comparison(found.outcome, found.detail, f"{info.filename} > {found.where}")
    return Comparison(NOT_FOUND, "no bag (bagit.txt) in the zip")
