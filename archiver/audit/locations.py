"""What a location named on the command line holds: packages, each (path, kind).

A location is a store (a folder of packages: every folder and .zip/.tar/.tar.gz/.tgz in it), a
single package (a bag directory or a serialized bag), an OCFL storage root (every object in
its hierarchy, OCFL 1.1 §4.2) or a single OCFL object. Paths are made absolute, so that the
ledger knows a package by where it lies whatever the working directory.
"""
from __future__ import annotations

import os
from dataclasses import dataclass

from archiver.package.store import SERIALIZED


@dataclass(frozen=True)
class Found:
    location: str  # absolute path of the package
    kind: str  # "bag", "zip", "tar", "ocfl"


class LocationError(Exception):
    """A location that does not exist and that the ledger never knew (usage error)."""


def absolute(path: str | os.PathLike) -> str:
    return os.path.abspath(os.fspath(path))


def archive_kind(name: str) -> str | None:
    lower = name.lower()
    if not lower.endswith(SERIALIZED):
        return None
    return "zip" if lower.endswith(".zip") else "tar"


def _markers(folder: str) -> list[str]:
    try:
        return os.listdir(folder)
    except OSError:
        return []


def is_bag_dir(folder: str, names: list[str] | None = None) -> bool:
    names = _markers(folder) if names is None else names
    return any(n in ("bagit.txt", "bag-info.txt") or
               (n.startswith(("manifest-", "tagmanifest-")) and n.endswith(".txt")) for n in names)


def packages_at(location: str) -> list[Found]:
    """The packages a location holds, in a stable order; [] for an empty store."""
    path = absolute(location)
    if os.path.isfile(path):
        kind = archive_kind(path)
        return [Found(path, kind)] if kind else []
    names = _markers(path)
    if any(n.startswith("0=ocfl_object_") for n in names):
        return [Found(path, "ocfl")]
    if any(n.startswith("0=ocfl_") for n in names):
        return list(ocfl_objects(path))
    if is_bag_dir(path, names):
        return [Found(path, "bag")]
    found = []
    for name in sorted(names):
        if name.startswith("."):  # a build's temporary package, never a package yet
            continue
        full = os.path.join(path, name)
        if os.path.isdir(full) and not os.path.islink(full):
            found.append(Found(full, "bag"))
        elif archive_kind(name) and os.path.isfile(full):
            found.append(Found(full, archive_kind(name)))
    return found


def ocfl_objects(root: str):
    """Every object under an OCFL storage root: directories holding 0=ocfl_object_*,
    not descended into (OCFL 1.1 §4.2: objects are the leaves of the hierarchy)."""
    stack = [root]
    while stack:
        folder = stack.pop()
        try:
            entries = sorted(os.scandir(folder), key=lambda e: e.name, reverse=True)
        except OSError:
            continue
        if any(e.name.startswith("0=ocfl_object_") for e in entries):
            yield Found(folder, "ocfl")
            continue
        for entry in entries:
            if entry.is_dir(follow_symlinks=False) and entry.name != "extensions":
                stack.append(entry.path)
