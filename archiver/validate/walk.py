"""The walk: one os.scandir pass over a bag that stats every entry once, follows no
directory link and records what may be opened (nothing outside the bag ever is)."""
from __future__ import annotations

import os
import stat
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field

from archiver.durable import is_temporary
from archiver.problem_codes import problem
from archiver.problems import Problem


_SCANDIR_FD = os.scandir in os.supports_fd
_DIR_FLAGS = os.O_RDONLY | getattr(os, "O_DIRECTORY", 0) | getattr(os, "O_CLOEXEC", 0)


@dataclass
class Tree:
    payload: dict[str, int] = field(default_factory=dict)  # "data/..." -> size
    tags: dict[str, int] = field(default_factory=dict)  # every other file -> size
    dirs: set[str] = field(default_factory=set)
    disk: dict[str, str] = field(default_factory=dict)  # rel -> path to open (links resolved)
    blocked: set[str] = field(default_factory=set)  # present but never to be opened
    has_data: bool = False
    problems: list[Problem] = field(default_factory=list)
    temporaries: list[str] = field(default_factory=list)  # archiver's own, outside data/: not the bag


def scan(bag_dir: str, tree: Tree | None = None,
         on_top: Callable[[Tree], Callable[[str, int], None] | None] | None = None) -> Tree:
    """Walk the bag once with os.scandir; stat each entry once; follow no directory links.

    `on_top(tree)` is called once the top directory (the manifests' names) is listed; what it
    returns, if anything, is called as found(path to open, size) for each payload file that
    may be opened, as the walk meets it (so hashing can start while the walk goes on)."""
    tree = tree if tree is not None else Tree()
    root_real = os.path.realpath(bag_dir)
    stack = [("", bag_dir)]
    found = None
    payload, disk = tree.payload, tree.disk
    while stack:
        rel_dir, full_dir = stack.pop()
        in_payload = rel_dir == "data" or rel_dir.startswith("data/")
        prefix = os.path.join(full_dir, "")
        try:
            dir_fd, entries = _scandir(full_dir)
        except OSError as e:
            tree.problems.append(problem("BAGIT-FILE-UNREADABLE", rel_dir or ".",
                                         f"cannot list directory: {e.strerror or e}"))
            entries = None
        count = 0
        if entries is not None:
            with entries, _closing(dir_fd):
                for entry in entries:
                    count += 1
                    name = entry.name
                    rel = f"{rel_dir}/{name}" if rel_dir else name
                    try:
                        # the common case first: a plain file of the payload (the directory entry
                        # says so; the stat, its size, confirms it)
                        if in_payload and entry.is_file(follow_symlinks=False) and name != "bagit.txt":
                            st = entry.stat(follow_symlinks=False)
                            if stat.S_ISREG(st.st_mode):
                                payload[rel] = st.st_size
                                disk[rel] = path = prefix + name
                                if found is not None:
                                    found(path, st.st_size)
                                continue
                        if _classify(tree, entry, prefix + name, rel, in_payload, root_real, stack) \
                                and found is not None:
                            found(tree.disk[rel], tree.payload[rel])
                    except OSError as e:
                        tree.blocked.add(rel)
                        tree.problems.append(problem("BAGIT-FILE-UNREADABLE", rel, f"cannot stat: {e.strerror or e}"))
            if count == 0 and in_payload:
                tree.problems.append(problem("BAGIT-PAYLOAD-EMPTY-DIRECTORY", rel_dir,
                                             "empty directory: no manifest can list it, so it is not preserved"))
        if not rel_dir and on_top is not None:
            found = on_top(tree)
    return tree


def _scandir(path: str) -> tuple[int | None, Iterator[os.DirEntry]]:
    """(descriptor to close after, entries) of a directory: listed through its descriptor
    where the system allows, so that each entry's stat is relative to it, not a walk of the
    whole path (os.scandir duplicates the descriptor: ours is closed after)."""
    if not _SCANDIR_FD:
        return None, os.scandir(path)
    fd = os.open(path, _DIR_FLAGS)
    try:
        return fd, os.scandir(fd)
    except BaseException:
        os.close(fd)
        raise


@contextmanager
def _closing(fd: int | None):
    try:
        yield
    finally:
        if fd is not None:
            os.close(fd)


def _classify(tree: Tree, entry: os.DirEntry, path: str, rel: str, payload: bool, root_real: str,
              stack: list) -> bool:
    """Record one entry (`path`: its path from the walk's start; `payload`: it lies under
    data/); True for a payload file that may be opened."""
    if not payload and is_temporary(entry.name):  # a killed write's leftover, never evidence
        tree.temporaries.append(rel)
        return False
    if entry.is_symlink():
        target = os.path.realpath(path)
        if not target.startswith(root_real + os.sep):
            tree.blocked.add(rel)
            tree.problems.append(problem("BAGIT-SYMLINK-OUTSIDE", rel,
                                         "symbolic link points outside the bag; not followed"))
            return False
        try:
            st = os.stat(target)
        except OSError:
            tree.blocked.add(rel)
            tree.problems.append(problem("BAGIT-SYMLINK-BROKEN", rel, "symbolic link points at nothing"))
            return False
        if stat.S_ISDIR(st.st_mode):
            tree.blocked.add(rel)
            tree.problems.append(problem("BAGIT-SYMLINK-DIRECTORY", rel,
                                         "symbolic link to a directory; not followed, its files are not counted"))
            return False
        if not stat.S_ISREG(st.st_mode):
            tree.blocked.add(rel)
            tree.problems.append(problem("BAGIT-PAYLOAD-SPECIAL-FILE", rel,
                                         "symbolic link to a device, FIFO or socket; not read"))
            return False
        (tree.payload if payload else tree.tags)[rel] = st.st_size
        tree.disk[rel] = target
        return payload
    if entry.is_dir(follow_symlinks=False):
        if rel == "data":
            tree.has_data = True
        tree.dirs.add(rel)
        stack.append((rel, path))
        return False
    st = entry.stat(follow_symlinks=False)
    if not stat.S_ISREG(st.st_mode):
        tree.blocked.add(rel)
        tree.problems.append(problem("BAGIT-PAYLOAD-SPECIAL-FILE", rel,
                                     "a device, FIFO or socket, not a file; not read"))
        return False
    if payload:
        tree.payload[rel] = st.st_size
        if entry.name == "bagit.txt":
            inner = rel[:-len("/bagit.txt")]
            tree.problems.append(problem("VALIDATE-NESTED-BAG", inner,
                                         f"{inner} is itself a bag; it is payload here (validate it "
                                         "separately by naming it)"))
    else:
        tree.tags[rel] = st.st_size
    tree.disk[rel] = path
    return payload
