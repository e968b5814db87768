#!/usr/bin/env python
"""Where a build's time goes, per report, in CPU time (the README's per-report table).

    python benchmarks/per_report.py [REPORTS] [--count 1000] [--out DIR] [--rounds 2]

REPORTS defaults to the reports `run.py` generates (benchmarks/data/scale-1/reports). The
reports are built one after another in this process, as a build worker builds them (the
language model and Siegfried loaded first, untimed), each step's function wrapped to add up
the process's CPU time it took (Siegfried's Go threads included); the round with the least
total is kept (a shared machine only ever makes a round slower). `--out` should be on the
file system to measure (tmpfs, or the disk of the store). Steps nest: "copy the payload"
holds "identify the format", "write the package" holds the documents and the writes.
"""
from __future__ import annotations

import argparse
import collections
import functools
import importlib
import shutil
import sys
import tempfile
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent))

# (module, function, what it is) in the order of a build
STEPS = [
    ("archiver.package.build", "_copy_payload", "copy the payload (one read: copy and digests)"),
    ("archiver.package.build", "identify", "  identify the format (Siegfried)"),
    ("archiver.package.build", "copy_and_hash", "  copy and hash"),
    ("archiver.package.build", "_extract", "extract the report"),
    ("archiver.package.build", "read_for_extraction", "  read it back"),
    ("archiver.extract", "parse_text_report", "  parse the text"),
    ("archiver.extract", "detect_language", "  detect the language"),
    ("archiver.package.build", "xml_safe", "what XML cannot carry"),
    ("archiver.package.build", "bounded", "values cut to size"),
    ("archiver.package.build", "_write_package", "write the package"),
    ("archiver.package.build", "build_events", "  PREMIS events"),
    ("archiver.package.build", "dc_terms", "  dc.xml"),
    ("archiver.package.build", "dc_document", "  dc.xml"),  # before dc_terms
    ("archiver.package.build", "premis_document", "  premis.xml"),
    ("archiver.package.build", "mets_document", "  mets.xml"),
    ("archiver.package.build", "report_json_bytes", "  report.json (schema check, encoding)"),
    ("archiver.package.build", "manifest_files", "  payload manifests"),
    ("archiver.package.build", "tag_manifests_for", "  tag manifests (hashing the tag files)"),
    ("archiver.package.build", "write_file", "  the files' writes (open, write, close)"),
]


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("reports", nargs="?", type=Path, default=HERE / "data" / "scale-1" / "reports")
    p.add_argument("--count", type=int, default=1000)
    p.add_argument("--out", type=Path, default=None, help="where the packages go (a new folder in it)")
    p.add_argument("--rounds", type=int, default=2)
    args = p.parse_args()

    import archiver.package.build as build
    from archiver.extract.inputs import collect_inputs
    from archiver.extract.language import preload

    spent: collections.Counter = collections.Counter()
    for module, name, _ in STEPS:
        _wrap(importlib.import_module(module), name, spent)
    reports, _ = collect_inputs([args.reports], None)
    reports = reports[:args.count + 1]
    preload()
    work = Path(tempfile.mkdtemp(prefix="per-report-", dir=args.out))
    best = None
    try:
        for r in range(args.rounds):
            store = work / f"round-{r}"
            store.mkdir()
            opts = build.BuildOptions(out=str(store), algorithms=build.package_algorithms(("sha256", "sha512")))
            build.build_one(reports[0], opts, "warm")  # Siegfried's signatures load here
            spent.clear()
            start = time.process_time()
            for report in reports[1:]:
                if build.build_one(report, opts, "run").status != "built":
                    raise SystemExit(f"{report.source}: not built")
            total = time.process_time() - start
            if best is None or total < best[0]:
                best = (total, dict(spent))
    finally:
        shutil.rmtree(work, ignore_errors=True)
    total, steps = best
    n = len(reports) - 1
    rows: dict[str, float] = {}
    for _, name, what in STEPS:
        rows[what] = rows.get(what, 0) + steps.get(name, 0)
    print("| step | CPU µs per report |\n|---|---|")
    for what, seconds in rows.items():
        print(f"| {what} | {seconds / n * 1e6:.0f} |")
    print(f"| **build_one, all of it** | **{total / n * 1e6:.0f}** |")


def _wrap(module, name: str, spent: collections.Counter) -> None:
    fn = getattr(module, name, None)
    if fn is None or getattr(fn, "_timed", False):
        return

    @functools.wraps(fn)
    def timed(*a, **k):
        start = time.process_time()
        try:
            return fn(*a, **k)
        finally:
            spent[name] += time.process_time() - start

    timed._timed = True
    setattr(module, name, timed)


if __name__ == "__main__":
    main()
