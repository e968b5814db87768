"""Helpers of the web view's tests: the reports they package and `archiver serve` as a process."""
from __future__ import annotations

import json
import os
import re
import subprocess
import sys
import time
import urllib.error
import urllib.request
from dataclasses import dataclass
from pathlib import Path


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
    ledger: Path            # the audit ledger
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


class Server:
    """`archiver serve` as a user starts it, on a free port of 127.0.0.1."""

    def __init__(self, store: Path, index: Path, *args: str, env: dict | None = None,
                 cwd: Path | None = None):
        self.log = index.with_suffix(".log")
        # no default ledger of the machine's: a test names the ledger it means
        env = {**(env if env is not None else os.environ), "XDG_DATA_HOME": str(index.parent / "data")}
        self.process = subprocess.Popen(
            [sys.executable, "-m", "archiver", "serve", str(store), "--port", "0",
             "--index", str(index), *args],
            stdout=subprocess.PIPE, stderr=open(self.log, "w"), text=True, env=env, cwd=cwd)
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
