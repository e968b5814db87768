"""One audit at a time per ledger: a second run is refused with a clear message (exit 2),
and the lock dies with its holder, however it dies."""
from __future__ import annotations

import signal
import subprocess
import sys

import pytest

from archiver.audit import LedgerError
from archiver.audit.ledger import Ledger

from auditkit import cli, run_audit

HOLD = """
import sys, time
from archiver.audit.ledger import Ledger
db = Ledger.open(sys.argv[1])
print("holding", flush=True)
time.sleep(120)
"""


def _holder(ledger) -> subprocess.Popen:
    """Another process holding the ledger as a running audit does (its writer's open)."""
    proc = subprocess.Popen([sys.executable, "-c", HOLD, str(ledger)], stdout=subprocess.PIPE,
                            text=True)
    assert proc.stdout.readline().strip() == "holding"
    return proc


def test_second_audit_refused_while_one_runs(store, ledger):
    run_audit(store, ledger=ledger)
    holder = _holder(ledger)
    try:
        second = cli("audit", store, "--ledger", ledger)
        assert second.returncode == 2, second.stdout + second.stderr
        assert "another audit is using this ledger" in second.stderr
        assert f"process {holder.pid}" in second.stderr
        assert "Traceback" not in second.stderr
        with pytest.raises(LedgerError):
            run_audit(store, ledger=ledger)
        # reading stays possible while an audit runs
        assert cli("audit", "--check-ledger", "--ledger", ledger).returncode == 0
    finally:
        holder.kill()
        holder.wait()
    with Ledger.open(ledger, readonly=True) as db:
        assert db.check() == [] and len(db.rounds()) == 1  # the refused runs opened no round


def test_lock_released_by_a_killed_holder(store, ledger):
    holder = _holder(ledger)
    holder.send_signal(signal.SIGKILL)
    holder.wait()
    again = cli("audit", store, "--ledger", ledger, "-q")
    assert again.returncode == 0, again.stdout + again.stderr


def test_lock_released_on_close(store, ledger):
    run_audit(store, ledger=ledger)
    run = run_audit(store, ledger=ledger)  # the same process, one after the other
    assert run.finished and not run.found


def test_audits_started_together(store, ledger):
    """Several audits started at once on a new ledger: each one either audits or is refused,
    never a traceback, and the ledger holds each package once, intact."""
    from faults import archiver_command

    procs = [subprocess.Popen(archiver_command("audit", str(store), "--ledger", str(ledger), "-q"),
                              stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
             for _ in range(3)]
    outs = [(p.wait(timeout=300), *p.communicate()) for p in procs]
    for rc, out, err in outs:
        assert rc in (0, 2) and "Traceback" not in err, (rc, out, err)
        if rc == 2:
            assert "another audit is using this ledger" in err
    assert any(rc == 0 for rc, _, _ in outs)
    with Ledger.open(ledger, readonly=True) as db:
        assert db.check() == []
        assert db.db.execute("SELECT COUNT(*) FROM packages").fetchone()[0] == 3
