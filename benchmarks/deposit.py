#!/usr/bin/env python
"""Benchmark OCFL deposit at store scale against the build of the same packages.

    python benchmarks/deposit.py [--rounds 3] [--scale full|small|tiny|0.1] [--jobs N] [--check]

Each round: `archiver build` of the reports data set (2,000 reports at full scale) into a
new store, then `archiver deposit --to ocfl:ROOT` of that store into a new root (every bag
validated first, every checksum; durable), then the same deposit again (a no-op). Prints the
median wall times, packages per second, deposit / build, and the CPU time of every process per
package (the figure to compare on a shared machine: wall time swings with the others' load). `--check` has ocfl-py (the test
extra) validate the root of the first round, digests included.
"""
from __future__ import annotations

import argparse
import json
import os
import shutil
import statistics
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from run import HERE, PY, REPO, SCALES, dataset, file_creation, log, measure, run  # noqa: E402

TARGETS = {"deposit_per_s": 200, "noop_per_s": 1000, "deposit_over_build": 1.2}


def one_round(reports: Path, work: Path, jobs: str) -> dict:
    store, root = work / "store", work / "repository"
    work.mkdir(parents=True)
    create = file_creation(work / "probe")
    os.sync()  # what earlier rounds left in the page cache is not this round's to write out
    build = measure([PY, "-m", "archiver", "build", "-q", "--jobs", jobs, "--out", str(store), str(reports)])
    packages = sum(1 for p in store.iterdir() if (p / "bagit.txt").is_file())
    os.sync()
    first = measure([PY, "-m", "archiver", "deposit", "-q", "--jobs", jobs, "--to", f"ocfl:{root}", str(store)])
    noop = measure([PY, "-m", "archiver", "deposit", "-q", "--jobs", jobs, "--to", f"ocfl:{root}", str(store)])
    result = {"packages": packages, "build": build, "deposit": first, "noop": noop, "file_creation": create}
    log(f"  {packages} packages: build {build['wall']:.2f} s ({_ms(build, packages)} CPU), deposit "
        f"{first['wall']:.2f} s ({_ms(first, packages)}; other load {first['other_load']:.2f}), "
        f"no-op {noop['wall']:.2f} s ({_ms(noop, packages)}), file creation {create * 1e6:.0f} µs")
    return result


def _ms(run: dict, packages: int) -> str:
    return f"{run['cpu'] / packages * 1e3:.2f} ms/package"


def check_root(root: Path, packages: int) -> None:
    sys.path.insert(0, str(REPO / "tests" / "deposit"))
    from ocfl_checks import storage_root  # ocfl-py: the test extra
    storage = storage_root(root)
    if not (storage.validate(validate_objects=True, check_digests=True)
            and storage.good_objects == storage.num_objects == packages):
        raise SystemExit(f"ocfl-py: {root} is not valid: {storage.errors[:3]}")
    log(f"  ocfl-py: {packages} objects valid, digests checked")


def summarize(rounds: list[dict]) -> dict:
    med = {k: statistics.median(r[k]["wall"] for r in rounds) for k in ("build", "deposit", "noop")}
    packages = rounds[0]["packages"]
    cpu = {k: statistics.median(r[k]["cpu"] for r in rounds) / packages for k in ("build", "deposit", "noop")}
    return {"packages": packages, "build_s": med["build"], "deposit_s": med["deposit"],
            "noop_s": med["noop"], "build_per_s": packages / med["build"],
            "deposit_per_s": packages / med["deposit"], "noop_per_s": packages / med["noop"],
            "deposit_over_build": med["deposit"] / med["build"],
            "build_cpu_per_package": cpu["build"], "deposit_cpu_per_package": cpu["deposit"],
            "noop_cpu_per_package": cpu["noop"],
            "deposit_over_build_cpu": cpu["deposit"] / cpu["build"],
            "other_load": statistics.median(r["deposit"]["other_load"] for r in rounds),
            "deposit_rss": max(r["deposit"]["maxrss"] for r in rounds),
            "deposit_tree_pss": max(r["deposit"]["tree_pss"] for r in rounds),
            "rounds": rounds}


def table(s: dict) -> str:
    return "\n".join([
        "| run | packages | median s | packages/s | CPU ms/package (every process) | target |",
        "|---|---|---|---|---|---|",
        f"| build (baseline) | {s['packages']} | {s['build_s']:.2f} | {s['build_per_s']:.0f} | "
        f"{s['build_cpu_per_package'] * 1e3:.2f} | |",
        f"| deposit into a new OCFL root | {s['packages']} | {s['deposit_s']:.2f} | "
        f"{s['deposit_per_s']:.0f} | {s['deposit_cpu_per_package'] * 1e3:.2f} "
        f"({s['deposit_over_build_cpu']:.2f} x build) | >= {TARGETS['deposit_per_s']}/s; "
        f"{s['deposit_over_build']:.2f} x build (<= {TARGETS['deposit_over_build']}) |",
        f"| deposit again (no-op) | {s['packages']} | {s['noop_s']:.2f} | {s['noop_per_s']:.0f} | "
        f"{s['noop_cpu_per_package'] * 1e3:.2f} | >= {TARGETS['noop_per_s']}/s |",
    ])


def main(argv=None) -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--rounds", type=int, default=3)
    p.add_argument("--scale", default="full", help="full (2,000 reports), small (5%%), tiny, or a factor")
    p.add_argument("--jobs", type=int, default=os.cpu_count() or 1)
    p.add_argument("--data", type=Path, default=HERE / "data")
    p.add_argument("--check", action="store_true", help="validate the first root with ocfl-py")
    p.add_argument("--json", type=Path)
    args = p.parse_args(argv)
    scale = SCALES[args.scale] if args.scale in SCALES else float(args.scale)
    data = args.data.resolve()
    reports = dataset(data, "reports", scale)
    work = data / f"scale-{scale:g}" / f"deposit-work-{os.getpid()}"
    run([PY, "-m", "compileall", "-q", str(REPO / "archiver")])
    try:
        rounds = []
        for r in range(args.rounds):
            rounds.append(one_round(reports, work / f"round-{r}", str(args.jobs)))
            if args.check and r == 0:
                check_root(work / "round-0" / "repository", rounds[0]["packages"])
        summary = summarize(rounds)
    finally:
        shutil.rmtree(work, ignore_errors=True)
    print(f"scale {scale:g}, {args.rounds} round(s), --jobs {args.jobs}, "
          f"{os.cpu_count()} cores, other load {summary['other_load']:.2f} cores during deposits")
    print(table(summary))
    if args.json:
        args.json.write_text(json.dumps({"scale": scale, "jobs": args.jobs, **summary}, indent=2))


if __name__ == "__main__":
    main()
