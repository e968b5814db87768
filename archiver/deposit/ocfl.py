"""OCFL 1.1 storage roots on local disk, written natively.

Each package becomes an OCFL object whose identifier is the package's External-Identifier
and whose content is the whole bag (archiver's own temporaries left out). A changed package
becomes a new version holding only what changed (forward delta); the same bytes again are a
no-op. The bag was validated just before (every checksum), so its manifests give the digests
of what it holds: a new version reads only the files no manifest vouches for, and every file
written is hashed on its way in (one read), its digest checked against the manifests: what
the inventory says is what was written.

Durability and recovery (OCFL 1.1 implementation notes 3.7): objects and versions are
assembled in a staging directory beside the root, owned by one process (it holds a lock on
it), with an intent record per object. A batch of them becomes durable together: one sync of
the file system, then the renames (a new object into its place; for a version, its directory
and then the root inventory and sidecar, the inventory being the commit point), then a second
sync, and only then does the deposit record a PREMIS event. A run that finds the staging
directory of a dead process finishes what its intents began (a version directory moved in
complete is rolled forward into the root inventory) and removes the rest, empty directories
included; an object whose root inventory and newest version disagree is settled the same way
before it is touched. A version directory without its inventory is garbage, never content.

Storage layouts come from ocfl_layout.py (0002, 0003, 0004); an existing root keeps its own.
"""
from __future__ import annotations

import errno
import fcntl
import json
import logging
import os
import secrets
from dataclasses import dataclass
from datetime import datetime, timezone
from pathlib import Path

from archiver import __version__, durable
from archiver.deposit import ocfl_inventory as inv
from archiver.deposit.base import (DEPOSITED, FAILED, UNCHANGED, ConfigurationError, DepositError,
                                   Outcome, Previous, Target)
from archiver.deposit.ocfl_layout import (DEFAULT_LAYOUT, LAYOUT_ALIASES, LayoutError,
                                          StorageLayout, storage_layout)
from archiver.deposit.vouched import Vouched
from archiver.fixity import copy_and_hash, hash_file

log = logging.getLogger("archiver.deposit")

STAGING_PREFIX = ".archiver-ocfl-"  # + pid, random, the root's name: beside the root
LOCK = "lock"
USER = {"name": f"archiver {__version__}"}


def _now() -> str:
    return datetime.now(timezone.utc).replace(microsecond=0).isoformat().replace("+00:00", "Z")


def _mkdir(path: Path) -> None:
    durable.step(f"mkdir {path}")
    path.mkdir()


def _makedirs(path: Path, stop: Path) -> None:
    """Create `path` and its missing parents below `stop`, each one step."""
    missing = []
    while not path.exists() and path != stop:
        missing.append(path)
        path = path.parent
    for folder in reversed(missing):
        try:
            _mkdir(folder)
        except FileExistsError:
            pass


def _remove_empty_parents(path: Path, stop: Path) -> None:
    """rmdir `path` and its parents up to `stop` while they are empty (E073: no empty
    directories under a storage root)."""
    while path != stop and stop in path.parents:
        try:
            if any(os.scandir(path)):
                return
            durable.step(f"rmdir {path}")
            path.rmdir()
        except OSError:
            return
        path = path.parent


def _lock_directory(path: Path, wait: bool) -> int | None:
    """An exclusive lock on a directory (flock on its descriptor), or None if busy and not
    waiting. The lock ends with the descriptor, so a dead owner holds none."""
    fd = os.open(path, os.O_RDONLY | os.O_DIRECTORY | os.O_CLOEXEC)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | (0 if wait else fcntl.LOCK_NB))
    except BlockingIOError:
        os.close(fd)
        return None
    except BaseException:
        os.close(fd)
        raise
    return fd


def _pid_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


@dataclass
class _Pending:
    """An object or version staged and waiting for the batch's commit."""
    kind: str                  # "new", "version", or "held" (already there, to be synced only)
    rel: str
    outcome: Outcome
    item: Path | None = None   # its folder in the staging directory
    version: str | None = None
    lock: int | None = None    # descriptor holding the object's lock
    algorithm: str = inv.DEFAULT_ALGORITHM


@dataclass
class _Root:
    layout: StorageLayout
    spec: str                  # "1.1" or "1.0": objects conform to their root's version (E081)


class OcflTarget(Target):
    kind = "ocfl"
    event_type = "rep"
    parallel = True  # puts of different packages may run in worker processes side by side

    def __init__(self, path: str | os.PathLike, layout: str | None = None, **settings):
        self.root = Path(path).expanduser().absolute()
        wanted = layout or DEFAULT_LAYOUT
        if wanted not in LAYOUT_ALIASES:
            raise ConfigurationError(
                f"unknown OCFL storage layout {wanted!r} (choose from 0003-hash-and-id-n-tuple-"
                "storage-layout, 0004-hashed-n-tuple-storage-layout, 0002-flat-direct-"
                "storage-layout)")
        self.layout = LAYOUT_ALIASES[wanted]
        self.settings = settings
        self._opened: _Root | None = None
        self._staging: Path | None = None
        self._staging_lock: int | None = None
        self._staging_pid: int | None = None
        self._items = 0
        self._pending: list[_Pending] = []

    @property
    def uri(self) -> str:
        return f"ocfl:{self.root}"

    # -- the storage root ---------------------------------------------------------------
    def prepare(self) -> None:
        """Before a run: the root opened (created if absent), and what dead runs left
        beside it finished or removed."""
        try:
            self._root()
            self._clean_dead_staging()
            self.commit()  # nothing pending: removes the staging a recovery may have used
        except OSError as e:
            raise _write_error(e, self.root) from None

    def _root(self) -> _Root:
        if self._opened is None:
            root = self.root
            if root.exists() and not root.is_dir():
                raise DepositError(f"{root} is a file, not an OCFL storage root", code="OCFL-NOT-A-ROOT")
            if not root.exists() or not any(root.iterdir()):
                self._create_root()
            self._opened = self._open_root()
        return self._opened

    def _create_root(self) -> None:
        """Assemble the root's declaration and layout files in staging, then rename the
        whole root into place: a root is complete or absent."""
        root = self.root
        layout = storage_layout(self.layout)
        try:
            root.parent.mkdir(parents=True, exist_ok=True)
            staged = self._staging_dir() / "root"
            _mkdir(staged)
            durable.write_file(staged / inv.ROOT_DECLARATION, inv.declaration_text(inv.ROOT_DECLARATION))
            durable.write_file(staged / "ocfl_layout.json", (json.dumps(
                {"description": layout.description, "extension": layout.name},
                indent=2, sort_keys=True) + "\n").encode("utf-8"))
            if layout.config is not None:
                _makedirs(staged / "extensions" / layout.name, staged)
                durable.write_file(staged / "extensions" / layout.name / "config.json",
                                   (json.dumps(layout.config, indent=2) + "\n").encode("utf-8"))
            durable.sync_filesystem(staged)
            if durable.move_into_place(staged, root):  # onto nothing, or an empty directory
                durable.fsync_directory(root.parent)
                log.info("created OCFL storage root %s (layout %s)", root, layout.name)
        except OSError as e:
            raise DepositError(f"cannot create OCFL storage root {root}: {e.strerror or e}",
                               code="OCFL-ROOT") from None
        finally:
            self._drop_staging()

    def _open_root(self) -> _Root:
        root = self.root
        declarations = sorted(p.name for p in root.glob("0=ocfl_*"))
        if not declarations:
            raise DepositError(f"{root} exists but is not an OCFL storage root", code="OCFL-NOT-A-ROOT")
        spec = declarations[0][len("0=ocfl_"):]
        if declarations != [f"0=ocfl_{spec}"] or spec not in ("1.0", "1.1"):
            raise DepositError(f"{root}: not an OCFL 1.0 or 1.1 storage root ({', '.join(declarations)})",
                               code="OCFL-ROOT")
        try:
            described = json.loads((root / "ocfl_layout.json").read_bytes())
        except FileNotFoundError:
            raise DepositError(f"{root}: the storage root names no storage layout "
                               "(ocfl_layout.json), so objects cannot be placed",
                               code="OCFL-NO-LAYOUT") from None
        except (OSError, ValueError) as e:
            raise DepositError(f"{root}/ocfl_layout.json: unreadable ({e})", code="OCFL-ROOT") from None
        name = described.get("extension") if isinstance(described, dict) else None
        try:
            config_path = root / "extensions" / str(name) / "config.json"
            config = json.loads(config_path.read_bytes()) if config_path.is_file() else None
            layout = storage_layout(str(name), config)
        except (LayoutError, ValueError, OSError) as e:
            raise DepositError(f"{root}: not a usable OCFL storage root ({e})", code="OCFL-ROOT") from None
        return _Root(layout, spec)

    # -- staging: one directory per process, locked while it lives --------------------------
    def _staging_dir(self) -> Path:
        if self._staging is not None and self._staging_pid == os.getpid():
            return self._staging
        # a forked worker starts its own: the parent's lock is not its own
        self._staging, self._staging_lock, self._pending = None, None, []
        name = f"{STAGING_PREFIX}{os.getpid()}-{secrets.token_hex(4)}-{self.root.name}"
        folder = self.root.parent / name
        _mkdir(folder)
        if self.root.exists() and os.stat(folder).st_dev != os.stat(self.root).st_dev:
            os.rmdir(folder)
            raise DepositError(f"{self.root} is a mount point: nothing beside it can be renamed "
                               "into it (name a folder inside it as the root)", code="OCFL-ROOT")
        lock_path = folder / LOCK
        durable.write_file(lock_path, f"{os.getpid()}\n".encode())
        self._staging_lock = os.open(lock_path, os.O_RDONLY | os.O_CLOEXEC)
        fcntl.flock(self._staging_lock, fcntl.LOCK_EX)
        self._staging, self._staging_pid, self._items = folder, os.getpid(), 0
        return folder

    def _drop_staging(self) -> None:
        if self._staging is None or self._staging_pid != os.getpid():
            return
        durable.remove(self._staging)
        os.close(self._staging_lock)
        self._staging, self._staging_lock = None, None

    def _new_item(self) -> Path:
        """A folder for one object's staged writes: a new object itself, or a version
        directory with the root inventory it will commit. What the commit will do with
        it is written down once per batch, just before the commit (`_write_intents`):
        until then nothing outside the staging directory has been touched."""
        self._items += 1
        item = self._staging_dir() / str(self._items)
        _mkdir(item)
        return item

    def _write_intents(self, pending: list[_Pending]) -> None:
        """The batch's intent record: which objects its renames change (a dead run's
        recovery finishes or undoes exactly those). One file for the batch, not one per
        object: every file created and removed costs the file system far more than its
        bytes (ext4 without a journal scans recently freed inodes on each creation)."""
        items = [{"kind": p.kind, "object": p.rel, "version": p.version}
                 for p in pending if p.kind != "held"]
        if items:
            self._items += 1
            durable.write_file(self._staging_dir() / f"{self._items}.json",
                               json.dumps({"items": items}).encode("utf-8"))

    def _clean_dead_staging(self) -> None:
        """Finish or undo what the staging directories of dead processes began."""
        settled = False
        for name in sorted(os.listdir(self.root.parent)):
            pid, _, root_name = (name[len(STAGING_PREFIX):].split("-", 2) + ["", ""])[:3]
            folder = self.root.parent / name
            if not name.startswith(STAGING_PREFIX) or root_name != self.root.name \
                    or not pid.isdigit() or not folder.is_dir():
                continue
            pid = int(pid)
            if pid == os.getpid():
                continue
            try:
                fd = os.open(folder / LOCK, os.O_RDONLY | os.O_CLOEXEC)
            except FileNotFoundError:
                if _pid_alive(pid):  # it is being created this very moment
                    continue
                fd = None
            if fd is not None:
                try:
                    fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
                except BlockingIOError:
                    os.close(fd)
                    continue  # its owner still runs
            try:
                settled |= self._recover_staging(folder)
                durable.remove(folder)
                log.info("removed %s, left by a deposit that did not finish", folder)
            finally:
                if fd is not None:
                    os.close(fd)
        if settled:
            durable.sync_filesystem(self.root)

    def _recover_staging(self, folder: Path) -> bool:
        settled = False
        for intent in _intents(folder):
            objdir = self.root / intent["object"]
            if intent.get("kind") == "new" and not objdir.exists():
                _remove_empty_parents(objdir.parent, self.root)
            elif objdir.is_dir() and any(objdir.glob("0=ocfl_object_*")):
                fd = _lock_directory(objdir, wait=True)
                try:
                    self._settle(objdir)
                    settled = True
                except DepositError as e:
                    log.error("%s", e.message)
                finally:
                    os.close(fd)
        return settled

    # -- an object's state ----------------------------------------------------------------
    def _settle(self, objdir: Path) -> tuple[dict, bytes]:
        """The object's root inventory (digest checked), after finishing a commit a dead run
        left half done. Called with the object's lock held. Anything else amiss is refused,
        never repaired: archiver does not heal damage."""
        versions = sorted((n for n in os.listdir(objdir) if inv.version_number(n) is not None),
                          key=inv.version_number)
        try:
            inventory, data, _ = inv.read_checked(objdir)
            problem = None
        except (OSError, inv.InventoryError) as e:
            inventory, data, problem = None, b"", e
        newest = versions[-1] if versions else None
        if inventory is not None and newest == inventory["head"]:
            return inventory, data
        try:
            latest, latest_data, latest_side = inv.read_checked(objdir / newest) if newest else (None, b"", b"")
        except (OSError, inv.InventoryError):
            latest = None
        whole = latest is not None and latest.get("head") == newest
        if inventory is not None and newest and \
                inv.version_number(newest) == inv.version_number(inventory["head"]) + 1:
            if whole and latest.get("id") == inventory.get("id"):
                # version directories are moved in complete: finish the commit it began
                self._replace_from(latest_data, objdir / inv.INVENTORY)
                self._replace_from(latest_side, objdir / inv.sidecar_name(latest["digestAlgorithm"]))
                log.info("%s: finished the commit of %s, interrupted earlier", objdir, newest)
                return latest, latest_data
            if not (objdir / newest / inv.INVENTORY).exists():
                # a version directory without its inventory is garbage: nothing names it
                durable.remove(objdir / newest)
                return inventory, data
        elif inventory is None and whole and (objdir / inv.INVENTORY).is_file() and \
                (objdir / inv.INVENTORY).read_bytes() == latest_data:
            # the root inventory was replaced, its sidecar not yet
            self._replace_from(latest_side, objdir / inv.sidecar_name(latest["digestAlgorithm"]))
            return latest, latest_data
        what = problem or f"version directories {', '.join(versions) or 'none'}, head {inventory['head']}"
        raise DepositError(f"{objdir}: OCFL object not valid ({what}); not touched",
                           code="OCFL-INVALID")

    def _replace_from(self, data: bytes, path: Path) -> None:
        # the temporary goes in staging, never into the object root (E001: nothing else there)
        tmp = self._staging_dir() / f"settle-{secrets.token_hex(4)}"
        durable.write_file(tmp, data)
        durable.replace(tmp, path)

    # -- deposit ------------------------------------------------------------------------
    def put(self, bag: Path, package_id: str, fingerprint: str,
            previous: Previous | None, vouched: Vouched | None = None) -> Outcome:
        try:
            return self._put(bag, package_id, fingerprint, previous, vouched or Vouched(bag))
        except OSError as e:  # a full disk, a permission: named, never a traceback
            raise _write_error(e, self.root) from None

    def _put(self, bag: Path, package_id: str, fingerprint: str,
             previous: Previous | None, vouched: Vouched) -> Outcome:
        opened = self._root()
        try:
            rel = opened.layout.object_path(package_id)
        except LayoutError as e:  # e.g. flat-direct and an identifier with '/' or '..'
            raise DepositError(f"identifier {package_id!r} cannot be stored with layout "
                               f"{opened.layout.name}: {e}", code="OCFL-IDENTIFIER") from None
        if any(p.rel == rel for p in self._pending):
            self.commit()  # the same object twice in one batch: the first goes in first
        objdir = self.root / rel
        details = {"storage-root": str(self.root), "object-path": rel,
                   "storage-layout": opened.layout.name}
        if not objdir.exists():
            return self._stage_object(bag, package_id, rel, _bag_files(bag), opened, details,
                                      vouched)
        lock = _lock_directory(objdir, wait=False)
        if lock is None:  # another process is changing it: commit ours first, never wait holding locks
            self.commit()
            lock = _lock_directory(objdir, wait=True)
        try:
            outcome = self._stage_version(bag, package_id, rel, fingerprint, previous, details,
                                          lock, vouched)
        except BaseException:
            os.close(lock)
            raise
        if not any(p.lock == lock for p in self._pending):
            os.close(lock)
        return outcome

    def _stage_object(self, bag, package_id, rel, files, opened: _Root, details,
                      vouched: Vouched) -> Outcome:
        algorithm = inv.DEFAULT_ALGORITHM
        known = vouched.digests(algorithm)
        staged = self._new_item()  # the object root itself, renamed into place by the commit
        content = staged / "v1" / "content"
        _mkdir(content.parent)
        _mkdir(content)
        declaration = f"0=ocfl_object_{opened.spec}"
        durable.write_file(staged / declaration, inv.declaration_text(declaration))
        state, stored, size = self._copy_in(bag, files, known, set(), content, "v1/content", algorithm)
        inventory = inv.with_version(None, package_id, "v1", state, stored, _now(),
                                     f"Deposit of package {package_id}", USER)
        if opened.spec == "1.0":
            inventory["type"] = "https://ocfl.io/1.0/spec/#inventory"
        self._write_inventory(inventory, staged / "v1", staged)
        outcome = _outcome(DEPOSITED, package_id, "v1", details,
                           f"new OCFL object at {details['object-path']}", size)
        self._pending.append(_Pending("new", rel, outcome, staged, "v1"))
        return outcome

    def _stage_version(self, bag, package_id, rel, fingerprint, previous, details, lock,
                       vouched: Vouched) -> Outcome:
        objdir = self.root / rel
        inventory, _ = self._settle(objdir)
        if inventory.get("id") != package_id:
            raise DepositError(f"{objdir} holds object {inventory.get('id')!r}, not {package_id!r}",
                               code="OCFL-ID-MISMATCH")
        head = inventory["head"]
        if previous and previous.fingerprint == fingerprint and previous.version == head:
            _check_held(objdir, inventory)
            return _outcome(UNCHANGED, package_id, head, details, f"unchanged since its deposit as {head}")
        algorithm = inventory["digestAlgorithm"]
        known = vouched.digests(algorithm)
        stored = {d.lower() for d in inventory["manifest"]}
        files = _bag_files(bag)
        state = {}
        for logical, source in files:
            # a digest the validated manifests vouch for needs no read of the file
            state[logical] = known.get(logical) or hash_file(source, (algorithm,))[1][algorithm]
        if state == inv.logical_state(inv.head_state(inventory)):
            if previous and previous.version == head:
                _check_held(objdir, inventory)
                return _outcome(UNCHANGED, package_id, head, details, f"same bytes as {head}: nothing written")
            # there already (a run died before recording it, say): made durable, then recorded
            outcome = _outcome(DEPOSITED, package_id, head, details, f"already held as {head}, "
                               "not yet recorded in the package: recorded now")
            self._pending.append(_Pending("held", rel, outcome, lock=lock))
            return outcome
        version = inv.next_version(head)
        item = self._new_item()
        folder = inv.content_directory(inventory)
        new = [(logical, source) for logical, source in files if state[logical] not in stored]
        _, added, size = self._copy_in(bag, new, {k: state[k] for k, _ in new}, stored,
                                       item / version / folder, f"{version}/{folder}", algorithm)
        updated = inv.with_version(inventory, package_id, version, state, added, _now(),
                                   f"Deposit of package {package_id}", USER)
        if not added:
            _mkdir(item / version)
        self._write_inventory(updated, item / version, item)
        outcome = _outcome(DEPOSITED, package_id, version, details, f"new version {version}", size)
        self._pending.append(_Pending("version", rel, outcome, item, version, lock, algorithm))
        return outcome

    @staticmethod
    def _copy_in(bag: Path, files, known: dict[str, str], stored: set[str], content: Path,
                 prefix: str, algorithm: str) -> tuple[dict[str, str], dict[str, list[str]], int]:
        """Copy each file into `content`, hashing it on the way (the one read that proves the
        copy); returns ({logical path: digest}, {digest: [content paths]}, bytes written).
        A file whose digest differs from what its manifest says changed since validation."""
        state: dict[str, str] = {}
        added: dict[str, list[str]] = {}
        size = 0
        buffer = bytearray(1 << 20)
        folders: set[str] = set()  # made (or found) already: one call per folder, not per file
        top = os.fspath(content)
        for logical, source in files:
            expected = known.get(logical)
            if expected and (expected in added or expected in stored):
                state[logical] = expected  # the same bytes are already stored
                continue
            target = f"{top}/{logical}"  # plain strings: a dozen files a package
            parent = target.rpartition("/")[0]
            if parent not in folders:
                try:
                    os.mkdir(parent)  # the usual case: a folder of the bag's top level
                except FileNotFoundError:
                    os.makedirs(parent, exist_ok=True)
                except FileExistsError:
                    pass
                folders.add(parent)
            durable.step(f"copy {source} -> {target}")
            try:
                n, digests = copy_and_hash(source, target, (algorithm,), buffer)
            except OSError as e:
                where = e.filename if e.filename in (str(source), os.fspath(source)) else target
                raise DepositError(f"{where}: cannot copy into the OCFL object: {e.strerror or e}",
                                   code="OCFL-WRITE") from None
            digest = digests[algorithm]
            if expected and digest != expected:
                raise DepositError(f"{bag}/{logical} changed since it was validated ({algorithm} "
                                   f"{digest[:12]}…, its manifest says {expected[:12]}…)",
                                   code="OCFL-SOURCE-CHANGED")
            state[logical] = digest
            added.setdefault(digest, []).append(f"{prefix}/{logical}")
            size += n
        return state, added, size

    @staticmethod
    def _write_inventory(inventory: dict, version_dir: Path, root_copy_dir: Path) -> None:
        """The inventory and its sidecar in the version directory (written last: the version
        is complete once they are there), and the copies for the object root beside it."""
        data = inv.serialize(inventory)
        side = inv.sidecar(data, inventory["digestAlgorithm"])
        name = inv.sidecar_name(inventory["digestAlgorithm"])
        for folder in map(os.fspath, (version_dir, root_copy_dir)):
            durable.write_file(f"{folder}/{inv.INVENTORY}", data)
            durable.write_file(f"{folder}/{name}", side)

    # -- commit: a batch made durable -------------------------------------------------------
    def commit(self) -> None:
        """Make every put since the last commit durable: sync what was staged, rename it into
        place, sync again. An outcome that could not be committed becomes FAILED."""
        pending, self._pending = self._pending, []
        try:
            if pending:
                self._commit(pending)
        finally:
            for p in pending:
                if p.lock is not None:
                    os.close(p.lock)
                    p.lock = None
            self._drop_staging()

    def _commit(self, pending: list[_Pending]) -> None:
        try:
            self._write_intents(pending)
            durable.sync_filesystem(self.root)  # staged content on disk before a name points at it
        except OSError as e:
            for p in pending:
                _fail(p.outcome, f"cannot make the OCFL root durable: {e.strerror or e}")
            return
        for p in pending:
            try:
                self._move_in(p)
            except OSError as e:
                _fail(p.outcome, f"{self.root / p.rel}: could not be committed: {e.strerror or e}")
        try:
            durable.sync_filesystem(self.root)  # the renames on disk before an event records them
        except OSError as e:
            for p in pending:
                _fail(p.outcome, f"cannot make the OCFL root durable: {e.strerror or e}")

    def _move_in(self, p: _Pending) -> None:
        objdir = self.root / p.rel
        if p.kind == "new":
            _makedirs(objdir.parent, self.root)
            durable.step(f"rename {p.item} -> {objdir}")
            try:
                os.rename(p.item, objdir)
            except OSError as e:
                if e.errno in (errno.EEXIST, errno.ENOTEMPTY):
                    raise OSError(e.errno, "another deposit created this object meanwhile; "
                                  "run the deposit again") from None
                raise
        elif p.kind == "version":
            durable.step(f"rename {p.item / p.version} -> {objdir / p.version}")
            os.rename(p.item / p.version, objdir / p.version)
            # the commit point: the root inventory names the new head, then its sidecar
            durable.replace(p.item / inv.INVENTORY, objdir / inv.INVENTORY)
            durable.replace(p.item / inv.sidecar_name(p.algorithm), objdir / inv.sidecar_name(p.algorithm))

    def close(self) -> None:
        """After a run: commit what is still pending, remove this process's staging."""
        self.commit()


def _check_held(objdir: Path, inventory: dict) -> None:
    """An unchanged deposit is verified as a new one is: every file of the head version the
    package's state is read and compared with the inventory's digest. A stored copy that has
    changed is refused, never rewritten (archiver does not heal damage; it says so)."""
    algorithm = inventory["digestAlgorithm"]
    manifest = {d.lower(): paths for d, paths in inventory["manifest"].items()}
    for digest in inv.head_state(inventory):
        for content in manifest.get(digest.lower(), ()):
            try:
                found = hash_file(objdir / content, (algorithm,))[1][algorithm]
            except OSError as e:
                raise DepositError(f"{objdir / content}: cannot read the stored copy: {e.strerror or e}",
                                   code="OCFL-INVALID") from None
            if found != digest.lower():
                raise DepositError(f"{objdir / content} no longer matches its {algorithm} in the object's "
                                   "inventory: the stored copy is damaged; nothing written (never repaired: "
                                   "see archiver audit)", code="OCFL-INVALID")


def _outcome(status: str, package_id: str, version: str, details: dict, message: str,
             size: int = 0) -> Outcome:
    # verified by bytes: every file written was hashed on its way in and matched the manifests;
    # unchanged, every file of the head version was read back and matched the inventory
    return Outcome(status=status, remote_id=package_id, bytes=size, verified=True, version=version,
                   details=details, message=message, verification="bytes")


def _write_error(e: OSError, root: Path) -> DepositError:
    return DepositError(f"{e.filename or root}: {e.strerror or e}", code="OCFL-WRITE")


def _fail(outcome: Outcome, message: str) -> None:
    outcome.status, outcome.verified, outcome.message = FAILED, False, message
    outcome.verification = None
    outcome.details = {**outcome.details, "error-code": "OCFL-WRITE"}


def _intents(folder: Path) -> list[dict]:
    """The intent records in a dead run's staging directory: one file per committed batch
    (`{"items": [...]}`), or, as earlier versions wrote them, one per object."""
    found = []
    for path in sorted(folder.glob("*.json")):
        try:
            record = json.loads(path.read_bytes())
            items = record["items"] if "items" in record else [record]
            found += [item for item in items if isinstance(item["object"], str)]
        except (OSError, ValueError, KeyError, TypeError):
            continue  # a torn intent: nothing was moved after it
    return found


def _bag_files(bag: Path) -> list[tuple[str, str]]:
    """(logical path, path to open) of every file of the bag, sorted; archiver's own
    temporaries outside the payload are left out (never evidence, never deposited)."""
    found = []
    stack = [("", os.fspath(bag))]
    while stack:
        rel_dir, full_dir = stack.pop()
        with os.scandir(full_dir) as entries:
            for entry in entries:
                rel = f"{rel_dir}/{entry.name}" if rel_dir else entry.name
                in_payload = rel == "data" or rel.startswith("data/")
                if not in_payload and durable.is_temporary(entry.name):
                    continue
                if entry.is_dir(follow_symlinks=False):
                    stack.append((rel, entry.path))
                elif entry.is_dir():
                    raise DepositError(f"{bag}/{rel}: a link to a directory; OCFL holds no links (E090)",
                                       code="OCFL-LINK")
                elif entry.is_file():
                    try:
                        rel.encode("utf-8")
                    except UnicodeEncodeError:
                        raise DepositError(f"{bag}: a file name that is not UTF-8 ({rel!r}); OCFL "
                                           "paths are UTF-8", code="OCFL-PATH") from None
                    found.append((rel, entry.path))
    return sorted(found)
