"""Fixtures for the audit tests: real stores built by archiver, real ledgers on disk."""
from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from seeds import EXAMPLES


@pytest.fixture(scope="session")
def built_store(tmp_path_factory) -> Path:
    """The example reports built once into a store (three packages)."""
    from archiver.package.build import build

    out = tmp_path_factory.mktemp("built") / "packages"
    results = build([str(EXAMPLES)], str(out), durable=False, jobs=1)
    assert all(r.status == "built" for r in results)
    return out


@pytest.fixture
def store(built_store, tmp_path) -> Path:
    copy = tmp_path / "packages"
    shutil.copytree(built_store, copy)
    return copy


@pytest.fixture
def ledger(tmp_path) -> Path:
    return tmp_path / "ledger.sqlite"
