"""A real store for the web view, built with archiver's own commands, and `archiver serve` on it.

The store holds: the three seed reports (one deposited into a local OCFL root, so it has a
receipt; one damaged and validated with --record, so its last check failed), a report with a
source URL and dates from a sidecar whose commenters' names are withheld, a hostile report
(script in its title, a comment and its file name), a package whose report.json is not JSON,
a package whose manifest lists a link out of the store, and a link to a package outside the
store.
"""
from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
import time
import urllib.error
import urllib.request
from dataclasses import dataclass
from pathlib import Path

import pytest

from seeds import SEED_000, SEED_002, SEED_003

HOSTILE_NAME = "<img src=x onerror=alert(1)>.txt"
HOSTILE_TITLE = '<script>window.__pwned = 1; alert("title")</script> Hostile <b>title</b>'
HOSTILE = f"""{HOSTILE_TITLE}

<i>Kicker</i> with markup

The first paragraph says zebrafinch, a word no other report holds, and enough text around it for the language to be told: the city was without power for a week, and the families had no news of their children.

A second paragraph with an <iframe src="javascript:alert(2)"></iframe> inside it, which must stay text.

  1. <script>window.__pwned = 2</script>Mallory
    November 20, 2015 - 11:03 pm

    A comment holding <img src=x onerror="window.__pwned = 3"> markup.
""".encode()

SIDECAR = {"source_url": "https://www.raqqa-sl.com/en/?p=5678", "publisher": "Raqqa is Being Slaughtered Silently",
           "issued": "2017-06-13", "captured": "2017-06-14T10:00:00Z", "withhold_commenter_names": True}


def archiver(*args: str, cwd: Path | None = None, env: dict | None = None,
             check: bool = True) -> subprocess.CompletedProcess:
    done = subprocess.run([sys.executable, "-m", "archiver", *args], cwd=cwd, capture_output=True,
                          text=True, timeout=300, env=env)
    if check:
        assert done.returncode == 0, done.stdout + done.stderr
    return done


def package_of(store: Path, source_name: str) -> Path:
    for bag in store.iterdir():
        if bag.is_symlink():
            continue
        try:
            if json.loads((bag / "metadata" / "report.json").read_text())["source"]["name"] == source_name:
                return bag
        except (OSError, ValueError):
            continue
    raise LookupError(source_name)


@dataclass
class Store:
    path: Path
    outside: Path           # a package outside the store, linked into it
    seed000: Path           # deposited: a receipt and a replication event
    seed002: Path           # damaged, then validated with --record: its last check failed
    seed003: Path
    sidecar: Path           # source URL, dates, withheld names
    hostile: Path
    broken: Path            # report.json is not JSON
    linking: Path           # its manifest lists data/passwd, a link to /etc/passwd

    @property
    def packages(self) -> list[Path]:
        return [self.seed000, self.seed002, self.seed003, self.sidecar, self.hostile,
                self.broken, self.linking]


@pytest.fixture(scope="session")
def store(tmp_path_factory) -> Store:
    base = tmp_path_factory.mktemp("serve")
    inputs = base / "inputs"
    inputs.mkdir()
    for seed in (SEED_000, SEED_002, SEED_003):
        shutil.copy(seed, inputs / seed.name)
    (inputs / HOSTILE_NAME).write_bytes(HOSTILE)
    path = base / "packages"
    archiver("build", str(inputs), "--out", str(path), "--no-fsync", "-q")

    # the sidecar report: seed 000 with a line more (another package), names withheld
    single = base / "single"
    single.mkdir()
    (single / "with-sidecar.txt").write_bytes(SEED_000.read_bytes() + b"\n")
    (single / "with-sidecar.txt.meta.json").write_text(json.dumps(SIDECAR))
    archiver("build", str(single / "with-sidecar.txt"), "--out", str(path), "--no-fsync", "-q")

    seed000 = package_of(path, SEED_000.name)
    archiver("deposit", str(seed000), "--to", f"ocfl:{base / 'ocfl'}", "-q")

    seed002 = package_of(path, SEED_002.name)
    payload = seed002 / "data" / SEED_002.name
    payload.write_bytes(payload.read_bytes().replace(b"Raqqa", b"Rakka", 1))
    assert archiver("validate", "--record", str(seed002), check=False).returncode == 1

    # a package with unreadable metadata, and one whose manifest lists a link out of the store
    extra = base / "extra"
    extra.mkdir()
    (extra / "broken.txt").write_text("A broken package\n\nIts report.json will not be JSON. "
                                      "The text is long enough to be a report.\n")
    (extra / "linking.txt").write_text("A package with a link\n\nIts manifest will list a file "
                                       "that is a link to a file outside the store.\n")
    archiver("build", str(extra), "--out", str(path), "--no-fsync", "-q")
    broken = package_of(path, "broken.txt")
    linking = package_of(path, "linking.txt")
    (broken / "metadata" / "report.json").write_text("{not json")
    os.symlink("/etc/passwd", linking / "data" / "passwd")
    with open(linking / "manifest-sha256.txt", "a") as f:
        f.write(f"{'0' * 64}  data/passwd\n")

    outside = base / "elsewhere"
    archiver("build", str(SEED_003), "--out", str(outside), "--no-fsync", "-q")
    outside_bag = next(outside.iterdir())
    # another name than the packages (seed 003 is in the store too): a link is never followed
    os.symlink(outside_bag, path / "rpt-linked-from-outside")
    return Store(path=path, outside=outside_bag, seed000=seed000, seed002=seed002,
                 seed003=package_of(path, SEED_003.name),
                 sidecar=package_of(path, "with-sidecar.txt"), hostile=package_of(path, HOSTILE_NAME),
                 broken=broken, linking=linking)


class Server:
    """`archiver serve` as a user starts it, on a free port of 127.0.0.1."""

    def __init__(self, store: Path, index: Path, *args: str, env: dict | None = None):
        self.log = index.with_suffix(".log")
        self.process = subprocess.Popen(
            [sys.executable, "-m", "archiver", "serve", str(store), "--port", "0",
             "--index", str(index), *args],
            stdout=subprocess.PIPE, stderr=open(self.log, "w"), text=True, env=env)
        line = self.process.stdout.readline()
        match = re.search(r"(http://127\.0\.0\.1:\d+/)", line)
        if not match:
            self.stop()
            raise RuntimeError(f"archiver serve did not start: {line!r} {self.log.read_text()}")
        self.url = match.group(1)

    def get(self, path: str, headers: dict | None = None) -> tuple[int, dict, bytes]:
        request = urllib.request.Request(self.url + path.lstrip("/"), headers=headers or {})
        try:
            with urllib.request.urlopen(request, timeout=30) as r:
                return r.status, dict(r.headers), r.read()
        except urllib.error.HTTPError as e:
            return e.code, dict(e.headers), e.read()

    def json(self, path: str) -> dict:
        status, _, body = self.get(path)
        assert status == 200, (path, status, body[:500])
        return json.loads(body)

    def wait_indexed(self, timeout: float = 60) -> dict:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            index = self.json("/api/health")["index"]
            if index["complete"]:
                return index
            time.sleep(0.1)
        raise AssertionError("the index did not complete")

    def stop(self) -> None:
        if self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()
        self.process.stdout.close()


@pytest.fixture(scope="session")
def server(store, tmp_path_factory):
    s = Server(store.path, tmp_path_factory.mktemp("index") / "index.sqlite3", "--refresh", "0.5")
    s.wait_indexed()
    yield s
    s.stop()
