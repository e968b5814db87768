"""A store is a folder of packages (`packages/` by default): where build writes, and a name
that validate and deposit accept for every bag in it.

Packages enter a store complete or not at all: each is written in a hidden temporary
directory of the store (`.new.tmp-<run>-<n>`) and renamed into place. A build holds a lock
on `.archiver-build-<run>.lock` while it runs (the kernel drops it when the process dies, kill -9
included), so the next build can tell a dead run's temporaries from a live one's and
removes only the dead ones. Durability is bought per batch: one sync of
the file system for many packages, then the renames, then one fsync of the store directory,
instead of an fsync per file (about 5 ms a package here).
"""
from __future__ import annotations

import fcntl
import os
from collections.abc import Iterable
from pathlib import Path

from archiver.durable import remove
from archiver.paths import path_list

TEMPORARY = ".new.tmp-"  # every unfinished package of a build: TEMPORARY + run id + "-" + ...
LOCK = ".archiver-build-{run}.lock"  # held by the build while it runs


SERIALIZED = (".zip", ".tar", ".tar.gz", ".tgz")


def expand_bags(paths: Iterable[str | os.PathLike]) -> list[Path]:
    """Bags as named; a folder that is not a bag itself but holds bags stands for them.

    A folder with any part of a bag at its top (bagit.txt, a manifest, bag-info.txt) is a
    bag, however damaged, and is judged as one. A folder of bags stands for every folder and
    serialized bag in it, bags or not, so a package that lost its bagit.txt is reported, not
    passed over. Hidden entries (a build's temporary packages) are skipped; anything else is
    passed on as given, so the caller reports it (not a bag, missing...)."""
    found = []
    for path in map(Path, path_list(paths)):
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


def claim_run(store: Path, run: str) -> int:
    """Take the lock that says run `run` is alive; returns the descriptor to release_run."""
    fd = os.open(store / LOCK.format(run=run), os.O_RDWR | os.O_CREAT, 0o644)
    fcntl.flock(fd, fcntl.LOCK_EX)
    return fd


def release_run(store: Path, run: str, fd: int) -> None:
    """Remove what the run left (an interrupt's unfinished packages), then its lock."""
    for leftover in sorted(store.glob(f"{TEMPORARY}{run}-*")):
        remove(leftover)
    remove(store / LOCK.format(run=run))
    os.close(fd)


def clean_dead_runs(store: Path) -> list[str]:
    """Remove the temporaries of builds that died (their lock is free, or they hold none:
    archiver before the lock); returns the names removed."""
    runs: dict[str, list[str]] = {}
    locks = set()
    prefix, suffix = LOCK.split("{run}")
    for name in os.listdir(store):
        if name.startswith(TEMPORARY):
            runs.setdefault(name[len(TEMPORARY):].split("-")[0], []).append(name)
        elif name.startswith(prefix) and name.endswith(suffix):
            run = name[len(prefix):-len(suffix)]
            locks.add(run)
            runs.setdefault(run, [])
    removed = []
    for run, names in sorted(runs.items()):
        lock = LOCK.format(run=run)
        fd = None
        if run in locks:
            try:
                fd = os.open(store / lock, os.O_RDWR)
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
            except OSError:  # held: that build still runs (or it just finished)
                if fd is not None:
                    os.close(fd)
                continue
        try:
            for name in sorted(names):
                try:
                    remove(store / name)
                    removed.append(name)
                except FileNotFoundError:
                    pass
            if fd is not None:
                remove(store / lock)
        finally:
            if fd is not None:
                os.close(fd)
    return removed
