"""validate and build on a real Dask cluster give what the local pool gives; a lost worker
changes nothing; a scheduler that is not there, or goes away, is exit 2 with nothing half-written."""
from __future__ import annotations

import json
import os
import random
import shutil
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest

from archiver.bagit.bag import make_bag
from archiver.problem_codes import CODES

REPO = Path(__file__).resolve().parents[2]
EXAMPLES = REPO / "examples" / "reports"


def archiver(cwd: Path, *args: str, timeout: float = 300) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "archiver", *args], cwd=cwd, capture_output=True,
                          text=True, timeout=timeout)


def bags_of(root: Path, count: int, files: int, size: int, seed: int = 1) -> Path:
    """`count` plain bags of `files` random files each, under root/bags; some damaged."""
    rng = random.Random(seed)
    for i in range(count):
        bag = root / "bags" / f"bag-{i:03d}"
        for j in range(files):
            path = bag / f"d{j % 4}" / f"f{j:04d}.bin"
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_bytes(rng.randbytes(rng.randint(size // 2, size)))
        make_bag(bag, jobs=1, durable=False)
    return root / "bags"


def damage(bags: Path) -> None:
    first, second, third = sorted(bags.iterdir())[:3]
    victim = next((first / "data").rglob("*.bin"))
    victim.write_bytes(b"changed" + victim.read_bytes()[7:])  # a checksum mismatch
    next((second / "data").rglob("*.bin")).unlink()  # a file the manifest lists is gone
    (third / "data" / "stray.txt").write_text("not in the manifest")


def same_data(*folders: Path) -> None:
    """Copies of one tree under each folder (relative paths then read the same everywhere)."""
    source = folders[0]
    for other in folders[1:]:
        for entry in source.iterdir():
            if entry.is_dir():
                shutil.copytree(entry, other / entry.name, symlinks=True)


def test_validate_on_the_cluster_gives_the_local_verdicts(cluster, tmp_path):
    local, remote = tmp_path / "local", tmp_path / "remote"
    local.mkdir(), remote.mkdir()
    damage(bags_of(local, 12, 20, 20_000))
    big = local / "big"  # one bag of many small files: hashed by the workers file by file
    for j in range(2500):
        path = big / f"s{j % 16:02d}" / f"f{j:05d}.txt"
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(f"file {j}\n" * (j % 50))
    make_bag(big, jobs=1, durable=False)
    victim = big / "data" / "s03" / "f00003.txt"
    victim.write_text("tampered")
    same_data(local, remote)

    profile = str(REPO / "tests" / "validate" / "profiles" / "btr-1.0.json")
    for args in (["bags"], ["big"], ["bags", "big", "--fast"], ["bags/bag-000", "bags/bag-001"],
                 ["bags", "--profile", profile]):
        here = archiver(local, "validate", "--json", *args)
        there = archiver(remote, "validate", "--json", "--cluster", cluster.address, *args)
        assert here.returncode == there.returncode == 1, (args, there.stderr)
        assert json.loads(there.stdout) == json.loads(here.stdout), args
    report = json.loads(there.stdout)["reports"]
    assert {p["code"] for r in report for p in r["problems"]} >= {"BAGIT-CHECKSUM-MISMATCH",
                                                                  "BAGIT-MANIFEST-MISSING-FILE"}
    before = tasks_done(cluster.address)
    big_report = json.loads(archiver(remote, "validate", "--json", "--cluster", cluster.address,
                                     "big").stdout)["reports"][0]
    assert ("BAGIT-CHECKSUM-MISMATCH", "data/s03/f00003.txt") in {
        (p["code"], p["path"]) for p in big_report["problems"]}
    done = tasks_done(cluster.address)
    # 2,500 files: a few tasks of many files each, not one task per file
    assert 3 <= done.get("archiver_hash_one", 0) - before.get("archiver_hash_one", 0) <= 16


def tasks_done(address: str) -> dict[str, int]:
    """How many tasks of each kind the scheduler has seen finish."""
    from distributed import Client

    def count(dask_scheduler):
        return {name: prefix.state_counts["memory"] for name, prefix in dask_scheduler.task_prefixes.items()}

    with Client(address, set_as_default=False) as client:
        return client.run_on_scheduler(count)


def test_cluster_named_in_archiver_toml(cluster, tmp_path):
    bags_of(tmp_path, 3, 2, 1000)
    (tmp_path / "archiver.toml").write_text(f'[cluster]\nscheduler = "{cluster.address}"\n')
    done = archiver(tmp_path, "validate", "-q", "bags")
    assert done.returncode == 0, done.stderr
    assert "_worker_view" in (cluster.logs / "w0.log").read_text()  # the workers were asked
    (tmp_path / "archiver.toml").write_text('[cluster]\nscheduler = "tcp://127.0.0.1:1"\n')
    assert archiver(tmp_path, "validate", "-q", "--cluster", "local", "bags").returncode == 0


def reports_for(folder: Path, count: int) -> Path:
    reports = folder / "reports"
    shutil.copytree(EXAMPLES, reports)
    rng = random.Random(7)
    words = "water market shelling night bridge convoy checkpoint hospital school".split()
    for i in range(count):
        title = " ".join(rng.choice(words) for _ in range(5)).capitalize()
        body = "\n\n".join(" ".join(rng.choice(words) for _ in range(60)) + "." for _ in range(4))
        (reports / f"r{i:03d}.txt").write_text(f"{title}\n\n\n{body}\n", encoding="utf-8")
    (reports / "empty.txt").write_bytes(b"")  # fails, with its reason
    (reports / "binary.txt").write_bytes(bytes(range(256)) * 4)
    folder_report = folder / "with-photo"  # a folder of one report and an attachment
    folder_report.mkdir()
    (folder_report / "story.txt").write_text("A folder report\n\n\nIts text.\n", encoding="utf-8")
    (folder_report / "photo.jpg").write_bytes(b"\xff\xd8\xff\xe0" + bytes(500))
    return reports


def package_files(store: Path) -> dict[str, bytes]:
    """Every file of every package, minus what records the moment of building."""
    files = {}
    for path in sorted(store.rglob("*")):
        rel = path.relative_to(store).as_posix()
        if path.is_file() and not rel.endswith(("premis.xml", "mets.xml", "bag-info.txt")) \
                and "tagmanifest-" not in rel:
            files[rel] = path.read_bytes()
    return files


def test_build_on_the_cluster_gives_the_local_packages(cluster, tmp_path):
    local, remote = tmp_path / "local", tmp_path / "remote"
    local.mkdir(), remote.mkdir()
    reports_for(local, 40)
    same_data(local, remote)
    here = archiver(local, "build", "--json", "--out", "store", "reports", "with-photo")
    there = archiver(remote, "build", "--json", "--out", "store", "reports", "with-photo",
                     "--cluster", cluster.address)
    assert here.returncode == there.returncode == 1, there.stderr
    assert json.loads(there.stdout) == json.loads(here.stdout)
    summary = json.loads(there.stdout)["summary"]
    assert summary == {"built": 44, "exists": 0, "failed": 2}
    assert package_files(remote / "store") == package_files(local / "store")
    assert [p.name for p in (remote / "store").iterdir() if p.name.startswith(".")] == []
    valid = archiver(remote, "validate", "-q", "--cluster", cluster.address, "store")
    assert valid.returncode == 0, valid.stdout + valid.stderr
    again = archiver(remote, "build", "--json", "--out", "store", "reports", "with-photo",
                     "--cluster", cluster.address)
    assert json.loads(again.stdout)["summary"] == {"built": 0, "exists": 44, "failed": 2}
    assert json.loads(again.stdout)["results"] == json.loads(
        archiver(local, "build", "--json", "--out", "store", "reports", "with-photo").stdout)["results"]


def test_a_worker_killed_mid_validation_changes_no_verdict(own_cluster, tmp_path):
    bags = bags_of(tmp_path, 16, 4, 2 << 20)
    damage(bags)
    expected = archiver(tmp_path, "validate", "--json", "bags")
    from distributed import Client

    with Client(own_cluster.address, set_as_default=False) as client:
        victim = own_cluster.workers[0]
        address = next(w for w, info in client.scheduler_info(n_workers=-1)["workers"].items()
                       if info["name"] == "w0")
        run = subprocess.Popen([sys.executable, "-m", "archiver", "validate", "--json", "--cluster",
                                own_cluster.address, "bags"], cwd=tmp_path, stdout=subprocess.PIPE,
                               stderr=subprocess.PIPE, text=True)
        deadline = time.monotonic() + 120
        while not client.processing(workers=[address])[address]:  # w0 is running a task now
            assert run.poll() is None and time.monotonic() < deadline, "w0 never got a task"
            time.sleep(0.002)
        victim.send_signal(signal.SIGKILL)
        stdout, stderr = run.communicate(timeout=300)
    assert victim.wait() == -signal.SIGKILL
    assert run.returncode == expected.returncode == 1, stderr
    assert json.loads(stdout) == json.loads(expected.stdout)
    assert "Remove worker" in (own_cluster.logs / "scheduler.log").read_text()


def dead_address() -> str:
    from dask_cluster import free_port
    return f"tcp://127.0.0.1:{free_port()}"


def test_nothing_listening_is_a_clear_error(tmp_path):
    bags_of(tmp_path, 2, 2, 100)
    reports_for(tmp_path, 2)
    (tmp_path / "archiver.toml").write_text("[cluster]\ntimeout = 2\n")
    address = dead_address()
    for args in (["validate", "bags"], ["build", "--out", "store", "reports"]):
        done = archiver(tmp_path, *args, "--cluster", address)
        assert done.returncode == 2, done.stderr
        assert done.stderr.startswith(f"error: {address}: no Dask scheduler answers there")
        assert "Traceback" not in done.stderr and done.stdout == ""
    assert not (tmp_path / "store").exists()
    assert "CLUSTER-UNREACHABLE" in CODES


def test_a_scheduler_gone_mid_build_is_exit_2_and_no_partial_package(own_cluster, tmp_path):
    reports_for(tmp_path, 300)
    run = subprocess.Popen([sys.executable, "-m", "archiver", "build", "--out", "store",
                            "--cluster", own_cluster.address, "reports"], cwd=tmp_path,
                           stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    store = tmp_path / "store"
    deadline = time.monotonic() + 120
    while not any(store.glob(".new.tmp-*")):  # the workers are writing packages
        assert run.poll() is None and time.monotonic() < deadline, run.stderr and run.stderr.read()
        time.sleep(0.005)
    own_cluster.scheduler.send_signal(signal.SIGKILL)
    stdout, stderr = run.communicate(timeout=120)
    assert run.returncode == 2, stdout + stderr
    assert stderr.startswith(f"error: {own_cluster.address}: the connection to the scheduler was lost"), stderr
    assert len(stderr.splitlines()) == 1
    for worker in own_cluster.workers:  # what a worker was still writing when the scheduler went
        worker.terminate()
        worker.wait(30)
    packages = [p for p in store.iterdir() if not p.name.startswith(".")]
    if packages:
        done = archiver(tmp_path, "validate", "-q", *(str(p) for p in packages))
        assert done.returncode == 0, done.stdout
    # never renamed into place: only the client renames, and it stopped
    assert all(p.name.startswith(".new.tmp-") for p in store.iterdir() if p.name.startswith("."))


def can_unshare() -> bool:
    return shutil.which("unshare") is not None and subprocess.run(
        ["unshare", "--mount", "true"], capture_output=True).returncode == 0


@pytest.mark.skipif(not can_unshare(), reason="needs a private mount namespace (root)")
def test_a_worker_that_does_not_share_the_storage_is_named(cluster, tmp_path):
    """The client alone sees the bags (a bind mount in its own mount namespace): the workers see
    an empty folder at the same path. No verdict, exit 2, a line naming a worker and the path."""
    private, shared = tmp_path / "private", tmp_path / "shared"
    bags_of(private, 3, 2, 1000)
    shared.mkdir()
    script = (f"mount --bind {private / 'bags'} {shared} && exec {sys.executable} -m archiver "
              f"validate --json --cluster {cluster.address} {shared}")
    done = subprocess.run(["unshare", "--mount", "--propagation", "private", "sh", "-c", script],
                          cwd=tmp_path, capture_output=True, text=True, timeout=120)
    assert done.returncode == 2, done.stdout + done.stderr
    assert done.stdout == ""
    line, = done.stderr.splitlines()
    assert line.startswith(f"error: {shared}/bag-000: worker tcp://127.0.0.1:")
    assert "cannot see it" in line
