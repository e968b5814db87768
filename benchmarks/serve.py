#!/usr/bin/env python
"""How fast `archiver serve` lists a large store (issue 19: 100,000 packages in under a second).

    python benchmarks/serve.py [--packages 100000] [--rounds 5] [--json FILE]

Generates (once, under benchmarks/data/serve-N/, git-ignored) a store of N minimal archiver
packages: bagit.txt, bag-info.txt, metadata/report.json (a title and two paragraphs of seeded
words) and metadata/premis.xml (a creation event; one package in 50 also a failed fixity
check). That is all the list reads; payloads are left out to spare the disk. Then it starts
`archiver serve` on the store with a new catalogue and times, as a browser would fetch them:
the first indexing, the list's first page (HTML and JSON), a deep page, sorts, a filter, a
search, the health page, and a restart on the same catalogue (nothing to read again). With
--ledger, the store is audited once (`archiver audit`, its ledger kept beside the data) and
served with that ledger, so every row carries an audit.
"""
from __future__ import annotations

import argparse
import json
import os
import random
import re
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))
from run import WORDS  # noqa: E402  (the same seeded vocabulary as the other benchmarks)

REPO = HERE.parent
SEED = 20261201
PROFILE = "https://archiver.example.org/profiles/report-package/v1.json"
PREMIS = """<?xml version='1.0' encoding='UTF-8'?>
<premis:premis xmlns:premis="http://www.loc.gov/premis/v3" version="3.0">
{events}</premis:premis>
"""
EVENT = """  <premis:event>
    <premis:eventIdentifier><premis:eventIdentifierType>UUID</premis:eventIdentifierType><premis:eventIdentifierValue>{id}</premis:eventIdentifierValue></premis:eventIdentifier>
    <premis:eventType authority="eventType" authorityURI="http://id.loc.gov/vocabulary/preservation/eventType" valueURI="http://id.loc.gov/vocabulary/preservation/eventType/{type}">{type}</premis:eventType>
    <premis:eventDateTime>{time}</premis:eventDateTime>
    <premis:eventOutcomeInformation><premis:eventOutcome>{outcome}</premis:eventOutcome>{detail}</premis:eventOutcomeInformation>
  </premis:event>
"""


def _write(path: Path, data: bytes) -> None:
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o644)
    try:
        os.write(fd, data)
    finally:
        os.close(fd)


def generate(store: Path, count: int) -> None:
    rng = random.Random(SEED)
    store.mkdir(parents=True, exist_ok=True)
    for i in range(count):
        name = f"rpt-{i:020x}"
        bag = store / name
        (bag / "metadata").mkdir(parents=True, exist_ok=True)
        title = " ".join(rng.choices(WORDS, k=rng.randint(4, 9))).capitalize()
        body = [" ".join(rng.choices(WORDS, k=rng.randint(30, 60))) for _ in range(2)]
        size = rng.randint(2_000, 200_000)
        day = f"20{rng.randint(12, 25):02d}-{rng.randint(1, 12):02d}-{rng.randint(1, 28):02d}"
        _write(bag / "bagit.txt", b"BagIt-Version: 1.0\nTag-File-Character-Encoding: UTF-8\n")
        _write(bag / "bag-info.txt", (f"Source-Organization: Newsroom {i % 40}\nBagging-Date: 2026-12-01\n"
                                      f"Payload-Oxum: {size}.1\nExternal-Identifier: {name}\n"
                                      f"External-Description: {title}\n"
                                      f"BagIt-Profile-Identifier: {PROFILE}\n").encode())
        report = {"package_id": name, "title": title, "subtitle": None, "body": body,
                  "author_note": None, "comments": [], "comments_closed": False,
                  "language": "en",
                  "source": {"name": "report.txt", "path": "data/report.txt", "size": size,
                             "media_type": "text/plain", "encoding": "UTF-8", "capture": None},
                  "metadata": {"source_url": f"https://news{i % 40}.example.org/?p={i}",
                               "publisher": f"Newsroom {i % 40}", "issued": day,
                               "captured": f"{day}T12:00:00Z"},
                  "attachments": [], "provenance": {}}
        _write(bag / "metadata" / "report.json", json.dumps(report).encode())
        events = EVENT.format(id=f"{i:08x}-0000-4000-8000-000000000000", type="cre",
                              time=f"{day}T12:00:00Z", outcome="success", detail="")
        if i % 50 == 7:
            events += EVENT.format(id=f"{i:08x}-0000-4000-8000-000000000001", type="fix",
                                   time="2026-11-30T00:00:00Z", outcome="failure",
                                   detail="<premis:eventOutcomeDetail><premis:eventOutcomeDetailNote>"
                                          "1 error(s), 0 warning(s): BAGIT-CHECKSUM-MISMATCH"
                                          "</premis:eventOutcomeDetailNote></premis:eventOutcomeDetail>")
        _write(bag / "metadata" / "premis.xml", PREMIS.format(events=events).encode())


class Server:
    def __init__(self, store: Path, index: Path, env: dict, ledger: Path | None):
        extra = ["--ledger", str(ledger)] if ledger else []
        self.process = subprocess.Popen(
            [sys.executable, "-m", "archiver", "serve", str(store), "--port", "0", "--index", str(index),
             *extra],
            stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True, cwd=REPO, env=env)
        self.started = time.monotonic()
        self.url = re.search(r"http://\S+/", self.process.stdout.readline()).group(0)

    def fetch(self, path: str) -> tuple[float, bytes]:
        t = time.perf_counter()
        with urllib.request.urlopen(self.url + path.lstrip("/"), timeout=600) as r:
            body = r.read()
        return time.perf_counter() - t, body

    def wait_indexed(self) -> float:
        while True:
            _, body = self.fetch("/api/health")
            if json.loads(body)["index"]["complete"]:
                return time.monotonic() - self.started
            time.sleep(0.05)

    def peak_rss_mb(self) -> float:
        for line in Path(f"/proc/{self.process.pid}/status").read_text().splitlines():
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) / 1024
        return float("nan")

    def stop(self) -> None:
        self.process.terminate()
        self.process.wait(timeout=30)
        self.process.stdout.close()


CASES = [
    ("list, first page (HTML)", "/"),
    ("list, first page (JSON)", "/api/packages"),
    ("list, page 1,000 (packages 49,951-50,000)", "/?page=1000"),
    ("sorted by size, descending", "/?sort=size&order=desc"),
    ("sorted by publication date", "/?sort=issued"),
    ("failed checks only", "/?state=failed"),
    ("search: two words", "/?q=convoy+blocked"),
    ("search: a source URL", "/?q=https%3A%2F%2Fnews7.example.org%2F%3Fp%3D1207"),
    ("health page", "/health"),
]


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--packages", type=int, default=100_000)
    ap.add_argument("--rounds", type=int, default=5)
    ap.add_argument("--data", type=Path, default=HERE / "data")
    ap.add_argument("--json", type=Path)
    ap.add_argument("--ledger", action="store_true", help="audit the store once and serve its ledger")
    args = ap.parse_args()

    store = args.data / f"serve-{args.packages}" / "packages"
    marker = store.parent / "complete"
    if not marker.exists():
        t = time.monotonic()
        generate(store, args.packages)
        marker.write_text(str(args.packages))
        print(f"generated {args.packages:,} packages in {time.monotonic() - t:.1f} s", file=sys.stderr)
    env = {**os.environ, "PYTHONPATH": str(REPO)}
    ledger = None
    if args.ledger:
        ledger = store.parent / "ledger.sqlite"
        if not ledger.exists():
            t = time.monotonic()
            subprocess.run([sys.executable, "-m", "archiver", "audit", str(store), "--ledger", str(ledger),
                            "-q"], cwd=REPO, env=env, stdout=subprocess.DEVNULL)
            print(f"audited the store in {time.monotonic() - t:.1f} s", file=sys.stderr)
    results = {"packages": args.packages, "ledger": bool(ledger), "cases": []}
    with tempfile.TemporaryDirectory() as tmp:
        index = Path(tmp) / "index.sqlite3"
        server = Server(store, index, env, ledger)
        try:
            results["first_index_s"] = server.wait_indexed()
            for label, path in CASES:
                times = []
                for _ in range(args.rounds):
                    seconds, body = server.fetch(path)
                    times.append(seconds)
                results["cases"].append({"case": label, "path": path,
                                         "median_s": statistics.median(times), "max_s": max(times),
                                         "bytes": len(body)})
            results["server_peak_rss_mb"] = server.peak_rss_mb()
        finally:
            server.stop()
        results["index_mb"] = sum(p.stat().st_size for p in Path(tmp).iterdir()) / 1e6
        server = Server(store, index, env, ledger)  # a restart: the catalogue is current
        try:
            results["restart_index_s"] = server.wait_indexed()
            results["restart_first_page_s"] = server.fetch("/")[0]
        finally:
            server.stop()

    print(f"| {args.packages:,} packages{' (with a ledger)' if ledger else ''} | median | max |")
    print("|---|---|---|")
    for c in results["cases"]:
        print(f"| {c['case']} | {c['median_s'] * 1000:.0f} ms | {c['max_s'] * 1000:.0f} ms |")
    print(f"\nfirst indexing (start to complete): {results['first_index_s']:.1f} s; catalogue "
          f"{results['index_mb']:.0f} MB; server peak RSS {results['server_peak_rss_mb']:.0f} MB")
    print(f"restart on the same catalogue: complete after {results['restart_index_s']:.2f} s, "
          f"first page {results['restart_first_page_s'] * 1000:.0f} ms")
    if args.json:
        args.json.write_text(json.dumps(results, indent=2))


if __name__ == "__main__":
    main()
