"""What the Python API takes as paths (no other import: every command's start-up loads it)."""
from __future__ import annotations

import os
from collections.abc import Iterable


def path_list(paths: str | os.PathLike | Iterable[str | os.PathLike]) -> list:
    """One path, or any iterable of them, as a list (bytes decoded as the file system does).
    A single str is one path, never its characters (which would name "/", and a validation
    of the whole disk)."""
    if isinstance(paths, (str, bytes, os.PathLike)):
        paths = [paths]
    return [os.fsdecode(p) if isinstance(p, bytes) else p for p in paths]
