"""--check-ledger compares every column of the summary tables (packages, rounds, pending)
with what the hash-chained records say: an edit of any one of them is caught."""
from __future__ import annotations

import sqlite3

import pytest

from archiver.audit.ledger import Ledger

from auditkit import cli, payload_file, run_audit

EDITS = {
    # rounds: every column (finished rounds)
    "rounds.agent": "UPDATE rounds SET agent='mallory'",
    "rounds.started": "UPDATE rounds SET started='2020-01-01T00:00:00Z'",
    "rounds.finished": "UPDATE rounds SET finished='2020-01-02T00:00:00Z'",
    "rounds.locations": """UPDATE rounds SET locations='{"locations":["/elsewhere"]}'""",
    "rounds.head": "UPDATE rounds SET head='00'",
    "rounds.seal": "UPDATE rounds SET seal='c2VhbA=='",
    "rounds.packages": "UPDATE rounds SET packages=packages+1",
    "rounds.ok": "UPDATE rounds SET ok=ok+1, found=found-1 WHERE found>0",
    "rounds.found": "UPDATE rounds SET found=0, ok=packages",
    "rounds.findings": "UPDATE rounds SET findings=0",
    "rounds.bytes": "UPDATE rounds SET bytes=bytes+1",
    # packages: every column
    "packages.location": "UPDATE packages SET location=location || '-x'",
    "packages.identifier": "UPDATE packages SET identifier='other'",
    "packages.kind": "UPDATE packages SET kind='zip'",
    "packages.first_seen": "UPDATE packages SET first_seen='2020-01-01T00:00:00Z'",
    "packages.baseline": "UPDATE packages SET baseline=baseline+1",
    "packages.last_audit": "UPDATE packages SET last_audit='2020-01-01T00:00:00Z'",
    "packages.last_outcome": "UPDATE packages SET last_outcome='ok'",
    "packages.findings": "UPDATE packages SET findings=0",
    "packages.bytes": "UPDATE packages SET bytes=bytes+1",
    "packages.last_round": "UPDATE packages SET last_round=1",
    "packages.gone": "UPDATE packages SET gone=1",
    # intents
    "pending.body": """INSERT INTO pending SELECT id, '{"event":"x","drop":[]}' FROM packages LIMIT 1""",
}


@pytest.fixture
def audited(store, ledger):
    """Two finished rounds, the second with a finding."""
    run_audit(store, ledger=ledger)
    payload_file(sorted(store.iterdir())[0]).write_bytes(b"x")
    run_audit(store, ledger=ledger)
    with Ledger.open(ledger, readonly=True) as db:
        assert db.check() == []
    return ledger


@pytest.mark.parametrize("column", sorted(EDITS))
def test_every_summary_column_is_checked(audited, column):
    with sqlite3.connect(audited) as con:
        assert con.execute(EDITS[column]).rowcount > 0
    with Ledger.open(audited, readonly=True) as db:
        problems = db.check()
    assert problems and {p.code for p in problems} == {"AUDIT-LEDGER-TABLE"}
    assert any(p.message.startswith(column + " ") for p in problems), [p.message for p in problems]
    done = cli("audit", "--check-ledger", "--ledger", audited)
    assert done.returncode == 1 and "BROKEN" in done.stdout and column in done.stdout


def test_open_round_counts_checked(store, ledger, monkeypatch):
    """A round left open (interrupted) has no end record: its counts are checked against its
    audit records."""
    from archiver.audit import ledger as ledger_module

    original = ledger_module.Ledger._append
    audits = []

    def append(self, kind, package, body, time=None):
        seq = original(self, kind, package, body, time)
        if kind == "audit":
            audits.append(seq)
            if len(audits) == 2:
                raise KeyboardInterrupt
        return seq

    monkeypatch.setattr(ledger_module.Ledger, "_append", append)
    run = run_audit(store, ledger=ledger, jobs=1)
    monkeypatch.undo()
    assert run.stopped == "interrupted"
    with Ledger.open(ledger, readonly=True) as db:
        assert db.check() == []
    with sqlite3.connect(ledger) as con:
        con.execute("UPDATE rounds SET packages=3, ok=3")
    with Ledger.open(ledger, readonly=True) as db:
        problems = db.check()
    assert {(p.code, p.path) for p in problems} == {("AUDIT-LEDGER-TABLE", "round 1")}
    assert {p.message.split(" ")[0] for p in problems} == {"rounds.packages", "rounds.ok"}


def test_missing_round_row(audited):
    with sqlite3.connect(audited) as con:
        con.execute("DELETE FROM rounds WHERE id=1")
    with Ledger.open(audited, readonly=True) as db:
        problems = db.check()
    assert {(p.code, p.path) for p in problems} == {("AUDIT-LEDGER-TABLE", "round 1")}
