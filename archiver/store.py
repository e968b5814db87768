"""A store is a folder of packages (`packages/` by default): where build writes, and a name
that validate and deposit accept for every bag in it.

Packages enter a store complete or not at all: each is written in a hidden temporary
directory of the store and renamed into place. Durability is bought per batch: one sync of
the file system for many packages, then the renames, then one fsync of the store directory,
instead of an fsync per file (about 5 ms a package here).
"""
from __future__ import annotations

import os
import shutil
from collections.abc import Iterable
from pathlib import Path


def expand_bags(paths: Iterable[str | os.PathLike]) -> list[Path]:
    """Bags as named; a folder that is not a bag itself but holds bags stands for them.

    Hidden entries (a build's temporary packages) are skipped; anything else is passed on
    as given, so the caller reports it (not a bag, missing, a serialized bag...)."""
    found = []
    for path in map(Path, paths):
        if path.is_dir() and not (path / "bagit.txt").exists():
            inner = sorted(p for p in path.iterdir()
                           if p.is_dir() and not p.name.startswith(".") and (p / "bagit.txt").is_file())
            if inner:
                found.extend(inner)
                continue
        found.append(path)
    return found


def sync_filesystem(path: Path) -> None:
    """Write out everything cached for the file system holding `path` (syncfs where the
    system has it, else a whole-system sync)."""
    if not hasattr(os, "syncfs"):
        os.sync()
        return
    fd = os.open(path, os.O_RDONLY)
    try:
        os.syncfs(fd)
    finally:
        os.close(fd)


def fsync_directory(path: Path) -> None:
    """Make the entries of a directory (names just renamed into it) durable."""
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def move_into_place(tmp: Path, final: Path) -> bool:
    """Rename a finished package into place; False (and `tmp` removed) when a package of
    that name is already there."""
    try:
        os.rename(tmp, final)
        return True
    except OSError:
        shutil.rmtree(tmp, ignore_errors=True)
        return False
