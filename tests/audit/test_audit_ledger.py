"""The ledger: its read-only interface, its hash chain, and edits by hand caught."""
from __future__ import annotations

import json
import sqlite3

from archiver.audit.ledger import Ledger

from auditkit import cli, payload_file, run_audit


def test_read_only_interface(store, ledger):
    run_audit(store, ledger=ledger)
    payload_file(sorted(store.iterdir())[0]).write_bytes(b"x")
    run_audit(store, ledger=ledger)
    with Ledger.open(ledger, readonly=True) as db:
        states = list(db.packages())
        assert len(states) == 3 and {s.last_outcome for s in states} == {"ok", "found"}
        damaged = next(s for s in states if s.last_outcome == "found")
        assert db.package(damaged.identifier).findings == damaged.findings == 1
        audits = db.audits(damaged.identifier)
        assert [a.outcome for a in audits] == ["ok", "found"]
        assert audits[-1].findings[0]["code"] == "AUDIT-FILE-CHANGED"
        rounds = db.rounds(limit=10)
        assert [r.found for r in rounds] == [1, 0] and all(r.finished and r.head for r in rounds)
        assert db.check() == []
    mode = ledger.stat().st_mode
    with sqlite3.connect(ledger) as con:  # WAL mode, as the issue asks
        assert con.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
    assert ledger.stat().st_mode == mode


def _codes(problems):
    return {p.code for p in problems}


def test_hand_edits_are_caught(store, ledger, tmp_path):
    run_audit(store, ledger=ledger)
    run_audit(store, ledger=ledger)
    env = {"XDG_DATA_HOME": str(tmp_path / "unused")}
    assert cli("audit", "--check-ledger", "--ledger", ledger, env=env).returncode == 0

    # 1. a first-seen digest changed in place, to make a rewritten file pass
    with sqlite3.connect(ledger) as con:
        seq, body = con.execute("SELECT seq, body FROM records WHERE kind='baseline' LIMIT 1").fetchone()
        files = json.loads(body)
        entry = next(iter(files["files"].values()))
        entry["digests"]["sha256"] = "0" * 64
        con.execute("UPDATE records SET body=? WHERE seq=?", (json.dumps(files), seq))
    done = cli("audit", "--check-ledger", "--ledger", ledger, env=env)
    assert done.returncode == 1 and "AUDIT-LEDGER-CHAIN" in done.stdout
    with Ledger.open(ledger, readonly=True) as db:
        assert _codes(db.check()) == {"AUDIT-LEDGER-CHAIN"}


def test_deleted_record_and_edited_summary(store, ledger):
    run_audit(store, ledger=ledger)
    run_audit(store, ledger=ledger)
    with sqlite3.connect(ledger) as con:
        con.execute("DELETE FROM records WHERE seq = (SELECT MAX(seq) FROM records WHERE kind='audit')")
    with Ledger.open(ledger, readonly=True) as db:
        problems = db.check()
    assert "AUDIT-LEDGER-CHAIN" in _codes(problems)


def test_edited_summary_table(store, ledger):
    payload_file(sorted(store.iterdir())[0]).write_bytes(b"x")
    run_audit(store, ledger=ledger)
    with sqlite3.connect(ledger) as con:  # make a failed package look clean
        con.execute("UPDATE packages SET last_outcome='ok', findings=0")
    with Ledger.open(ledger, readonly=True) as db:
        problems = db.check()
    assert _codes(problems) == {"AUDIT-LEDGER-TABLE"}
    assert any("last_outcome" in p.message for p in problems)


def test_exports(store, ledger, tmp_path):
    run_audit(store, ledger=ledger)
    payload_file(sorted(store.iterdir())[0]).write_bytes(b"x")
    run_audit(store, ledger=ledger)
    env = {"XDG_DATA_HOME": str(tmp_path / "unused")}
    done = cli("audit", "--export", "csv", "--ledger", ledger, env=env)
    assert done.returncode == 0
    import csv
    import io
    rows = list(csv.DictReader(io.StringIO(done.stdout)))
    assert len(rows) == 6 and [r["code"] for r in rows if r["code"]] == ["AUDIT-FILE-CHANGED"]
    done = cli("audit", "--export", "premis", "--ledger", ledger, env=env)
    assert done.returncode == 0
    from lxml import etree
    root = etree.fromstring(done.stdout.encode())
    ns = {"p": "http://www.loc.gov/premis/v3"}
    assert len(root.findall("p:event", ns)) == 6 and len(root.findall("p:object", ns)) == 3
    assert [e.text for e in root.iterfind("p:event/p:eventOutcomeInformation/p:eventOutcome", ns)
            ].count("failure") == 1
    from pathlib import Path
    official = Path(__file__).resolve().parents[3] / "shared" / "reference" / "xsd" / "premis-v3-0.xsd"
    if official.is_file():
        parser = etree.XMLParser(no_network=True)
        schema = etree.XMLSchema(etree.parse(str(official), parser))
        assert schema.validate(root), schema.error_log
