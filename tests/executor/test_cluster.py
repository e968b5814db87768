"""validate, audit and build on a real Dask cluster give what the local pool gives; a lost
worker changes nothing; a scheduler that is not there, or goes away, is exit 2 with nothing
half-written."""
from __future__ import annotations

import json
import os
import random
import re
import shutil
import signal
import subprocess
import sys
import tarfile
import time
import zipfile
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
    before = tasks_done(cluster.address).get("archiver_read_group", 0)
    done = archiver(tmp_path, "audit", "-q", "--ledger", "ledger.sqlite", "bags")
    assert done.returncode == 0, done.stderr
    assert tasks_done(cluster.address).get("archiver_read_group", 0) > before
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


def with_w0_killed(cluster, cwd: Path, *args: str) -> subprocess.CompletedProcess:
    """`archiver ARGS --cluster`, with worker w0 killed while it runs one of the command's tasks."""
    from distributed import Client

    with Client(cluster.address, set_as_default=False) as client:
        victim = cluster.workers[0]
        address = next(w for w, info in client.scheduler_info(n_workers=-1)["workers"].items()
                       if info["name"] == "w0")
        cmd = [sys.executable, "-m", "archiver", *args, "--cluster", cluster.address]
        run = subprocess.Popen(cmd, cwd=cwd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        deadline = time.monotonic() + 120
        while not client.processing(workers=[address])[address]:  # w0 is running a task now
            assert run.poll() is None and time.monotonic() < deadline, "w0 never got a task"
            time.sleep(0.002)
        victim.send_signal(signal.SIGKILL)
        stdout, stderr = run.communicate(timeout=300)
    assert victim.wait() == -signal.SIGKILL
    assert "Remove worker" in (cluster.logs / "scheduler.log").read_text()
    return subprocess.CompletedProcess(cmd, run.returncode, stdout, stderr)


def test_a_worker_killed_mid_validation_changes_no_verdict(own_cluster, tmp_path):
    bags = bags_of(tmp_path, 16, 4, 2 << 20)
    damage(bags)
    expected = archiver(tmp_path, "validate", "--json", "bags")
    done = with_w0_killed(own_cluster, tmp_path, "validate", "--json", "bags")
    assert done.returncode == expected.returncode == 1, done.stderr
    assert json.loads(done.stdout) == json.loads(expected.stdout)


def audit_json(done: subprocess.CompletedProcess) -> dict:
    """An audit's --json, less what differs between two ledgers of the same audits: the file,
    the times of earlier audits that findings cite, the head of the hash chain (over times)."""
    doc = json.loads(re.sub(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d+)?Z", "TIME", done.stdout))
    for key in ("ledger", "head"):
        doc["summary"].pop(key)
    return doc


def audit_both(cwd: Path, address: str, *args: str) -> tuple[dict, int]:
    """The same audit locally (ledger local.sqlite) and on the cluster (cluster.sqlite): the
    --json of both, identical, and their exit status."""
    here = archiver(cwd, "audit", "--json", "--ledger", "local.sqlite", *args)
    there = archiver(cwd, "audit", "--json", "--ledger", "cluster.sqlite", "--cluster", address, *args)
    assert here.returncode == there.returncode, (args, here.stderr, there.stderr)
    assert audit_json(there) == audit_json(here), args
    return audit_json(there), there.returncode


def packages_of_every_kind(folder: Path) -> list[str]:
    """Under folder: plain bags, archiver packages, the packages serialized (.zip, .tar.gz) and
    deposited into an OCFL storage root; the locations to audit, relative to folder."""
    from archiver.deposit import deposit
    from archiver.package.build import build

    bags_of(folder, 12, 20, 20_000)
    store = folder / "store"
    assert all(r.status == "built" for r in build([str(EXAMPLES)], str(store), durable=False, jobs=1))
    archives = folder / "archives"
    archives.mkdir()
    for package in sorted(store.iterdir()):
        with zipfile.ZipFile(archives / f"{package.name}.zip", "w", zipfile.ZIP_DEFLATED) as zf:
            for path in sorted(package.rglob("*")):
                zf.write(path, f"{package.name}/{path.relative_to(package)}")
        with tarfile.open(archives / f"{package.name}.tar.gz", "w:gz") as tf:
            tf.add(package, package.name)
    assert all(r.ok for r in deposit([str(store)], f"ocfl:{folder / 'repository'}"))
    return ["bags", "store", "archives", "repository"]


def test_audit_on_the_cluster_gives_the_local_results(cluster, tmp_path):
    locations = packages_of_every_kind(tmp_path)
    before = tasks_done(cluster.address)
    first, status = audit_both(tmp_path, cluster.address, *locations)
    assert status == 0 and first["summary"]["first_seen"] == first["summary"]["audited"] == 24
    assert {p["kind"] for p in first["packages"]} == {"bag", "zip", "tar", "ocfl"}
    # several packages a task: 24 packages, 2 worker threads
    tasks = tasks_done(cluster.address).get("archiver_read_group", 0) - before.get("archiver_read_group", 0)
    assert 3 <= tasks <= 12

    damage(tmp_path / "bags")
    targz = sorted((tmp_path / "archives").glob("*.tar.gz"))[0]
    data = bytearray(targz.read_bytes())
    data[len(data) // 2:len(data) // 2 + 64] = bytes(64)
    targz.write_bytes(bytes(data))
    content = sorted((tmp_path / "repository").rglob("v1/content/data/*"))[0]
    content.write_bytes(content.read_bytes() + b"!")
    second, status = audit_both(tmp_path, cluster.address, *locations)
    assert status == 1
    assert {f["code"] for p in second["packages"] for f in p["findings"]} >= {
        "AUDIT-FILE-CHANGED", "AUDIT-FILE-MISSING", "AUDIT-FILE-NEW", "AUDIT-ARCHIVE-DAMAGED"}

    # a bounded run stops both at the same package, and the next resumes the round alike
    limited, _ = audit_both(tmp_path, cluster.address, "--limit", "1MB", *locations)
    assert limited["summary"]["stopped"] == "limit" and limited["summary"]["remaining"] > 0
    resumed, _ = audit_both(tmp_path, cluster.address, *locations)
    assert resumed["summary"]["resumed"] and resumed["summary"]["round_finished"]
    assert resumed["summary"]["done_before"] == limited["summary"]["audited"]

    # one package: read by this process, its files hashed by the workers
    before = tasks_done(cluster.address)
    one, status = audit_both(tmp_path, cluster.address, "bags/bag-000")
    assert status == 1 and [f["code"] for f in one["packages"][0]["findings"]] == ["AUDIT-FILE-CHANGED"]
    assert tasks_done(cluster.address).get("archiver_hash_one", 0) > before.get("archiver_hash_one", 0)


def test_a_package_gone_mid_audit_is_judged_as_locally_not_blamed_on_the_storage(cluster, tmp_path):
    """A package removed after the audit listed it: the worker does not see it, nor does this
    machine, so it is the package's finding (as in a local run), not CLUSTER-STORAGE-NOT-SHARED."""
    from archiver.audit import audit

    results = []
    for name, where in (("local", None), ("cluster", cluster.address)):
        store = bags_of(tmp_path / name, 12, 2, 1000)
        last = sorted(store.iterdir())[-1]

        def remove_the_last(result, last=last):  # after the first package: the last is not yet read
            if last.exists():
                shutil.rmtree(last)

        run = audit([str(store)], ledger=tmp_path / f"{name}.sqlite", config={}, jobs=2,
                    progress=remove_the_last, cluster=where)
        results.append([(Path(r.location).name, r.outcome, [f.code for f in r.findings])
                        for r in run.results])
    assert results[0] == results[1]
    assert results[1][-1] == ("bag-011", "found", ["AUDIT-PACKAGE-UNREADABLE"])


def test_a_worker_killed_mid_audit_changes_nothing(own_cluster, tmp_path):
    bags = bags_of(tmp_path, 16, 4, 2 << 20)
    for ledger in ("local.sqlite", "cluster.sqlite"):  # both know the packages as first seen
        assert archiver(tmp_path, "audit", "-q", "--ledger", ledger, "bags").returncode == 0
    damage(bags)
    expected = archiver(tmp_path, "audit", "--json", "--ledger", "local.sqlite", "bags")
    done = with_w0_killed(own_cluster, tmp_path, "audit", "--json", "--ledger", "cluster.sqlite", "bags")
    assert done.returncode == expected.returncode == 1, done.stderr
    assert audit_json(done) == audit_json(expected)
    check = archiver(tmp_path, "audit", "--check-ledger", "--ledger", "cluster.sqlite")
    assert check.returncode == 0 and "ledger intact" in check.stdout, check.stdout
    # what the cluster's run wrote into its ledger judges the next round as the local one does
    later = [audit_json(archiver(tmp_path, "audit", "--json", "--ledger", ledger, "bags"))
             for ledger in ("local.sqlite", "cluster.sqlite")]
    assert later[0] == later[1] and later[0]["summary"]["found"] == 3


def test_a_scheduler_gone_mid_audit_is_exit_2_and_the_next_run_resumes(own_cluster, tmp_path):
    import sqlite3

    few = bags_of(tmp_path / "few", 40, 2, 4000)
    bags = tmp_path / "bags"
    for i in range(400):  # hard-linked copies under new names: 400 packages, quickly made
        shutil.copytree(few / f"bag-{i % 40:03d}", bags / f"bag-{i:03d}", copy_function=os.link)
    ledger = tmp_path / "ledger.sqlite"

    def committed() -> int:  # packages whose first audit the ledger holds
        try:
            with sqlite3.connect(f"file:{ledger}?mode=ro", uri=True) as db:
                return db.execute("SELECT COUNT(*) FROM packages").fetchone()[0]
        except sqlite3.Error:  # not made yet
            return 0

    # the scheduler killed once a first batch of packages is judged and in the ledger
    with_scheduler_killed(own_cluster, tmp_path, committed, "audit", "--ledger", str(ledger), "-q", "bags")
    check = archiver(tmp_path, "audit", "--check-ledger", "--ledger", str(ledger))
    assert check.returncode == 0 and "ledger intact" in check.stdout, check.stdout
    # the round stays open: the next run (here, local) audits what is left, each package once
    rest = json.loads(archiver(tmp_path, "audit", "--json", "--ledger", str(ledger), "bags").stdout)
    s = rest["summary"]
    assert s["resumed"] and s["round_finished"] and s["round"] == 1
    assert s["done_before"] > 0 and s["audited"] > 0 and s["done_before"] + s["audited"] == 400
    assert s["first_seen"] == s["audited"] and s["found"] == 0  # what was judged was kept


def dead_address() -> str:
    from dask_cluster import free_port
    return f"tcp://127.0.0.1:{free_port()}"


def test_nothing_listening_is_a_clear_error(tmp_path):
    bags_of(tmp_path, 2, 2, 100)
    reports_for(tmp_path, 2)
    (tmp_path / "archiver.toml").write_text("[cluster]\ntimeout = 2\n")
    address = dead_address()
    for args in (["validate", "bags"], ["build", "--out", "store", "reports"],
                 ["audit", "--ledger", "ledger.sqlite", "bags"]):
        done = archiver(tmp_path, *args, "--cluster", address)
        assert done.returncode == 2, done.stderr
        assert done.stderr.startswith(f"error: {address}: no Dask scheduler answers there")
        assert "Traceback" not in done.stderr and done.stdout == ""
    assert not (tmp_path / "store").exists() and not (tmp_path / "ledger.sqlite").exists()
    assert "CLUSTER-UNREACHABLE" in CODES


def with_scheduler_killed(cluster, cwd: Path, until, *args: str) -> None:
    """`archiver ARGS --cluster`, its scheduler killed once until() is true: exit 2 and one line."""
    run = subprocess.Popen([sys.executable, "-m", "archiver", *args, "--cluster", cluster.address],
                           cwd=cwd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    deadline = time.monotonic() + 120
    while not until():
        assert run.poll() is None and time.monotonic() < deadline, run.stderr and run.stderr.read()
        time.sleep(0.005)
    cluster.scheduler.send_signal(signal.SIGKILL)
    stdout, stderr = run.communicate(timeout=120)
    assert run.returncode == 2, stdout + stderr
    assert stderr.startswith(f"error: {cluster.address}: the connection to the scheduler was lost"), stderr
    assert len(stderr.splitlines()) == 1


def test_a_scheduler_gone_mid_build_is_exit_2_and_no_partial_package(own_cluster, tmp_path):
    reports_for(tmp_path, 300)
    store = tmp_path / "store"
    # the scheduler killed while the workers are writing packages
    with_scheduler_killed(own_cluster, tmp_path, lambda: any(store.glob(".new.tmp-*")),
                          "build", "--out", "store", "reports")
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
    for command in ("validate", f"audit --ledger {tmp_path / 'ledger.sqlite'}"):
        script = (f"mount --bind {private / 'bags'} {shared} && exec {sys.executable} -m archiver "
                  f"{command} --json --cluster {cluster.address} {shared}")
        done = subprocess.run(["unshare", "--mount", "--propagation", "private", "sh", "-c", script],
                              cwd=tmp_path, capture_output=True, text=True, timeout=120)
        assert done.returncode == 2, done.stdout + done.stderr
        assert done.stdout == ""
        line, = done.stderr.splitlines()
        assert line.startswith(f"error: {shared}/bag-000: worker tcp://127.0.0.1:"), command
        assert "cannot see it" in line
    assert not (tmp_path / "ledger.sqlite").exists()  # checked before the ledger is opened
