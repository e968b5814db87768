"""Two copies of one package (the store's and one elsewhere), one of them damaged: the
history and the web view of the intact copy show its own audits only; by identifier, every
audit names the copy it is about."""
from __future__ import annotations

import shutil

import pytest

from archiver.audit.history import history
from archiver.audit.ledger import Ledger
from archiver.serve.sources import LedgerSource

from auditkit import cli, payload_file, run_audit


@pytest.fixture
def two_copies(store, ledger, tmp_path):
    package = sorted(store.iterdir())[0]
    run_audit(store, ledger=ledger)
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    copy = elsewhere / package.name
    shutil.copytree(package, copy)
    target = payload_file(copy)
    target.write_bytes(target.read_bytes() + b"x")
    assert run_audit(elsewhere, ledger=ledger).found
    return package, copy


def _audits(h):
    return [e for e in h.entries if e.kind == "audit"]


def test_history_of_a_path_is_that_copys(two_copies, ledger, tmp_path):
    package, copy = two_copies
    with Ledger.open(ledger, readonly=True) as db:
        intact, damaged = history(str(package), db), history(str(copy), db)
        by_id = history(package.name, db)
    assert [e.outcome for e in _audits(intact)] == ["ok"] and intact.locations == [str(package)]
    assert [e.outcome for e in _audits(damaged)] == ["found"] and damaged.locations == [str(copy)]
    assert {e.location for e in _audits(by_id)} == {str(package), str(copy)}
    for e in _audits(by_id):  # each line says which copy it is about
        assert e.summary.startswith(f"at {e.location}: ")
    done = cli("history", package, "--ledger", ledger, env={"XDG_DATA_HOME": str(tmp_path / "u")})
    assert done.returncode == 0
    assert "FOUND" not in done.stdout and "AUDIT-FILE-CHANGED" not in done.stdout


def test_history_of_a_gone_copy_by_path(two_copies, ledger):
    package, copy = two_copies
    shutil.rmtree(copy)
    run_audit(copy.parent, ledger=ledger)
    with Ledger.open(ledger, readonly=True) as db:
        gone = history(str(copy), db)
    assert [e.outcome for e in _audits(gone)] == ["found", "gone"]


def test_ok_audits_of_two_copies_not_folded_together(store, ledger, tmp_path):
    package = sorted(store.iterdir())[0]
    copy = tmp_path / "elsewhere" / package.name
    shutil.copytree(package, copy)
    run_audit(package, ledger=ledger)
    run_audit(copy, ledger=ledger)
    with Ledger.open(ledger, readonly=True) as db:
        audits = _audits(history(package.name, db))
    assert len(audits) == 2 and {e.location for e in audits} == {str(package), str(copy)}


def test_web_view_shows_the_store_copys_audits(two_copies, ledger, store):
    package, copy = two_copies
    source = LedgerSource(ledger, store)
    page = source.package(package.name, package.name)
    assert page["ledger"]["last_outcome"] == "success" and page["ledger"]["findings"] == []
    assert [e["outcome"] for e in page["ledger_timeline"] if e["type"] == "audit"] == ["success"]
    health = source.health([{"name": package.name, "identifier": package.name}])
    assert health["findings_by_package"] == {}
