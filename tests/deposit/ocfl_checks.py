"""An independent judge of the OCFL roots archiver writes: ocfl-py (a test-only dependency).

archiver writes OCFL natively; these helpers have ocfl-py's Validator (digests included) and
its `ocfl-validate.py` command judge every root and object the tests make.
"""
from __future__ import annotations

import json
import logging
import shutil
import subprocess
from pathlib import Path

# Importing ocfl-py configures the root logger (INFO, to stderr); put it back as it was.
_root_logger = logging.getLogger()
_saved_logging = (_root_logger.level, list(_root_logger.handlers))
import ocfl  # noqa: E402
from ocfl.layout import Layout  # noqa: E402
from ocfl.layout_registry import add_layout  # noqa: E402
from ocfl.validator import Validator  # noqa: E402

_root_logger.setLevel(_saved_logging[0])
_root_logger.handlers[:] = _saved_logging[1]

LAYOUT_0004 = "0004-hashed-n-tuple-storage-layout"


class _Registered0004(Layout):
    """Lets ocfl-py 2.1 walk a root that names extension 0004 (a registered extension it does
    not implement): it reads the parameters, and never places an object itself."""

    def __init__(self):
        super().__init__()
        self.NAME = LAYOUT_0004
        self.DESCRIPTION = "Hashed N-tuple Storage Layout"
        self.values = {}
        self.PARAMS = {key: (lambda value, key=key: self.values.__setitem__(key, value))
                       for key in ("digestAlgorithm", "tupleSize", "numberOfTuples", "shortObjectRoot")}

    def identifier_to_path(self, identifier):
        raise NotImplementedError("the tests never ask ocfl-py to place an object")


add_layout(LAYOUT_0004, _Registered0004)


def storage_root(root: Path) -> ocfl.StorageRoot:
    storage = ocfl.StorageRoot(str(root))
    storage.registered_extensions.append(LAYOUT_0004)
    return storage


def validate_object(path: Path, check_digests: bool = True) -> tuple[bool, list[str]]:
    """ocfl-py's verdict on one object, and its messages (the spec's codes included)."""
    validator = Validator(check_digests=check_digests, log_warnings=False)
    passed = validator.validate_object(str(path))
    return bool(passed) and validator.log.num_errors == 0, list(validator.log.messages)


def assert_root_valid(root: Path, expected_objects: int) -> list[Path]:
    """Every object valid (digests checked), the root's hierarchy valid (no stray files or
    empty directories), nothing staged left beside it; for the layouts ocfl-py's command
    line walks, its `ocfl-validate.py` too. Returns the object paths, sorted."""
    objects = []
    for declaration in root.rglob("0=ocfl_object_1.1"):
        valid, messages = validate_object(declaration.parent)
        assert valid, (declaration.parent, messages)
        objects.append(declaration.parent)
    assert len(objects) == expected_objects, objects
    storage = storage_root(root)
    assert storage.validate(validate_objects=True, check_digests=True), (storage.errors, storage.log)
    assert storage.num_objects == storage.good_objects == expected_objects
    assert storage.num_traversal_errors == 0
    assert staging_left(root) == []
    if json.loads((root / "ocfl_layout.json").read_text())["extension"] != LAYOUT_0004:
        script = shutil.which("ocfl-validate.py")
        assert script, "ocfl-py installs ocfl-validate.py"
        done = subprocess.run([script, str(root)], capture_output=True, text=True, timeout=300)
        assert done.returncode == 0 and "INVALID" not in done.stdout + done.stderr, \
            done.stdout + done.stderr
    return sorted(objects)


def staging_left(root: Path) -> list[str]:
    """archiver's staging directories beside the root (a finished run leaves none)."""
    return sorted(p.name for p in root.parent.iterdir() if p.name.startswith(".archiver-ocfl-"))
