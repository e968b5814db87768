#!/usr/bin/env python
"""The floor under any validator written in Python: what the least possible work takes here.

    python benchmarks/floor.py [--rounds 5] [--jobs N] [--scale full] [--data DIR] [--cases many-small,few-large]

For each of run.py's validate cases, a bare script (below) lists and stats every payload file,
then reads and hashes each once with sha256 and sha512 in `jobs` processes (the files shared
out evenly by size), and compares nothing: no manifest is read, no result is judged. It is
timed beside `archiver validate` of the same bag, alternating, and both are shown as shares
of the machine's hash limit, as run.py shows them. What separates the bare script from the
limit is what Python, the kernel's open/read/close and the page-cache copy cost; what
separates archiver from the bare script is archiver's own work.
"""
from __future__ import annotations

import argparse
import os
import statistics
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from run import HERE, PY, SCALES, bagit_bag, hash_limit, interpreter_start, log, measure, payload_bytes, warm  # noqa: E402

BARE = r'''
import hashlib, os, sys
from concurrent.futures import ProcessPoolExecutor

def hash_all(paths):
    buf = bytearray(128 << 10)
    view = memoryview(buf)
    out = []
    for path in paths:
        hashers = [hashlib.sha256(), hashlib.sha512()]
        fd = os.open(path, os.O_RDONLY | os.O_CLOEXEC)
        while n := os.readv(fd, (buf,)):
            for h in hashers:
                h.update(view[:n])
        os.close(fd)
        out.append([h.hexdigest() for h in hashers])
    return out

def walk(folder, found):
    with os.scandir(folder) as entries:
        for entry in entries:
            if entry.is_dir(follow_symlinks=False):
                walk(entry.path, found)
            else:
                found.append((entry.stat(follow_symlinks=False).st_size, entry.path))

if __name__ == "__main__":
    files, jobs = [], int(sys.argv[2])
    walk(os.path.join(sys.argv[1], "data"), files)
    shares, sizes = [[] for _ in range(jobs)], [0] * jobs
    for size, path in sorted(files, reverse=True):  # largest first, each to the lightest share
        i = sizes.index(min(sizes))
        shares[i].append(path)
        sizes[i] += size
    with ProcessPoolExecutor(jobs - 1) as pool:
        others = [pool.submit(hash_all, share) for share in shares[1:]]
        done = len(hash_all(shares[0])) + sum(len(f.result()) for f in others)
    assert done == len(files)
'''


def main(argv=None) -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--rounds", type=int, default=5)
    p.add_argument("--jobs", type=int, default=os.cpu_count() or 1)
    p.add_argument("--data", type=Path, default=HERE / "data")
    p.add_argument("--cases", default="many-small,few-large")
    p.add_argument("--scale", default="full", help="as run.py's: full, small, tiny or a factor")
    args = p.parse_args(argv)
    scale = SCALES[args.scale] if args.scale in SCALES else float(args.scale)
    start = interpreter_start()
    print(f"--jobs {args.jobs}, {args.rounds} rounds, interpreter start {start:.3f} s; median wall, "
          "and the share of the hash limit after interpreter start (run.py's '% after start')")
    print("| case | bare script s (CPU s) | % of hash limit | archiver validate s (CPU s) | % of hash limit |")
    print("|---|---|---|---|---|")
    for name in args.cases.split(","):
        bag = bagit_bag(args.data.resolve(), name, scale, args.jobs)
        warm(bag / "data")
        size, _ = payload_bytes(bag / "data")
        commands = {"bare": [PY, "-c", BARE, str(bag), str(args.jobs)],
                    "archiver": [PY, "-m", "archiver", "validate", "-q", "--jobs", str(args.jobs), str(bag)]}
        walls: dict[str, list[float]] = {"bare": [], "archiver": []}
        cpus: dict[str, list[float]] = {"bare": [], "archiver": []}
        shares: dict[str, list[float]] = {"bare": [], "archiver": []}
        for r in range(args.rounds):
            for tool in (("bare", "archiver") if r % 2 == 0 else ("archiver", "bare")):
                per_core, cores = hash_limit(seconds=0.075, trials=2)
                measured = measure(commands[tool])
                wall = measured["wall"]
                walls[tool].append(wall)
                cpus[tool].append(measured["cpu"])
                shares[tool].append(size / max(wall - start, 1e-3) / (per_core * cores))
                log(f"  {name} round {r + 1}: {tool} {wall:.3f} s")
        m = {t: (statistics.median(walls[t]), 100 * statistics.median(shares[t]), statistics.median(cpus[t]))
             for t in walls}
        print(f"| validate-{name} | {m['bare'][0]:.3f} ({m['bare'][2]:.2f}) | {m['bare'][1]:.0f}% "
              f"| {m['archiver'][0]:.3f} ({m['archiver'][2]:.2f}) | {m['archiver'][1]:.0f}% |")


if __name__ == "__main__":
    main()
