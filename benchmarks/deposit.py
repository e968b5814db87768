#!/usr/bin/env python
"""Benchmark OCFL deposit at store scale against the build of the same packages.

    python benchmarks/deposit.py [--rounds 3] [--scale full|small|tiny|0.1] [--jobs N] [--check]
    python benchmarks/deposit.py --steps 500 [--rounds 3] [--tree OTHER_CHECKOUT]

Each round: `archiver build` of the reports data set (2,000 reports at full scale) into a
new store, then `archiver deposit --to ocfl:ROOT` of that store into a new root (every bag
validated first, every checksum; durable), then the same deposit again (a no-op). Prints the
median wall times, packages per second, deposit / build, and the CPU time of every process per
package (the figure to compare on a shared machine: wall time swings with the others' load). `--check` has ocfl-py (the test
extra) validate the root of the first round, digests included.

`--steps N`: where a new-root deposit's CPU goes, per package, in one process (`--jobs 1`): N
built packages deposited, each step's CPU time summed around the functions that do it (the
least of the rounds, each step on its own). `--tree` takes archiver from another checkout (a
copy of main's tree, for before/after); the functions timed are named in STEPS.
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
# --steps: (step, module, function or Class.method), in the README table's order; what is
# not inside one of them (claim, recovery check, identifier, receipts, results) is "the rest"
STEPS = [
    ("validation", "archiver.deposit", "_validate"),
    ("fingerprint", "archiver.deposit", "package_fingerprint"),
    ("object: copy and hash", "archiver.deposit.ocfl", "OcflTarget._copy_in"),
    ("object: inventory and sidecars", "archiver.deposit.ocfl", "OcflTarget._write_inventory"),
    ("object: inventory and sidecars", "archiver.deposit.ocfl_inventory", "with_version"),
    ("object: the rest of the put", "archiver.deposit.ocfl", "OcflTarget.put"),
    ("commit", "archiver.deposit.ocfl", "OcflTarget.commit"),
    ("record", "archiver.deposit", "_record"),
    ("record", "archiver.deposit", "_record_all"),
]


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


def steps(store: Path, work: Path, rounds: int) -> dict[str, float]:
    """CPU ms a package of each step of a new-root deposit of the packages in `store`."""
    import importlib
    import time
    from collections import Counter

    spent: Counter = Counter()

    def timed(step, function):
        def wrapper(*args, **kw):
            started = time.process_time()
            try:
                return function(*args, **kw)
            finally:
                spent[step] += time.process_time() - started
        return wrapper

    for step, module, name in STEPS:
        owner = importlib.import_module(module)
        cls, _, attr = name.rpartition(".")
        owner = getattr(owner, cls) if cls else owner
        original = owner.__dict__[attr]
        if isinstance(original, staticmethod):
            setattr(owner, attr, staticmethod(timed(step, original.__func__)))
        else:
            setattr(owner, attr, timed(step, original))
    deposit = importlib.import_module("archiver.deposit").deposit
    names = sorted(p.name for p in store.iterdir() if (p / "bagit.txt").is_file())
    best: dict[str, float] = {}
    for r in range(rounds):
        copy = work / f"steps-{r}"
        for name in names:
            shutil.copytree(store / name, copy / "store" / name)
        deposit([copy / "store" / names[0]], f"ocfl:{copy / 'warm-up'}", jobs=1)  # imports, schemas
        spent.clear()
        started = time.process_time()
        results = deposit([copy / "store" / n for n in names[1:]], f"ocfl:{copy / 'root'}", jobs=1)
        total = time.process_time() - started
        if {r.status for r in results} != {"deposited"}:
            raise SystemExit(f"not all deposited: {[r.message for r in results if r.status != 'deposited'][:3]}")
        got = dict(spent)
        got["object: the rest of the put"] -= got["object: copy and hash"] + got["object: inventory and sidecars"]
        got["the rest"] = total - sum(got.values())
        got["total"] = total
        for step, seconds in got.items():
            ms = seconds / len(results) * 1e3
            best[step] = min(best.get(step, ms), ms)
        shutil.rmtree(copy)
    return best


def main(argv=None) -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--rounds", type=int, default=3)
    p.add_argument("--scale", default="full", help="full (2,000 reports), small (5%%), tiny, or a factor")
    p.add_argument("--jobs", type=int, default=os.cpu_count() or 1)
    p.add_argument("--data", type=Path, default=HERE / "data")
    p.add_argument("--check", action="store_true", help="validate the first root with ocfl-py")
    p.add_argument("--json", type=Path)
    p.add_argument("--steps", type=int, metavar="N", help="CPU per step of a new-root deposit of N packages")
    p.add_argument("--tree", type=Path, help="--steps: the archiver of this checkout")
    args = p.parse_args(argv)
    if args.steps:
        main_steps(args)
        return
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


def main_steps(args) -> None:
    if args.tree:
        sys.path.insert(0, str(args.tree.resolve()))
    import archiver
    data = args.data.resolve()
    reports = dataset(data, "reports", 1.0 if args.steps >= SCALES["small"] * 2000 else SCALES["small"])
    work = data / f"deposit-steps-{os.getpid()}"
    work.mkdir(parents=True)
    try:
        picked = work / "reports"
        picked.mkdir()
        for report in sorted(reports.iterdir())[:args.steps + 1]:  # one more: the warm-up
            shutil.copy(report, picked / report.name)  # build refuses links
        run([PY, "-m", "archiver", "build", "-q", "--jobs", str(args.jobs), "--out", str(work / "store"), str(picked)])
        best = steps(work / "store", work, args.rounds)
    finally:
        shutil.rmtree(work, ignore_errors=True)
    print(f"{archiver.__file__}: {args.steps} packages, one process, best of {args.rounds} rounds, CPU ms a package")
    print("| step | CPU ms |\n|---|---|")
    for step in dict.fromkeys([s for s, _, _ in STEPS] + ["the rest", "total"]):
        print(f"| {step} | {best[step]:.3f} |")


if __name__ == "__main__":
    main()
