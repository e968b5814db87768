"""Stores of freshly built packages (the time-stamping authority and the keys are in
tests/conftest.py, shared with the audit's tests)."""
from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from archiver.package.build import build

EXAMPLES = Path(__file__).resolve().parents[2] / "examples" / "reports"


@pytest.fixture(scope="session")
def built_store(tmp_path_factory):
    store = tmp_path_factory.mktemp("built") / "store"
    results = build([EXAMPLES], store, durable=False, jobs=1)
    assert [r.status for r in results] == ["built"] * 3
    return store


@pytest.fixture
def store(built_store, tmp_path):
    """A fresh copy of three unsealed packages."""
    copy = tmp_path / "store"
    shutil.copytree(built_store, copy)
    return copy
