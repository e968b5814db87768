"""A store is a folder of packages (`packages/` by default): where build writes, and a name
that validate and deposit accept for every bag in it.

Packages enter a store complete or not at all: each is written in a hidden temporary
directory of the store and renamed into place. Durability is bought per batch: one sync of
the file system for many packages, then the renames, then one fsync of the store directory,
instead of an fsync per file (about 5 ms a package here).
"""
from __future__ import annotations

import os
from collections.abc import Iterable
from pathlib import Path


SERIALIZED = (".zip", ".tar", ".tar.gz", ".tgz")


def expand_bags(paths: Iterable[str | os.PathLike]) -> list[Path]:
    """Bags as named; a folder that is not a bag itself but holds bags stands for them.

    A folder with any part of a bag at its top (bagit.txt, a manifest, bag-info.txt) is a
    bag, however damaged, and is judged as one. A folder of bags stands for every folder and
    serialized bag in it, bags or not, so a package that lost its bagit.txt is reported, not
    passed over. Hidden entries (a build's temporary packages) are skipped; anything else is
    passed on as given, so the caller reports it (not a bag, missing...)."""
    found = []
    for path in map(Path, paths):
        if path.is_dir() and not _looks_like_a_bag(path):
            entries = sorted(p for p in path.iterdir() if not p.name.startswith("."))
            if any(p.is_dir() and _looks_like_a_bag(p) for p in entries):
                found.extend(p for p in entries
                             if p.is_dir() or p.name.lower().endswith(SERIALIZED))
                continue
        found.append(path)
    return found


def _looks_like_a_bag(folder: Path) -> bool:
    try:
        names = os.listdir(folder)
    except OSError:
        return False
    return any(n in ("bagit.txt", "bag-info.txt", "package-info.txt") or
               (n.startswith(("manifest-", "tagmanifest-")) and n.endswith(".txt")) for n in names)
