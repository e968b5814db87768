"""Changing an existing package's metadata: add a PREMIS event and tag files, and the tag
manifest entries of exactly those files.

Recording never launders damage. The tag manifests keep every line of every other file
verbatim, right or wrong, so a package that was invalid before a record is exactly as
invalid after it; and a file about to be rewritten (premis.xml) must still match the tag
manifests that list it, else nothing is recorded: writing over it would make an edit made
since look vouched for.

An update is recoverable at every step. Its new files are staged in `.archiver-update/` at
the top of the bag, then an intent record (`intent.json`, written and renamed into place,
the commit point) lists them, then they are renamed into place (tag manifests last) and the
folder removed. The next record (or deposit, or validate --record) of the package finds a
folder left by a dead run and completes the update when its intent record is there, or
removes it when it is not (the package was never touched). A lock on the bag directory
keeps two runs from updating one package at once.

record_event makes each of those steps durable by itself (a sync per file, about seven per
package); record_events does the same steps for many packages, durable per batch: all
staged, one sync, all committed, one sync, all moved into place, one sync.
"""
from __future__ import annotations

import fcntl
import json
import os
import shutil
from collections.abc import Iterable, Iterator, Mapping
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass
from pathlib import Path, PurePosixPath

from archiver.bagit.bag import encode_manifest_path, tag_encoding
from archiver.bagit.rules import decode_path
from archiver.durable import (fsync_directory, is_temporary, remove, replace, step,
                              sync_filesystem, write_file)
from archiver.fixity import ALGORITHMS, hash_bytes, hash_file
from archiver.metadata.premis import add_event
from archiver.model import Agent, Event
from archiver.problems import ArchiverError

UPDATE_DIR = ".archiver-update"  # at the top of the bag: staged files and the intent record
# where a deposit keeps what it sent before the receipt is recorded (archiver.deposit.pending)
PENDING_DIR = ".archiver-pending"
INTENT = "intent.json"


def _check_tag_path(rel: str) -> None:
    parts = PurePosixPath(rel).parts
    if not parts or parts[0] != "metadata" or ".." in parts or PurePosixPath(rel).is_absolute():
        raise ArchiverError(rel, "extra tag files must live under metadata/", "PACKAGE-PATH")


def event_files(bag_dir: str | os.PathLike, event: Event, agents: Iterable[Agent] = (),
                extra_files: Mapping[str, bytes] | None = None,
                drop_events: Iterable[str] = (), encoding: str | None = None) -> dict[str, bytes]:
    """The files recording `event` would write ({bag path: bytes}: premis.xml with the event
    and any agents it names that are new, `extra_files` ({"metadata/...": bytes}), the tag
    manifests with exactly those files' entries changed, last), computed in memory; nothing
    is written. `drop_events`: identifiers of earlier events the new one supersedes (audit
    --record). `encoding`: bagit.txt's, when the caller has read it. Raises ArchiverError
    when premis.xml no longer matches its tag manifests."""
    bag = Path(bag_dir)
    changed = dict(extra_files or {})
    for rel in changed:
        _check_tag_path(rel)
    # one read of premis.xml: the bytes checked against the tag manifests are the bytes the
    # event is added to (a change in between cannot slip into the new entry)
    try:
        current = {"metadata/premis.xml": (bag / "metadata" / "premis.xml").read_bytes()}
    except (FileNotFoundError, IsADirectoryError, NotADirectoryError):
        raise ArchiverError(str(bag), "not an archiver package: metadata/premis.xml is missing",
                            "PACKAGE-NOT-ARCHIVER") from None
    changed["metadata/premis.xml"] = add_event(current["metadata/premis.xml"], event, agents,
                                               drop_events)
    encoding = encoding or tag_encoding(bag)
    manifests = _tag_manifests(bag, encoding)
    _check_vouched(bag, changed, manifests, encoding, current)
    changed.update(_updated_manifests(bag, changed, manifests, encoding))
    return changed


def record_event(bag_dir: str | os.PathLike, event: Event, agents: Iterable[Agent] = (),
                 extra_files: Mapping[str, bytes] | None = None,
                 drop_events: Iterable[str] = ()) -> None:
    """Write what event_files computes, all together and recoverably (see above); an update
    a dead run left is finished or undone first. Raises ArchiverError (nothing written) when
    premis.xml no longer matches its tag manifests."""
    bag = Path(bag_dir)
    if not (bag / "metadata" / "premis.xml").is_file():
        raise ArchiverError(str(bag), "not an archiver package: metadata/premis.xml is missing",
                            "PACKAGE-NOT-ARCHIVER")
    with package_lock(bag):
        recover(bag)
        _apply(bag, event_files(bag, event, agents, extra_files, drop_events))


@contextmanager
def package_lock(bag: Path) -> Iterator[None]:
    """Hold an exclusive lock on the bag directory (released by the kernel if we die)."""
    fd = os.open(bag, os.O_RDONLY | os.O_DIRECTORY)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX)
        yield
    finally:
        os.close(fd)


def update_state(bag: str | os.PathLike) -> str | None:
    """None when no update was left in the bag; "staged" when one died before its commit
    point (the package is untouched); "committed" when one died while moving its files into
    place (the tag manifests may not match yet); "running" when another process holds it."""
    folder = Path(bag) / UPDATE_DIR
    if not folder.is_dir():
        return None
    try:
        fd = os.open(bag, os.O_RDONLY | os.O_DIRECTORY)
    except OSError:
        return "staged"
    try:
        fcntl.flock(fd, fcntl.LOCK_SH | fcntl.LOCK_NB)
    except OSError:
        return "running"
    finally:
        os.close(fd)
    return "committed" if (folder / INTENT).is_file() else "staged"


def recover(bag_dir: str | os.PathLike) -> None:
    """Finish or undo an update a dead run left, and remove archiver's temporary files left
    beside tag files by earlier versions. The caller holds package_lock (record_event does)."""
    bag = Path(bag_dir)
    for leftover in leftover_temporaries(bag):
        remove(bag / leftover)
    folder = bag / UPDATE_DIR
    if not folder.is_dir():
        return
    intent = folder / INTENT
    if not intent.is_file():
        remove(folder)  # died while staging: nothing of the package was touched
        return
    try:
        rels = json.loads(intent.read_bytes())["files"]
        for rel in rels:
            if not _is_top_tag_file(rel):
                _check_tag_path(rel)  # an intent record names tag files only
    except (ValueError, KeyError, TypeError, ArchiverError):
        raise ArchiverError(str(intent), "the record of an interrupted update cannot be read; "
                            "nothing changed", "PACKAGE-UPDATE-INTERRUPTED") from None
    _complete(bag, folder, rels)


def leftover_temporaries(bag: Path) -> list[str]:
    """archiver's temporary files outside data/ (a killed write of an earlier version left
    them): bag-relative paths."""
    found = []
    top = os.fspath(bag)
    for rel in ("", "metadata", "metadata/deposits"):  # plain strings: twice per deposit
        folder = os.path.join(top, rel) if rel else top
        try:
            names = os.listdir(folder)
        except OSError:
            continue
        found += [f"{rel}/{n}" if rel else n for n in names
                  if is_temporary(n) and os.path.isfile(os.path.join(folder, n))]
    return sorted(found)


def _is_top_tag_file(rel: str) -> bool:
    return "/" not in rel and rel.startswith("tagmanifest-") and rel.endswith(".txt")


# -- the tag manifests, line by line ------------------------------------------------------------
def _tag_manifests(bag: Path, encoding: str) -> dict[str, tuple[str, list[bytes], list[str | None]]]:
    """{name: (algorithm, lines with their endings, the bag path each line names)} of every
    tag manifest of the bag."""
    found = {}
    top = os.fspath(bag)
    for name in sorted(os.listdir(top)):
        path = f"{top}/{name}"  # plain strings here and below: a record runs per package
        if not _is_top_tag_file(name) or not os.path.isfile(path):
            continue
        alg = name[len("tagmanifest-"):-len(".txt")].lower()
        if alg not in ALGORITHMS:
            raise ArchiverError(name, f"{alg} is not an algorithm archiver computes: its entries "
                                "could not be updated; nothing recorded", "PACKAGE-TAG-MISMATCH")
        with open(path, "rb") as f:
            lines = f.read().splitlines(keepends=True)
        found[name] = (alg, lines, [_line_path(line, encoding) for line in lines])
    return found


def _line_path(line: bytes, encoding: str) -> str | None:
    """The bag path a manifest line names (as the validator reads it), or None."""
    try:
        text = line.decode(encoding).rstrip("\r\n")
    except (UnicodeDecodeError, LookupError):
        return None
    cut = min((i for i in (text.find(" "), text.find("\t")) if i > 0), default=-1)
    if cut <= 0:
        return None
    raw = text[cut:].lstrip(" \t")
    return decode_path(raw[1:] if raw.startswith("*") else raw)[0] if raw else None


def _line_digest(line: bytes, encoding: str) -> str:
    text = line.decode(encoding, "replace")
    return text.split(None, 1)[0].lower() if text.strip() else ""


def _check_vouched(bag: Path, changed: Mapping[str, bytes],
                   manifests: Mapping[str, tuple[str, list[bytes], list[str | None]]],
                   encoding: str, current: Mapping[str, bytes] | None = None) -> None:
    """Refuse to write over a file that no longer matches a tag manifest listing it (or
    that a tag manifest lists although it is gone): the new entry would vouch for the
    change. `current`: bytes of such files already read (the ones the update is made
    from), checked as they are."""
    for name, (alg, lines, rels) in manifests.items():
        for line, rel in zip(lines, rels):
            if rel not in changed:
                continue
            if rel in (current or {}):
                digest = hash_bytes(current[rel], (alg,))[alg]
            elif not (path := bag / rel).is_file():
                raise ArchiverError(rel, f"listed in {name} but missing: recording would hide "
                                    "that; nothing recorded", "PACKAGE-TAG-MISMATCH")
            else:
                digest = hash_file(path, (alg,))[1][alg]
            if digest != _line_digest(line, encoding):
                raise ArchiverError(rel, f"does not match {name}: it changed since it was "
                                    "recorded, and recording would vouch for the change; "
                                    "nothing recorded", "PACKAGE-TAG-MISMATCH")


def _updated_manifests(bag: Path, changed: Mapping[str, bytes],
                       manifests: Mapping[str, tuple[str, list[bytes], list[str | None]]],
                       encoding: str) -> dict[str, bytes]:
    """Each tag manifest with the lines of the changed files replaced, new files added, and
    every other line kept byte for byte."""
    top = os.fspath(bag)
    new_files = [rel for rel in changed if not os.path.exists(f"{top}/{rel}")]
    updated = {}
    for name, (alg, lines, rels) in manifests.items():
        digests = {rel: hash_bytes(data, (alg,))[alg] for rel, data in changed.items()}

        def entry(rel: str, ending: bytes = b"\n") -> bytes:
            return f"{digests[rel]}  {encode_manifest_path(rel)}".encode(encoding) + ending

        out = []
        for line, rel in zip(lines, rels):
            if rel in changed:
                out.append(entry(rel, line[len(line.rstrip(b"\r\n")):] or b"\n"))
            else:
                out.append(line)
        if new_files and out and not out[-1].endswith(b"\n"):
            out[-1] += b"\n"
        out += [entry(rel) for rel in sorted(new_files)]
        updated[name] = b"".join(out)
    return updated


# -- the update itself --------------------------------------------------------------------------
def _apply(bag: Path, files: Mapping[str, bytes]) -> None:
    """Stage every file, commit the intent, move them into place (in the order given: tag
    manifests last), each step made durable by itself."""
    folder, rels = _stage(bag, files, durable=True)
    try:
        fsync_directory(folder)
        _commit(folder)
    except BaseException:  # an error or Ctrl-C before the commit: the package was not touched
        shutil.rmtree(folder, ignore_errors=True)
        raise
    fsync_directory(folder)
    _complete(bag, folder, rels)


def _stage(bag: Path, files: Mapping[str, bytes], durable: bool) -> tuple[Path, list[str]]:
    """Write every file and the intent record (not yet committed) into the update folder."""
    folder = bag / UPDATE_DIR
    step(f"mkdir {folder}")
    folder.mkdir()
    rels = list(files)
    where = os.fspath(folder)
    try:
        for i, rel in enumerate(rels):
            write_file(f"{where}/{i}", files[rel], durable=durable)
        write_file(f"{where}/{INTENT}.tmp", json.dumps({"files": rels}).encode("utf-8"),
                   durable=durable)
    except BaseException:
        shutil.rmtree(folder, ignore_errors=True)
        raise
    return folder, rels


def _commit(folder: Path) -> None:
    replace(folder / f"{INTENT}.tmp", folder / INTENT)  # the commit point


def _complete(bag: Path, folder: Path, rels: list[str], durable: bool = True) -> None:
    top, where = os.fspath(bag), os.fspath(folder)
    targets = set()  # the folders whose entries change (plain strings: per package)
    for i, rel in enumerate(rels):
        staged, target = f"{where}/{i}", f"{top}/{rel}"
        if not os.path.exists(staged):  # moved before the crash
            continue
        parent = target.rpartition("/")[0]
        if parent not in targets and not os.path.isdir(parent):
            step(f"mkdir {parent}")
            os.makedirs(parent, exist_ok=True)
            targets.add(parent.rpartition("/")[0])  # the new folder's own name
        replace(staged, target)
        targets.add(parent)
    if durable:
        for parent in targets:
            fsync_directory(parent)
    remove(f"{where}/{INTENT}")  # done: from here the update needs nothing more
    remove(folder)
    if durable:
        fsync_directory(bag)


# -- many packages at once, durable per batch ---------------------------------------------------
@dataclass
class Update:
    """One package's event, for record_events."""
    bag: Path
    event: Event
    agents: tuple[Agent, ...] = ()
    extra_files: Mapping[str, bytes] | None = None
    error: ArchiverError | OSError | None = None  # set when it could not be recorded
    encoding: str | None = None  # bagit.txt's, when the caller has read it (a deposit's validation)


def record_events(updates: Iterable[Update]) -> None:
    """Record each update as record_event does, made durable per batch instead of per file:
    every package's files and intent record staged, one sync, every intent committed (the
    commit points), one sync, every update moved into place, one sync (one per file system).
    A crash at any step leaves each package untouched (staged, not committed: the next record
    removes it) or committed (the next record completes it), as record_event's would. An
    update that cannot be made gets its `error` (nothing of it written); the others go on."""
    updates = list(updates)
    first: dict[tuple, Update] = {}  # by package_key, each looked up once
    later = []
    for u in updates:  # a package twice: its second update after the first (one lock each)
        key = package_key(u.bag)
        if key in first:
            later.append(u)
        else:
            first[key] = u
    with ExitStack() as locks:
        staged = []
        for key in sorted(first):  # one order: no deadlock
            u = first[key]
            bag = Path(u.bag)
            try:
                if not (bag / "metadata" / "premis.xml").is_file():
                    raise ArchiverError(str(bag), "not an archiver package: metadata/premis.xml "
                                        "is missing", "PACKAGE-NOT-ARCHIVER")
                locks.enter_context(package_lock(bag))
                recover(bag)
                files = event_files(bag, u.event, u.agents, u.extra_files, encoding=u.encoding)
                staged.append((u, *_stage(bag, files, durable=False)))
            except (ArchiverError, OSError) as e:
                u.error = e
        devices = _devices(staged)
        if _synced(staged, devices, "staged"):
            committed = []
            for u, folder, rels in staged:
                try:
                    _commit(folder)
                    committed.append((u, folder, rels))
                except OSError as e:
                    u.error = e
                    shutil.rmtree(folder, ignore_errors=True)
            if _synced(committed, devices, "committed"):
                for u, folder, rels in committed:
                    try:
                        _complete(Path(u.bag), folder, rels, durable=False)
                    except OSError as e:
                        u.error = e  # committed: the next record completes it
                _synced(committed, devices, "moved into place")
    if later:
        record_events(later)


def package_key(bag: str | os.PathLike) -> tuple:
    """What tells one package folder from another however it is named (through a link, a
    bind mount): its device and inode, one stat where a real path costs one per component;
    the real path for a folder that cannot be looked up. Keys sort: one locking order."""
    try:
        st = os.stat(bag)
    except OSError:
        return (-1, os.path.realpath(bag))
    return (st.st_dev, st.st_ino)


def _devices(items: list[tuple[Update, Path, list[str]]]) -> dict[int, Path]:
    """A package on each file system the packages are on, by device (looked up once for
    the batch's three syncs)."""
    devices = {}
    for u, _, _ in items:
        try:
            devices.setdefault(os.stat(u.bag).st_dev, Path(u.bag))
        except OSError:
            pass
    return devices


def _synced(items: list[tuple[Update, Path, list[str]]], devices: dict[int, Path],
            what: str) -> bool:
    """One sync of every file system of `devices`; False (every update of `items` given
    its error, left for the next record to complete or undo) when the system refuses."""
    if not items:
        return True
    try:
        for bag in devices.values():
            sync_filesystem(bag)
        return True
    except OSError as e:
        for u, _, _ in items:
            u.error = ArchiverError(str(u.bag), f"the update, {what}, could not be made durable "
                                    f"({e.strerror or e}); the next record completes or undoes "
                                    "it", "PACKAGE-UPDATE-INTERRUPTED")
        return False
