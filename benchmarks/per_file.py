#!/usr/bin/env python
"""Where the time of `archiver validate` goes, per file, in CPU time (see benchmarks/README.md).

    python benchmarks/per_file.py [BAG] [--rounds 5] [--jobs 2]

BAG defaults to the many-small bag `run.py` makes (benchmarks/data/scale-1/bag-many-small).
Each step of a full validation is run on its own, in this process, `--rounds` times on a warm
page cache; the best CPU time of a round is kept (a shared machine only ever makes a round
slower, never faster), divided by the number of payload files. CPU time, unlike wall time,
barely moves with the other load on the machine. Then the whole command is run (`--jobs`
workers) and its CPU time, all processes, is set against the hashing alone.
"""
from __future__ import annotations

import argparse
import hashlib
import importlib
import json
import os
import pickle
import resource
import subprocess
import sys
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
REPO = HERE.parent
DEFAULT_BAG = HERE / "data" / "scale-1" / "bag-many-small"


def best(fn, rounds: int) -> float:
    """Least CPU seconds (this thread) of fn() over the rounds."""
    least = float("inf")
    for _ in range(rounds):
        start = time.thread_time()
        fn()
        least = min(least, time.thread_time() - start)
    return least


def steps(bag: str, rounds: int) -> tuple[int, int, list[tuple[str, str, float]]]:
    from archiver.bagit.rules import parse_manifest
    from archiver.fixity import ALGORITHMS, BLOCK, _hash_batch
    from archiver.validate.report import BagReport
    walk = importlib.import_module("archiver.validate.walk")
    run_module = importlib.import_module("archiver.validate.run")

    tree = walk.scan(bag)
    paths = [tree.disk[rel] for rel in sorted(tree.payload)]
    files = len(paths)
    algs = sorted(n[len("manifest-"):-len(".txt")] for n in tree.tags
                  if n.startswith("manifest-") and "/" not in n and n.endswith(".txt"))
    rows = []

    def row(where, what, seconds):
        rows.append((where, what, seconds / files * 1e6))

    row("main", "walk: one scandir pass, an lstat per file (`validate/walk.py`)", best(lambda: walk.scan(bag), rounds))

    def manifests():
        for alg in algs:
            name = f"manifest-{alg}.txt"
            parse_manifest(tree.disk[name], name, alg, "utf-8", ALGORITHMS[alg]().digest_size * 2)
    row("main", f"parse the {len(algs)} payload manifests (`bagit/rules.py`)", best(manifests, rounds))

    def judged_run():
        r = run_module.BagRun(bag, BagReport(path=bag, mode="full"), 1, None)
        r.tree = tree
        r.declaration()
        r.read_bag_info()
        r.read_manifests()
        return r
    prepared = judged_run()
    row("main", "completeness: manifests against the walk, set arithmetic (`validate/manifests.py`)",
        best(lambda: prepared.completeness(), rounds))

    results = _hash_batch(paths, algs)
    class Done(list):  # the workers' results, as a hashing job hands them over
        def finish(self):
            return self

        def close(self):
            pass
    walked = hasattr(prepared, "walked")  # this tree's fixity: a job the walk fed; before: a dict too
    everything = {tree.disk[rel]: rel for rel in tree.payload}

    def verify():
        prepared.problems = []
        prepared.early = (algs, Done(results)) if walked else (algs, everything, Done(results))
        prepared.fixity()
    row("main", "fixity: every result against every manifest, tag files hashed (`validate/checksums.py`)",
        best(verify, rounds))
    blob = pickle.dumps(results, protocol=pickle.HIGHEST_PROTOCOL)
    row("main", "results received from the workers (unpickled)", best(lambda: pickle.loads(blob), rounds))
    row("worker", "results sent (pickled)",
        best(lambda: pickle.dumps(results, protocol=pickle.HIGHEST_PROTOCOL), rounds))

    flags = os.O_RDONLY | getattr(os, "O_CLOEXEC", 0)

    def open_close():
        for p in paths:
            os.close(os.open(p, flags))
    buf = bytearray(BLOCK)

    def read_once():
        for p in paths:
            fd = os.open(p, flags)
            os.readv(fd, (buf,))
            os.close(fd)

    def read_all():
        for p in paths:
            fd = os.open(p, flags)
            while os.readv(fd, (buf,)):
                pass
            os.close(fd)
    datas = []
    for p in paths:
        with open(p, "rb") as f:
            datas.append(f.read())
    makers = [getattr(hashlib, a) for a in algs]

    def pure():
        for d in datas:
            for make in makers:
                make(d).hexdigest()
    t_open = best(open_close, rounds)
    t_once = best(read_once, rounds)
    t_read = best(read_all, rounds)
    t_pure = best(pure, rounds)
    sizes = [tree.payload[rel] for rel in sorted(tree.payload)]
    sized = "sizes" in _hash_batch.__code__.co_varnames[:_hash_batch.__code__.co_argcount]
    t_batch = best(lambda: _hash_batch(paths, algs, sizes) if sized else _hash_batch(paths, algs), rounds)
    row("worker", "open + close (system calls)", t_open)
    row("worker", "the read: the copy from the page cache", t_once - t_open)
    row("worker", "the empty read at the end" + (" (spared: the walk has the size)" if sized else ""),
        0.0 if sized else t_read - t_once)
    row("worker", "Python around them: hashers, digests, the result (`fixity._hash_batch`)",
        t_batch - (t_once if sized else t_read) - t_pure)
    row("worker", f"hashing itself ({' + '.join(algs)}, the bytes in memory)", t_pure)
    return files, sum(map(len, datas)), rows


def one_file_bag(folder: Path) -> str:
    """A bag of one small file, for the start-up alone."""
    from archiver.bagit.bag import make_bag
    bag = folder / "one"
    bag.mkdir(parents=True)
    (bag / "a.txt").write_text("one small file\n")
    return str(make_bag(bag, jobs=1, durable=False))


def whole(bag: str, jobs: int, rounds: int, tree: Path) -> dict:
    """CPU time of the whole command, every process (best round)."""
    least = None
    for _ in range(rounds):
        before = resource.getrusage(resource.RUSAGE_CHILDREN)
        start = time.perf_counter()
        subprocess.run([sys.executable, "-m", "archiver", "validate", "-q", "--jobs", str(jobs), bag],
                       cwd=tree, check=True, capture_output=True)
        wall = time.perf_counter() - start
        after = resource.getrusage(resource.RUSAGE_CHILDREN)
        cpu = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
        if least is None or cpu < least["cpu"]:
            least = {"cpu": cpu, "wall": wall}
    return least


def main(argv=None) -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("bag", nargs="?", default=str(DEFAULT_BAG))
    p.add_argument("--rounds", type=int, default=5)
    p.add_argument("--jobs", type=int, default=2)
    p.add_argument("--tree", type=Path, default=REPO,
                   help="the archiver source tree to measure (default: this one; another checkout "
                        "gives the figures before a change)")
    p.add_argument("--json", type=Path, help="also write the figures to this file")
    args = p.parse_args(argv)
    args.bag = os.path.abspath(args.bag)
    sys.path.insert(0, str(args.tree.resolve()))
    files, size, rows = steps(args.bag, args.rounds)
    pure = next(us for where, what, us in rows if what.startswith("hashing itself"))
    command = whole(args.bag, args.jobs, args.rounds, args.tree.resolve())
    outside = command["cpu"] / files * 1e6 - pure
    import tempfile
    with tempfile.TemporaryDirectory() as folder:
        start = whole(one_file_bag(Path(folder)), args.jobs, args.rounds, args.tree.resolve())
    measured = sum(us for _, _, us in rows) + start["cpu"] / files * 1e6
    rows.append(("main", f"start-up: interpreter, imports, options (validating a bag of one file: "
                         f"{start['cpu'] * 1e3:.0f} ms)", start["cpu"] / files * 1e6))
    rows.append(("all", "the rest: the pool (forks, the workers' start, queues, copy-on-write "
                        "faults), feeding it, reports", command["cpu"] / files * 1e6 - measured))
    print(f"{args.bag}: {files} files, {size / 1e6:.0f} MB; best of {args.rounds} rounds, CPU µs per file")
    print("| where | step | µs per file |")
    print("|---|---|---|")
    for where, what, us in rows:
        print(f"| {where} | {what} | {us:.2f} |")
    print(f"| all | `archiver validate --jobs {args.jobs}`, every process, start-up included "
          f"(wall {command['wall']:.2f} s) | {command['cpu'] / files * 1e6:.2f} |")
    print(f"| all | of which outside hashing | {outside:.2f} |")
    if args.json:
        args.json.write_text(json.dumps({"files": files, "bytes": size, "rows": rows, "command": command,
                                         "outside_hashing_us": outside}, indent=2))


if __name__ == "__main__":
    main()
