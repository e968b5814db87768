"""--record keeps the first audit event, every failure and the latest; history reads well."""
from __future__ import annotations

from archiver.audit.history import history, render
from archiver.audit.ledger import Ledger
from archiver.audit.record import audit_events
from archiver.validate import validate_bag

from auditkit import cli, findings, payload_file, run_audit


def _outcomes(package):
    return [e.outcome for e in audit_events((package / "metadata" / "premis.xml").read_bytes())]


def test_record_keeps_first_failures_and_latest(store, ledger):
    package = sorted(store.iterdir())[0]
    for _ in range(4):
        run = run_audit(package, ledger=ledger, record=True)
        assert not run.found and run.results[0].recorded
    assert _outcomes(package) == ["success", "success"]  # the first and the latest, not four
    assert validate_bag(package).valid
    target = payload_file(package)
    original = target.read_bytes()
    target.write_bytes(original + b"!")
    assert run_audit(package, ledger=ledger, record=True).found
    assert _outcomes(package) == ["success", "failure"]
    target.write_bytes(original)  # repaired from a copy
    run = run_audit(package, ledger=ledger, record=True)
    assert not run.found, findings(run)
    assert _outcomes(package) == ["success", "failure", "success"]
    with Ledger.open(ledger, readonly=True) as db:
        assert len(db.audits(package.name)) == 6 and db.check() == []


def test_history_timeline(store, ledger, tmp_path):
    package = sorted(store.iterdir())[0]
    for _ in range(3):
        run_audit(store, ledger=ledger)
    payload_file(package).write_bytes(b"damaged")
    run_audit(store, ledger=ledger)
    with Ledger.open(ledger, readonly=True) as db:
        h = history(str(package), db)
    kinds = [e.kind for e in h.entries]
    assert "creation" in kinds and "first seen" in kinds
    audits = [e for e in h.entries if e.kind == "audit"]
    assert [(e.outcome, e.count) for e in audits] == [("ok", 3), ("found", 1)]
    text = render(h)
    assert "AUDIT-FILE-CHANGED" in text and "× 3" in text
    env = {"XDG_DATA_HOME": str(tmp_path / "unused")}
    done = cli("history", package, "--ledger", ledger, env=env)
    assert done.returncode == 0 and "creation" in done.stdout and "AUDIT-FILE-CHANGED" in done.stdout
    by_id = cli("history", package.name, "--ledger", ledger, env=env, cwd=tmp_path)
    assert by_id.returncode == 0 and "AUDIT-FILE-CHANGED" in by_id.stdout
    assert cli("history", "rpt-unknown", "--ledger", ledger, env=env, cwd=tmp_path).returncode == 2
