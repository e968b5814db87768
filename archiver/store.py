"""A store is a folder of packages (`packages/` by default): where build writes, and a name
that validate and deposit accept for every bag in it."""
from __future__ import annotations

import os
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
