"""A real Dask scheduler and two workers on 127.0.0.1, shared by the tests that leave it whole."""
from __future__ import annotations

import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parent))

from dask_cluster import Cluster  # noqa: E402


@pytest.fixture(scope="session")
def cluster(tmp_path_factory):
    started = Cluster(tmp_path_factory.mktemp("dask"), workers=2)
    try:
        yield started
    finally:
        started.stop()


@pytest.fixture
def own_cluster(tmp_path):
    """A cluster for a test that kills part of it."""
    started = Cluster(tmp_path / "dask", workers=2)
    try:
        yield started
    finally:
        started.stop()
