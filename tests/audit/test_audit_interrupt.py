"""Interrupted audits (Ctrl-C, SIGTERM): the run stops at once, commits only whole packages,
says truly how many are left, and the next run resumes with nothing to report."""
from __future__ import annotations

import shutil

import pytest

from archiver.audit import ledger as ledger_module
from archiver.audit.ledger import Ledger

from auditkit import findings, run_audit


def _interrupt_at(monkeypatch, n: int, kinds=None) -> list[str]:
    """Raise KeyboardInterrupt just after the n-th ledger record is appended (of `kinds`, when
    given): between the record and the summary updates that go with it, as a Ctrl-C can land.
    Returns the kinds appended so far."""
    original = Ledger._append
    seen: list[str] = []

    def append(self, kind, package, body, time=None):
        seq = original(self, kind, package, body, time)
        if kinds is None or kind in kinds:
            seen.append(kind)
            if len(seen) == n:
                raise KeyboardInterrupt
        return seq

    monkeypatch.setattr(ledger_module.Ledger, "_append", append)
    return seen


def _appends(store, ledger, record) -> int:
    """How many records one whole first audit appends."""
    probe = ledger.parent / "probe.sqlite"
    run_audit(store, ledger=probe, record=record)
    with Ledger.open(probe, readonly=True) as db:
        first = db.head()[0]
    return first


def _assert_resumes_clean(store, ledger, total):
    with Ledger.open(ledger, readonly=True) as db:
        assert db.check() == []
    again = run_audit(store, ledger=ledger)
    assert findings(again) == set()
    assert again.finished
    with Ledger.open(ledger, readonly=True) as db:
        assert db.check() == []
        latest = db.rounds(limit=1)[0]
        assert latest.packages == total
        per_package = db.db.execute(
            "SELECT COUNT(*) FROM records WHERE kind='audit' AND json_extract(body, '$.round')=? "
            "GROUP BY package", (latest.id,)).fetchall()
        assert len(per_package) == total and {n for (n,) in per_package} == {1}


@pytest.mark.parametrize("record", [False, True], ids=["audit", "record"])
def test_interrupted_at_every_ledger_record(store, tmp_path, monkeypatch, record):
    """A first audit (and --record) interrupted after each of its ledger records in turn:
    the ledger stays intact and no intact package is ever reported."""
    base = tmp_path / "base"
    shutil.copytree(store, base)
    total = sum(1 for _ in base.iterdir())
    steps = _appends(base, tmp_path / "count", record)
    # from the round's first record to its end record
    for n in range(1, steps + 1):
        work = tmp_path / f"run{n}"
        shutil.copytree(base, work)
        ledger = tmp_path / f"ledger{n}.sqlite"
        with monkeypatch.context() as m:
            _interrupt_at(m, n)
            run = run_audit(work, ledger=ledger, record=record, jobs=1)
        assert run.stopped == "interrupted", n
        assert not run.finished
        with Ledger.open(ledger, readonly=True) as db:
            assert db.check() == [], n
            audited = db.db.execute("SELECT COUNT(*) FROM records WHERE kind='audit'").fetchone()[0]
        assert run.remaining == total - audited, n
        _assert_resumes_clean(work, ledger, total)


def test_interrupted_mid_second_round(store, tmp_path, monkeypatch):
    """Interrupted inside a later round's package (its audit record written, its summary
    not yet): that package is undone whole, the next run audits it again."""
    ledger = tmp_path / "ledger.sqlite"
    run_audit(store, ledger=ledger)
    with monkeypatch.context() as m:
        _interrupt_at(m, 2, kinds={"audit"})
        run = run_audit(store, ledger=ledger, jobs=1)
    assert run.stopped == "interrupted" and run.counts["audited"] == 1 and run.remaining == 2
    _assert_resumes_clean(store, ledger, 3)


def test_interrupt_says_what_is_left(store, tmp_path, monkeypatch):
    for package in list(store.iterdir()):
        for i in range(5):
            shutil.copytree(package, store / f"{package.name}-{i}")
    total = sum(1 for _ in store.iterdir())
    ledger = tmp_path / "ledger.sqlite"
    with monkeypatch.context() as m:
        _interrupt_at(m, 7, kinds={"audit"})
        run = run_audit(store, ledger=ledger, jobs=2)
    assert run.stopped == "interrupted"
    assert run.counts["audited"] == 6
    assert run.summary()["remaining"] == total - 6
    again = run_audit(store, ledger=ledger)
    assert again.done_before == 6 and again.counts["audited"] == total - 6 and again.finished


def _audit_records(ledger) -> int:
    import sqlite3

    try:
        with sqlite3.connect(f"file:{ledger}?mode=ro", uri=True) as con:
            return con.execute("SELECT COUNT(*) FROM records WHERE kind='audit'").fetchone()[0]
    except sqlite3.Error:
        return 0


@pytest.mark.parametrize("signum", ["SIGINT", "SIGTERM"])
def test_cli_signalled_mid_run(store, tmp_path, signum):
    """A real signal to the whole command (as Ctrl-C sends it) once some packages are in
    the ledger: exit 130, the ledger intact, and the count left is the ledger's."""
    import json
    import os
    import signal
    import subprocess
    import time

    from faults import archiver_command

    for package in list(store.iterdir()):
        for i in range(130):  # past one batch (BATCH): the first commit comes mid-run
            shutil.copytree(package, store / f"{package.name}-{i:03}")
    total = sum(1 for _ in store.iterdir())
    ledger = tmp_path / "ledger.sqlite"
    proc = subprocess.Popen(archiver_command("audit", store, "--ledger", ledger, "--json", "-j", "2"),
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                            start_new_session=True)
    deadline = time.monotonic() + 120
    while _audit_records(ledger) == 0 and proc.poll() is None and time.monotonic() < deadline:
        time.sleep(0.01)
    os.killpg(proc.pid, getattr(signal, signum))
    out, err = proc.communicate(timeout=120)
    with Ledger.open(ledger, readonly=True) as db:
        assert db.check() == []
        audited = db.db.execute("SELECT COUNT(*) FROM records WHERE kind='audit'").fetchone()[0]
    if audited == total and proc.returncode != 130:  # the signal came after the last batch
        return
    assert proc.returncode == 130, (proc.returncode, err[-2000:])
    summary = json.loads(out)["summary"]
    assert summary["stopped"] == "interrupted"
    assert summary["audited"] == audited and summary["remaining"] == total - audited
    _assert_resumes_clean(store, ledger, total)


def test_interrupted_while_planning(store, tmp_path, monkeypatch):
    """Before any package is read (the ledger asked what is due): nothing is judged, all
    three are left, the round opened is resumed by the next run."""
    ledger = tmp_path / "ledger.sqlite"
    run_audit(store, ledger=ledger)
    calls = []
    original = Ledger.schedule_facts

    def facts(self, key):
        calls.append(key)
        if len(calls) == 2:
            raise KeyboardInterrupt
        return original(self, key)

    with monkeypatch.context() as m:
        m.setattr(ledger_module.Ledger, "schedule_facts", facts)
        run = run_audit(store, ledger=ledger, jobs=1)
    assert run.stopped == "interrupted" and run.counts["audited"] == 0 and run.remaining == 3
    again = run_audit(store, ledger=ledger)
    assert again.resumed and again.round == run.round and again.finished
    _assert_resumes_clean(store, ledger, 3)
