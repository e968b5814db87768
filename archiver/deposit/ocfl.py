"""OCFL 1.1 storage roots on local disk, through ocfl-py.

Each package becomes an OCFL object whose identifier is the package's External-Identifier
and whose content is the whole bag. A changed package becomes a new version; the same bytes
again are a no-op. Writes are staged beside the storage root and moved into place with a
rename, and the root inventory is replaced last (the commit point), so a crash never leaves a
half-written object or version. Every object written is then validated by ocfl-py, digests
included, and rolled back if it does not validate.

ocfl-py 2.1 writes storage layouts 0002 and 0003 but not 0004 (Hashed N-tuple Storage
Layout, the one Fedora 6 uses); `HashedNTupleLayout` implements 0004 from the extension's
text and registers it with ocfl-py, so ocfl-py's own storage-root code uses it. New roots use
0003 unless configured otherwise (see DEFAULT_LAYOUT).
"""
from __future__ import annotations

import hashlib
import json
import logging
import os
import shutil
import tempfile
from datetime import datetime, timezone
from pathlib import Path

# Importing ocfl-py configures the root logger (INFO, to stderr); put it back as it was,
# so a library import does not decide what archiver's command line prints.
_root_logger = logging.getLogger()
_saved_logging = (_root_logger.level, list(_root_logger.handlers))
import ocfl  # noqa: E402
from ocfl.layout import Layout, LayoutException  # noqa: E402
from ocfl.layout_registry import add_layout  # noqa: E402
from ocfl.validator import Validator  # noqa: E402

_root_logger.setLevel(_saved_logging[0])
_root_logger.handlers[:] = _saved_logging[1]

from archiver import __version__
from archiver.deposit.base import (DEPOSITED, UNCHANGED, ConfigurationError, DepositError,
                                   Outcome, Previous, Target)

log = logging.getLogger("archiver.deposit")

LAYOUT_0004 = "0004-hashed-n-tuple-storage-layout"
LAYOUT_0002 = "0002-flat-direct-storage-layout"
LAYOUT_0003 = "0003-hash-and-id-n-tuple-storage-layout"
LAYOUT_ALIASES = {
    "0004": LAYOUT_0004, "hashed-n-tuple": LAYOUT_0004, LAYOUT_0004: LAYOUT_0004,
    "0002": LAYOUT_0002, "flat-direct": LAYOUT_0002, "flat": LAYOUT_0002, LAYOUT_0002: LAYOUT_0002,
    "0003": LAYOUT_0003, "hash-and-id-n-tuple": LAYOUT_0003, LAYOUT_0003: LAYOUT_0003,
}
# 0003 by default: hashed like 0004, and ocfl-py's own validator (ocfl-validate.py) walks it;
# its 2.1 release refuses a root that names 0004 (E071), although 0004 is a registered extension
DEFAULT_LAYOUT = LAYOUT_0003
SPEC_VERSION = "1.1"

# Digest algorithms an OCFL fixity block allows (OCFL 1.1 section 3.5.1, extension 0001).
_DIGESTS = {
    "md5": lambda: hashlib.md5(), "sha1": lambda: hashlib.sha1(),
    "sha256": lambda: hashlib.sha256(), "sha512": lambda: hashlib.sha512(),
    "blake2b-512": lambda: hashlib.blake2b(digest_size=64),
    "blake2b-160": lambda: hashlib.blake2b(digest_size=20),
    "blake2b-256": lambda: hashlib.blake2b(digest_size=32),
    "blake2b-384": lambda: hashlib.blake2b(digest_size=48),
    "sha512/256": lambda: hashlib.new("sha512_256"),
}


class HashedNTupleLayout(Layout):
    """OCFL Community Extension 0004: Hashed N-tuple Storage Layout."""

    def __init__(self):
        super().__init__()
        self.NAME = LAYOUT_0004
        self.DESCRIPTION = ("OCFL object identifiers are hashed and encoded as hex strings. "
                            "These digests are then divided into N n-tuple segments, which are "
                            "used to create nested paths under the OCFL storage root.")
        self.digest_algorithm = "sha256"
        self.tuple_size = 3
        self.number_of_tuples = 3
        self.short_object_root = False
        # A parameter left out of config.json takes the extension's default.
        self.PARAMS = {"digestAlgorithm": self._set_digest_algorithm,
                       "tupleSize": self._set_tuple_size,
                       "numberOfTuples": self._set_number_of_tuples,
                       "shortObjectRoot": self._set_short_object_root}

    def _set_digest_algorithm(self, value):
        if value is None:
            value = "sha256"
        if not isinstance(value, str) or value not in _DIGESTS:
            raise LayoutException(f"digestAlgorithm {value!r} is not an OCFL fixity algorithm")
        self.digest_algorithm = value

    @staticmethod
    def _count(name, value, default):
        if value is None:
            return default
        if isinstance(value, bool) or not isinstance(value, int) or not 0 <= value <= 32:
            raise LayoutException(f"{name} must be an integer between 0 and 32 inclusive")
        return value

    def _set_tuple_size(self, value):
        self.tuple_size = self._count("tupleSize", value, 3)

    def _set_number_of_tuples(self, value):
        self.number_of_tuples = self._count("numberOfTuples", value, 3)

    def _set_short_object_root(self, value):
        if value is None:
            value = False
        if not isinstance(value, bool):
            raise LayoutException("shortObjectRoot must be a boolean")
        self.short_object_root = value

    def check_full_config(self):
        if (self.tuple_size == 0) != (self.number_of_tuples == 0):
            raise LayoutException("tupleSize and numberOfTuples must both be 0 if either is")
        width = len(self._digest("x"))
        used = self.tuple_size * self.number_of_tuples
        if used > width:
            raise LayoutException("tupleSize * numberOfTuples exceeds the length of the hex digest")
        if used == width and self.short_object_root:
            raise LayoutException("shortObjectRoot must be false when the tuples use the whole digest")

    @property
    def config(self):
        return {"extensionName": self.NAME, "digestAlgorithm": self.digest_algorithm,
                "tupleSize": self.tuple_size, "numberOfTuples": self.number_of_tuples,
                "shortObjectRoot": self.short_object_root}

    def _digest(self, identifier: str) -> str:
        h = _DIGESTS[self.digest_algorithm]()
        h.update(identifier.encode("utf-8"))
        return h.hexdigest().lower()

    def identifier_to_path(self, identifier):
        digest = self._digest(identifier)
        size, count = self.tuple_size, self.number_of_tuples
        parts = [digest[i * size:(i + 1) * size] for i in range(count)]
        parts.append(digest[size * count:] if self.short_object_root else digest)
        return "/".join(parts)


add_layout(LAYOUT_0004, HashedNTupleLayout)
add_layout("0004", HashedNTupleLayout)


def open_storage_root(root: Path) -> ocfl.StorageRoot:
    """An ocfl-py StorageRoot that knows extension 0004 is a registered extension."""
    storage_root = ocfl.StorageRoot(str(root))
    storage_root.registered_extensions.append(LAYOUT_0004)
    return storage_root


def validate_object(path: Path, check_digests: bool = True) -> tuple[bool, list[str]]:
    """ocfl-py's verdict on one object, and its error messages (the spec's codes included)."""
    validator = Validator(check_digests=check_digests, log_warnings=False)
    passed = validator.validate_object(str(path))
    messages = [m for m in validator.log.messages]
    return bool(passed) and validator.log.num_errors == 0, messages


def _now() -> str:
    return datetime.now(timezone.utc).replace(microsecond=0).isoformat().replace("+00:00", "Z")


def _tree_size(path: Path) -> int:
    return sum(p.stat().st_size for p in path.rglob("*") if p.is_file())


def _replace(path: Path, data: bytes) -> None:
    tmp = path.with_name(f".{path.name}.tmp")
    with open(tmp, "wb") as f:
        f.write(data)
        f.flush()
        os.fsync(f.fileno())
    os.replace(tmp, path)


class OcflTarget(Target):
    kind = "ocfl"
    event_type = "rep"

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

    @property
    def uri(self) -> str:
        return f"ocfl:{self.root}"

    # -- storage root -------------------------------------------------------------------
    def ensure_root(self) -> ocfl.StorageRoot:
        root = self.root
        if root.exists() and not root.is_dir():
            raise DepositError(f"{root} is a file, not an OCFL storage root", code="OCFL-NOT-A-ROOT")
        if root.exists() and not any(root.glob("0=ocfl_*")):
            if any(root.iterdir()):
                raise DepositError(f"{root} exists but is not an OCFL storage root",
                                   code="OCFL-NOT-A-ROOT")
            root.rmdir()  # ocfl-py creates the directory itself
        if not root.exists():
            root.parent.mkdir(parents=True, exist_ok=True)
            new_root = ocfl.StorageRoot(str(root), layout_name=self.layout)
            try:
                new_root.initialize(spec_version=SPEC_VERSION)
            except (ocfl.StorageRootException, LayoutException, OSError) as e:
                raise DepositError(f"cannot create OCFL storage root {root}: {e}",
                                   code="OCFL-ROOT") from None
            log.info("created OCFL storage root %s (layout %s)", root, self.layout)
        storage_root = open_storage_root(root)
        try:
            storage_root.open_root_fs()
            storage_root.check_root_structure()
        except (ocfl.StorageRootException, LayoutException) as e:
            raise DepositError(f"{root}: not a usable OCFL storage root ({e})",
                               code="OCFL-ROOT") from None
        if storage_root.layout is None:
            raise DepositError(f"{root}: the storage root names no storage layout "
                               "(ocfl_layout.json), so objects cannot be placed",
                               code="OCFL-NO-LAYOUT")
        return storage_root

    # -- deposit ------------------------------------------------------------------------
    def put(self, bag: Path, package_id: str, fingerprint: str,
            previous: Previous | None) -> Outcome:
        storage_root = self.ensure_root()
        try:
            rel = storage_root.object_path(package_id)
        except LayoutException as e:  # e.g. flat-direct and an identifier with '/' or '..'
            raise DepositError(f"identifier {package_id!r} cannot be stored with layout "
                               f"{storage_root.layout_name}: {e}", code="OCFL-IDENTIFIER") from None
        objdir = self.root / rel
        details = {"storage-root": str(self.root), "object-path": rel,
                   "storage-layout": storage_root.layout_name}
        metadata = ocfl.VersionMetadata(created=_now(), name=f"archiver {__version__}",
                                        message=f"Deposit of package {package_id}")
        if not objdir.exists():
            return self._create(bag, package_id, objdir, metadata, details)
        return self._update(bag, package_id, objdir, metadata, details, fingerprint, previous)

    def _staging(self) -> Path:
        # Beside the storage root, on the same file system, so the final move is a rename.
        return Path(tempfile.mkdtemp(prefix=f".{self.root.name}-staging-", dir=self.root.parent))

    def _create(self, bag, package_id, objdir, metadata, details) -> Outcome:
        staging = self._staging()
        created_dirs = []
        try:
            staged = staging / "object"
            obj = ocfl.Object(identifier=package_id, digest_algorithm="sha512")
            obj.create(srcdir=str(bag), metadata=metadata, objdir=str(staged))
            size = _tree_size(staged)
            parent = objdir.parent
            while not parent.exists():
                created_dirs.append(parent)
                parent = parent.parent
            objdir.parent.mkdir(parents=True, exist_ok=True)
            os.rename(staged, objdir)
        except DepositError:
            raise
        except Exception as e:
            self._remove_dirs(created_dirs)
            raise DepositError(f"writing OCFL object {package_id} failed: {e}",
                               code="OCFL-WRITE") from None
        finally:
            shutil.rmtree(staging, ignore_errors=True)
        valid, messages = validate_object(objdir)
        if not valid:
            shutil.rmtree(objdir, ignore_errors=True)
            self._remove_dirs(created_dirs)
            raise DepositError(f"OCFL object {package_id} did not validate after writing and "
                               f"was removed: {'; '.join(messages[:5])}", code="OCFL-INVALID")
        return Outcome(status=DEPOSITED, remote_id=package_id, bytes=size, verified=True,
                       version="v1", details=details,
                       message=f"new OCFL object at {details['object-path']}")

    def _update(self, bag, package_id, objdir, metadata, details, fingerprint, previous) -> Outcome:
        inventory_path = objdir / "inventory.json"
        try:
            current = json.loads(inventory_path.read_text(encoding="utf-8"))
        except (OSError, ValueError) as e:
            raise DepositError(f"{objdir}: unreadable OCFL inventory ({e})",
                               code="OCFL-INVALID") from None
        if current.get("id") != package_id:
            raise DepositError(f"{objdir} holds object {current.get('id')!r}, not {package_id!r}",
                               code="OCFL-ID-MISMATCH")
        head = current.get("head")
        if previous and previous.fingerprint == fingerprint and previous.version == head:
            valid, messages = validate_object(objdir)
            if not valid:
                raise DepositError(f"OCFL object {package_id} is invalid: "
                                   f"{'; '.join(messages[:5])}", code="OCFL-INVALID")
            return Outcome(status=UNCHANGED, remote_id=package_id, version=head, verified=True,
                           details=details,
                           message=f"unchanged since its deposit as {previous.version}")
        obj = ocfl.Object(identifier=package_id)
        try:
            new_version = obj.start_new_version(objdir=str(objdir), srcdir=str(bag),
                                                metadata=metadata, carry_content_forward=False)
            new_version.add_from_srcdir()
        except Exception as e:
            raise DepositError(f"OCFL object {package_id}: cannot prepare a new version ({e})",
                               code="OCFL-WRITE") from None
        if not new_version.diff_with_previous():
            valid, messages = validate_object(objdir)
            if not valid:
                raise DepositError(f"OCFL object {package_id} is invalid: "
                                   f"{'; '.join(messages[:5])}", code="OCFL-INVALID")
            return Outcome(status=UNCHANGED, remote_id=package_id, version=head, verified=True,
                           details=details, message=f"same bytes as {head}: nothing written")
        return self._commit(bag, package_id, objdir, new_version, details)

    def _commit(self, bag, package_id, objdir, new_version, details) -> Outcome:
        inventory = new_version.inventory
        head = inventory.head
        algorithm = inventory.digest_algorithm
        staging = self._staging()
        old_inventory = (objdir / "inventory.json").read_bytes()
        sidecar_name = f"inventory.json.{algorithm}"
        old_sidecar = (objdir / sidecar_name).read_bytes()
        moved = False
        try:
            version_dir = staging / head
            version_dir.mkdir()
            for source, content_path in new_version.files_to_copy.items():
                target = staging / content_path
                target.parent.mkdir(parents=True, exist_ok=True)
                shutil.copyfile(bag / source, target)
            data = json.dumps(inventory.data, sort_keys=True, indent=2).encode("utf-8")
            (version_dir / "inventory.json").write_bytes(data)
            hasher = _DIGESTS[algorithm]()
            hasher.update(data)
            digest = hasher.hexdigest()
            sidecar = f"{digest} inventory.json\n".encode("utf-8")
            (version_dir / sidecar_name).write_bytes(sidecar)
            size = _tree_size(version_dir)
            os.rename(version_dir, objdir / head)
            moved = True
            # The commit point: the root inventory names the new head.
            _replace(objdir / "inventory.json", data)
            _replace(objdir / sidecar_name, sidecar)
        except Exception as e:
            self._roll_back(objdir, head if moved else None, old_inventory, sidecar_name, old_sidecar)
            raise DepositError(f"writing {head} of OCFL object {package_id} failed: {e}",
                               code="OCFL-WRITE") from None
        finally:
            shutil.rmtree(staging, ignore_errors=True)
        valid, messages = validate_object(objdir)
        if not valid:
            self._roll_back(objdir, head, old_inventory, sidecar_name, old_sidecar)
            raise DepositError(f"{head} of OCFL object {package_id} did not validate after "
                               f"writing and was rolled back: {'; '.join(messages[:5])}",
                               code="OCFL-INVALID")
        return Outcome(status=DEPOSITED, remote_id=package_id, bytes=size, verified=True,
                       version=head, details=details, message=f"new version {head}")

    @staticmethod
    def _roll_back(objdir, head, old_inventory, sidecar_name, old_sidecar):
        _replace(objdir / "inventory.json", old_inventory)
        _replace(objdir / sidecar_name, old_sidecar)
        if head:
            shutil.rmtree(objdir / head, ignore_errors=True)

    def _remove_dirs(self, created_dirs):
        for folder in created_dirs:  # deepest first
            try:
                folder.rmdir()
            except OSError:
                pass
