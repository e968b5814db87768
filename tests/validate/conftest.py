"""Fixtures for the validator tests; the bag-making helpers live in bagmaker.py."""
from __future__ import annotations

from pathlib import Path

import pytest

from archiver.validate import validate_bag
from bagmaker import make_bag


@pytest.fixture
def bag(tmp_path) -> Path:
    return make_bag(tmp_path / "bag")


@pytest.fixture
def check():
    """validate_bag with jobs=1 (the suite runs many tiny bags; pools would only add start-up)."""
    def run(path, **kw):
        kw.setdefault("jobs", 1)
        return validate_bag(path, **kw)
    return run
