"""Deposit packages made by the project's own build, from the example reports."""
from __future__ import annotations

from pathlib import Path

import pytest

from archiver.deposit import deposit
from ocfl_checks import assert_root_valid

EXAMPLES = Path(__file__).resolve().parents[2] / "examples" / "reports"


def test_built_packages_deposit_to_ocfl(tmp_path):
    build = pytest.importorskip("archiver.package.build")
    results = build.build([str(EXAMPLES)], str(tmp_path / "packages"), durable=False, jobs=1)
    bags = [Path(r.path) for r in results if r.status == "built"]
    assert bags, [r.message for r in results]
    root = tmp_path / "repository"
    deposited = deposit(bags, f"ocfl:{root}", config={})
    assert [r.status for r in deposited] == ["deposited"] * len(bags), [r.message for r in deposited]
    for result in deposited:
        from archiver.bagit.bag import bag_info_value
        assert result.remote_id == bag_info_value(Path(result.package), "External-Identifier")
    assert_root_valid(root, len(bags))
    assert [r.status for r in deposit(bags, f"ocfl:{root}", config={})] == ["unchanged"] * len(bags)
