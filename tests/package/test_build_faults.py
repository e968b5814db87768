"""Build under faults: killed at every step, then rerun; dead runs' temporaries cleaned, live
ones kept; workers end with their parent."""
from __future__ import annotations

import fcntl
import os
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

from archiver.validate import validate_bag
from faults import archiver_command, crash_every_step, processes_in_group, random_bags

EXAMPLES = Path(__file__).resolve().parents[2] / "examples" / "reports"


def _reports(tmp_path: Path, count: int = 2) -> Path:
    folder = tmp_path / "reports"
    folder.mkdir()
    for path in sorted(EXAMPLES.glob("*.txt"))[:count]:
        shutil.copy(path, folder / path.name)
    return folder


def test_build_killed_at_every_step_then_rerun_gives_valid_packages(tmp_path):
    reports, store = _reports(tmp_path), tmp_path / "store"
    cmd = archiver_command("build", "--jobs", "1", "--out", str(store), str(reports))

    def prepare():
        shutil.rmtree(store, ignore_errors=True)

    def check(n: int) -> None:
        rerun = subprocess.run(cmd, capture_output=True, text=True, timeout=120)
        assert rerun.returncode == 0, (n, rerun.stdout + rerun.stderr)
        left = sorted(p.name for p in store.iterdir())
        assert len(left) == 2 and all(name.startswith("rpt-") for name in left), (n, left)
        for name in left:
            report = validate_bag(store / name, jobs=1)
            assert report.valid and not report.warnings, (n, name, report.problems)

    steps = crash_every_step(cmd, check, prepare=prepare)
    assert steps >= 2 * 12  # per report: mkdir, copy, ten tag and manifest files; then renames


def test_the_next_build_removes_dead_runs_temporaries_and_keeps_live_ones(tmp_path):
    reports, store = _reports(tmp_path, 1), tmp_path / "store"
    store.mkdir()
    dead_old = store / ".new.tmp-0123456789ab-deadbeef"  # an archiver without the lock
    dead_locked = store / ".new.tmp-aaaaaaaaaaaa-00000001"
    live = store / ".new.tmp-bbbbbbbbbbbb-00000002"
    for folder in (dead_old, dead_locked, live):
        (folder / "data").mkdir(parents=True)
        (folder / "data" / "half.txt").write_bytes(b"half a package")
    (store / ".archiver-build-aaaaaaaaaaaa.lock").touch()  # its process is gone: nobody holds it
    holder = subprocess.Popen(  # a build still running holds its run's lock
        [sys.executable, "-c", "import fcntl, os, sys, time\n"
         f"fd = os.open({str(store / '.archiver-build-bbbbbbbbbbbb.lock')!r}, os.O_RDWR | os.O_CREAT)\n"
         "fcntl.flock(fd, fcntl.LOCK_EX); print('held', flush=True); time.sleep(60)"],
        stdout=subprocess.PIPE, text=True)
    try:
        assert holder.stdout.readline().strip() == "held"
        done = subprocess.run(archiver_command("build", "--out", str(store), str(reports)),
                              capture_output=True, text=True, timeout=120)
        assert done.returncode == 0, done.stdout + done.stderr
        assert not dead_old.exists() and not dead_locked.exists()
        assert not (store / ".archiver-build-aaaaaaaaaaaa.lock").exists()
        assert live.is_dir() and (store / ".archiver-build-bbbbbbbbbbbb.lock").exists()
    finally:
        holder.kill()
        holder.wait()
    fd = os.open(store / ".archiver-build-bbbbbbbbbbbb.lock", os.O_RDWR)
    fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)  # free again once its holder is gone
    os.close(fd)


def _kill_parent_once_workers_run(cmd: list[str], workers: int, cwd=None) -> list[int]:
    """Start `cmd` in a group of its own, SIGKILL its first process as soon as `workers`
    more processes of the group exist, and return the group's processes still alive 10 s
    later (none, when workers end with their parent)."""
    proc = subprocess.Popen(cmd, cwd=cwd, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                            start_new_session=True)
    try:
        deadline = time.monotonic() + 60
        while len(processes_in_group(proc.pid)) < workers + 1:
            assert proc.poll() is None, "finished before its workers could be seen"
            assert time.monotonic() < deadline, "no workers started"
            time.sleep(0.005)
        os.kill(proc.pid, signal.SIGKILL)
        proc.wait()
        deadline = time.monotonic() + 10
        while (left := processes_in_group(proc.pid)) and time.monotonic() < deadline:
            time.sleep(0.05)
        return left
    finally:
        for pid in processes_in_group(proc.pid):
            os.kill(pid, signal.SIGKILL)


def test_build_workers_end_when_the_build_is_killed(tmp_path):
    reports = tmp_path / "reports"
    reports.mkdir()
    seed = sorted(EXAMPLES.glob("*.txt"))[0].read_text(encoding="utf-8")
    for i in range(300):
        (reports / f"r{i:03}.txt").write_text(f"{seed}\n{i}\n", encoding="utf-8")
    cmd = archiver_command("build", "--no-fsync", "--jobs", "2", "--out", str(tmp_path / "store"),
                           str(reports))
    assert _kill_parent_once_workers_run(cmd, 2) == []


def test_validate_record_hashing_workers_end_when_validate_is_killed(tmp_path):
    from archiver.bagit.bag import make_bag

    bag = tmp_path / "bag"
    bag.mkdir()
    block = os.urandom(8192)
    for i in range(4000):
        (bag / f"f{i:04}.bin").write_bytes(block + i.to_bytes(4, "big"))
    make_bag(bag, durable=False, jobs=1)
    # --jobs 3: two hashing workers (the validating process is the third hasher)
    cmd = archiver_command("validate", "--record", "--jobs", "3", str(bag))
    assert _kill_parent_once_workers_run(cmd, 2) == []


def test_validate_side_by_side_workers_end_when_validate_is_killed(tmp_path):
    random_bags(tmp_path / "bags", 40, 100, 2048)
    cmd = archiver_command("validate", "--jobs", "2", str(tmp_path / "bags"))
    assert _kill_parent_once_workers_run(cmd, 2) == []
