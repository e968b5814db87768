"""Interrupted audits: killed at every step of `audit --record`, and at random moments of a
store's audit (several trials); the next run finishes the job and the ledger stays intact."""
from __future__ import annotations

import os
import random
import shutil
import signal
import subprocess
import time

import pytest

from archiver.audit.ledger import Ledger
from archiver.package import record as package_record
from archiver.validate import validate_bag

from auditkit import cli, run_audit
from faults import archiver_command, run_killed_at, steps_of

# Between its first staged file and its last rename, record_event leaves a package that only
# its own recovery (issue 13, package/record.py `recover`) completes; until that lands, a
# kill in that window leaves temporaries and an unmatched premis.xml for the audit to report.
RECOVERS = hasattr(package_record, "recover")


def _fresh(base, tmp_path, n):
    work = tmp_path / f"run{n}"
    shutil.copytree(base, work)
    return work / "package", work / "ledger.sqlite"


def test_record_killed_at_every_step(store, tmp_path):
    base = tmp_path / "base"
    base.mkdir()
    shutil.copytree(sorted(store.iterdir())[0], base / "package")
    assert not run_audit(base / "package", ledger=base / "ledger.sqlite").found
    package, ledger = _fresh(base, tmp_path, "count")
    steps = steps_of(archiver_command("audit", package, "--ledger", ledger, "--record", "-q"))
    assert any("rename" in s for s in steps) and sum("commit ledger" in s for s in steps) >= 3
    file_steps = [i for i, s in enumerate(steps, 1) if "commit ledger" not in s]
    window = set(file_steps[1:])  # after the first staged file, before the last rename
    failures, tolerated = [], []
    for n in range(1, len(steps) + 1):
        package, ledger = _fresh(base, tmp_path, n)
        run_killed_at(archiver_command("audit", package, "--ledger", ledger, "--record", "-q"), n)
        with Ledger.open(ledger, readonly=True) as db:
            assert db.check() == [], n
        what = steps[n - 1].split(" ", 2)[2]
        again = cli("audit", package, "--ledger", ledger, "--record", "--json")
        after = cli("audit", package, "--ledger", ledger, "--json")
        ok = again.returncode == 0 and after.returncode == 0 and validate_bag(package).valid
        if not ok:
            (tolerated if n in window and not RECOVERS else failures).append((n, what, again.stdout[-800:]))
        assert "AUDIT-REWRITTEN" not in again.stdout + after.stdout, (n, what)
        with Ledger.open(ledger, readonly=True) as db:
            assert db.check() == [], n
            assert db.db.execute("SELECT COUNT(*) FROM pending").fetchone()[0] == 0, n
    assert failures == []
    print("left to record_event recovery:", [(n, w) for n, w, _ in tolerated])
    assert len(tolerated) <= len(window)


def _many(store, count):
    for package in list(store.iterdir()):
        for i in range(count // 3):
            shutil.copytree(package, store / f"{package.name}-{i:03d}")
    return sum(1 for _ in store.iterdir())


@pytest.mark.parametrize("trial", range(4))
def test_killed_at_a_random_moment_then_finished(store, tmp_path, trial):
    total = _many(store, 60)
    ledger = tmp_path / "ledger.sqlite"
    rng = random.Random(trial)
    proc = subprocess.Popen(archiver_command("audit", store, "--ledger", ledger, "-q", "-j", "2"),
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                            start_new_session=True)
    time.sleep(rng.uniform(0.3, 1.5))
    os.killpg(proc.pid, signal.SIGKILL)
    proc.wait()
    done = cli("audit", store, "--ledger", ledger, "--json")
    assert done.returncode == 0, done.stdout[-2000:] + done.stderr
    with Ledger.open(ledger, readonly=True) as db:
        assert db.check() == []
        latest = db.rounds(limit=1)[0]
        assert latest.finished and latest.packages == total
        per_package = db.db.execute(
            "SELECT COUNT(*) FROM records WHERE kind='audit' AND json_extract(body, '$.round')=? "
            "GROUP BY package", (latest.id,)).fetchall()
        assert len(per_package) == total and {n for (n,) in per_package} == {1}
