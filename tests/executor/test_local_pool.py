"""The local pool when one of its workers dies on its own (the OOM killer, a stray kill -9):
the run stops with a clear error instead of waiting for ever, and what it left is sound."""
from __future__ import annotations

import os
import signal
import subprocess
import time
from pathlib import Path

from archiver.validate import validate_bag
from faults import archiver_command, processes_in_group, random_bags

EXAMPLES = Path(__file__).resolve().parents[2] / "examples" / "reports"


def _kill_one_worker(cmd: list[str], workers: int) -> subprocess.CompletedProcess:
    """Run `cmd` in a group of its own, SIGKILL one of its workers (never the command itself)
    once `workers` of them run, and wait (60 s at most) for the command to end."""
    proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                            start_new_session=True)
    try:
        deadline = time.monotonic() + 60
        while len(others := [p for p in processes_in_group(proc.pid) if p != proc.pid]) < workers:
            assert proc.poll() is None, "finished before its workers could be seen"
            assert time.monotonic() < deadline, "no workers started"
            time.sleep(0.005)
        os.kill(others[0], signal.SIGKILL)
        out, err = proc.communicate(timeout=60)  # multiprocessing.Pool waited here for ever
        return subprocess.CompletedProcess(cmd, proc.returncode, out, err)
    finally:
        for pid in processes_in_group(proc.pid):
            os.kill(pid, signal.SIGKILL)
        proc.wait()


def test_build_stops_when_a_worker_dies_and_the_rerun_completes(tmp_path):
    reports, store = tmp_path / "reports", tmp_path / "store"
    reports.mkdir()
    seed = sorted(EXAMPLES.glob("*.txt"))[0].read_text(encoding="utf-8")
    for i in range(600):
        (reports / f"r{i:03}.txt").write_text(f"{seed}\n{i}\n", encoding="utf-8")
    cmd = archiver_command("build", "--no-fsync", "--jobs", "2", "--out", str(store), str(reports))
    done = _kill_one_worker(cmd, 2)
    assert done.returncode == 2, done.stdout + done.stderr
    assert "worker process died" in done.stderr and "Traceback" not in done.stderr
    built = [p for p in store.iterdir() if p.name.startswith("rpt-")]
    assert len(built) < 600
    assert not [p for p in store.iterdir() if p.name.startswith(".new.tmp-")]  # no partial package
    for package in built[:20]:
        assert validate_bag(package, jobs=1).valid
    rerun = subprocess.run(cmd, capture_output=True, text=True, timeout=300)
    assert rerun.returncode == 0, rerun.stdout + rerun.stderr
    assert len([p for p in store.iterdir() if p.name.startswith("rpt-")]) == 600


def test_validate_side_by_side_stops_when_a_worker_dies(tmp_path):
    random_bags(tmp_path / "bags", 60, 200, 4096)
    done = _kill_one_worker(archiver_command("validate", "--jobs", "2", str(tmp_path / "bags")), 2)
    assert done.returncode == 2, done.stdout + done.stderr
    assert "worker process died" in done.stderr and "Traceback" not in done.stderr
    assert " valid, " not in done.stdout  # no summary as if every bag had been judged
