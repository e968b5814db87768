"""A package's state in the web view after real audits and recorded checks: a failure stands
until a later check that passed looked at as much (archiver/serve/standing.py)."""
from __future__ import annotations

import os
import shutil
import time
from pathlib import Path

import pytest

from archiver.bagit.bag import rewrite_tag_manifests

from seeds import SEED_000, SEED_002, SEED_003
from servefixtures import Server, archiver, package_of


@pytest.fixture
def store(tmp_path) -> Path:
    inputs = tmp_path / "inputs"
    inputs.mkdir()
    for seed in (SEED_000, SEED_002, SEED_003):
        shutil.copy(seed, inputs / seed.name)
    archiver("build", str(inputs), "--out", str(tmp_path / "packages"), "--no-fsync", "-q")
    return tmp_path / "packages"


def flip(path: Path) -> bytes:
    """One bit of the file changed; returns what it held."""
    data = path.read_bytes()
    changed = bytearray(data)
    changed[100] ^= 1
    path.write_bytes(bytes(changed))
    return data


def seen(store: Path, name: str, ledger: Path | None = None) -> tuple[dict, dict]:
    """(the package's index entry, /api/health) as a server started now says them; the
    health page's HTML is in health["html"]."""
    folder = store.parent / f"index-{time.monotonic_ns()}"
    folder.mkdir()
    args = ("--ledger", str(ledger)) if ledger else ()
    server = Server(store, folder / "index.sqlite3", *args)
    try:
        server.wait_indexed()
        health = server.json("/api/health")
        status, _, health["html"] = server.get("/health")
        assert status == 200
        return server.json(f"/api/packages/{name}")["index"], health
    finally:
        server.stop()


def assert_failed(store: Path, package: Path, ledger: Path | None = None,
                  others: str = "passed") -> dict:
    """The package failed, in its own entry and on the health page; the two others are in
    state `others`."""
    index, health = seen(store, package.name, ledger)
    assert index["state"] == "failed", index
    assert (health["counts"]["failed"], health["counts"][others]) == (1, 2)
    assert [p["name"] for p in health["problems"]] == [package.name]
    return index


def audit(store: Path, ledger: Path, *extra: str) -> int:
    return archiver("audit", str(store), "--ledger", str(ledger), "-q", *extra,
                    check=False).returncode


@pytest.mark.parametrize("mode", ["--fast", "--completeness-only"])
def test_an_audit_finding_stands_after_a_validation_that_did_not_read_the_bytes(store, tmp_path, mode):
    ledger = tmp_path / "ledger.sqlite"
    package = package_of(store, SEED_000.name)
    payload = package / "data" / SEED_000.name
    assert audit(store, ledger, "--record") == 0
    original = flip(payload)
    assert audit(store, ledger, "--record") == 1  # AUDIT-FILE-CHANGED
    time.sleep(1.1)  # the validation strictly later than the audit
    archiver("validate", str(package), mode, "--record", "-q")  # passes: the bytes are not read

    index, health = seen(store, package.name, ledger)
    assert b"not cleared by it" in health["html"]  # the page says the pass did not clear it
    index = assert_failed(store, package, ledger)
    assert (index["check_outcome"], index["audit_outcome"]) == ("success", "failure")
    assert [(f["source"], f["kind"]) for f in index["standing"]] == [("premis", "audit"),
                                                                     ("ledger", "audit")]
    # without the ledger, the audit's event in the package's PREMIS speaks for it
    index = assert_failed(store, package)
    assert [(f["source"], f["kind"]) for f in index["standing"]] == [("premis", "audit")]

    # restored from a copy and audited again: the finding is cleared, with the ledger or without
    payload.write_bytes(original)
    time.sleep(1.1)
    assert audit(store, ledger, "--record") == 0
    for source in (ledger, None):
        index, health = seen(store, package.name, source)
        assert (index["state"], index["standing"]) == ("passed", [])
        assert (health["counts"]["failed"], health["counts"]["passed"], health["problems"]) == (0, 3, [])


def test_a_rewritten_package_stays_failed_after_a_full_validation_passes(store, tmp_path):
    ledger = tmp_path / "ledger.sqlite"
    package = package_of(store, SEED_002.name)
    assert audit(store, ledger) == 0
    report = package / "metadata" / "report.json"
    report.write_text(report.read_text().replace('"title": "', '"title": "Rewritten: ', 1))
    rewrite_tag_manifests(package)  # the tag manifests agree again: the bag is valid
    assert audit(store, ledger) == 1  # AUDIT-REWRITTEN
    time.sleep(1.1)
    archiver("validate", str(package), "--record", "-q")  # full: every checksum agrees
    index = assert_failed(store, package, ledger)
    assert (index["check_type"], index["check_outcome"]) == ("fix", "success")
    assert [f["source"] for f in index["standing"]] == ["ledger"]


def test_a_fixity_failure_is_cleared_by_a_full_validation_only(store):
    package = package_of(store, SEED_003.name)
    payload = package / "data" / SEED_003.name
    original = flip(payload)
    assert archiver("validate", str(package), "--record", "-q", check=False).returncode == 1
    time.sleep(1.1)
    archiver("validate", str(package), "--fast", "--record", "-q")
    index = assert_failed(store, package, others="unchecked")
    assert [(f["type"], f["outcome"]) for f in index["standing"]] == [("fix", "failure")]
    assert "checksums" in index["standing"][0]["scope"]

    payload.write_bytes(original)
    time.sleep(1.1)
    archiver("validate", str(package), "--record", "-q")
    index, health = seen(store, package.name)
    assert (index["state"], health["counts"]["passed"], health["problems"]) == ("passed", 1, [])


def test_on_a_tie_the_failure_stands(store):
    """A pass and a failure recorded in the same second (one clock: SOURCE_DATE_EPOCH)."""
    package = package_of(store, SEED_000.name)
    env = {**os.environ, "SOURCE_DATE_EPOCH": str(int(time.time()))}
    archiver("validate", str(package), "--record", "-q", env=env)
    flip(package / "data" / SEED_000.name)
    assert archiver("validate", str(package), "--record", "-q", env=env, check=False).returncode == 1
    index = assert_failed(store, package, others="unchecked")
    assert (index["check_time"], index["check_outcome"]) == (index["standing"][0]["time"], "failure")
