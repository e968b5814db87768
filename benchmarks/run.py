#!/usr/bin/env python
"""Benchmark archiver against bagit-python on reproducible data (see benchmarks/README.md).

    python benchmarks/run.py [--rounds 3] [--cases validate-many-small,...] [--scale full|tiny|0.1]

Each case runs both tools as subprocesses, alternating which goes first, on a warm page
cache; it prints median wall times, the ratio archiver/bagit-python, archiver's MB/s, its
share of the machine's hash limit (hashlib throughput of the algorithms x cores, measured
before every run), the peak memory of each tool (largest process, and the sampled PSS sum
over its process tree) and the load other processes put on the machine meanwhile.
"""
from __future__ import annotations

import argparse
import hashlib
import json
import os
import random
import resource
import shutil
import statistics
import subprocess
import sys
import threading
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
REPO = HERE.parent
SEED = 20260105
KiB, MiB = 1 << 10, 1 << 20
SCALES = {"tiny": 0.0005, "small": 0.05, "full": 1.0}
CASES = ("validate-many-small", "validate-few-large", "build-many-small", "build-reports", "validate-store")
ALGORITHMS = ("sha256", "sha512")
PY = sys.executable

# -- reproducible data --------------------------------------------------------------------------
WORDS = ("the city council said on reports residents water electricity shelling night market "
         "families fled north river bridge checkpoint fighters civilians hospital doctors school "
         "children killed wounded witnesses told activists documented airstrike village road "
         "morning local sources according statement group forces campaign since week months "
         "humanitarian aid convoy blocked food prices rose sharply camp displaced thousands "
         "negotiations ceasefire collapsed journalists arrested internet cut communications").split()


def gen_many_small(root: Path, scale: float) -> None:
    rng = random.Random(SEED)
    for i in range(max(4, round(10_000 * scale))):
        path = root / f"d{i % 8}" / f"s{(i // 8) % 16:02d}" / f"f{i:05d}.bin"
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(rng.randbytes(rng.randint(1 * KiB, 64 * KiB)))


def gen_few_large(root: Path, scale: float) -> None:
    rng = random.Random(SEED + 1)
    size = max(64 * KiB, int(512 * MiB * scale))
    root.mkdir(parents=True, exist_ok=True)
    for name in ("large-1.bin", "large-2.bin"):
        with open(root / name, "wb") as f:
            left = size
            while left:
                n = min(left, 8 * MiB)
                f.write(rng.randbytes(n))
                left -= n


def _sentence(rng: random.Random) -> str:
    words = [rng.choice(WORDS) for _ in range(rng.randint(8, 22))]
    return " ".join(words).capitalize() + "."


def gen_reports(root: Path, scale: float) -> None:
    """Plain-text reports shaped like examples/reports: a title line, a blank line, paragraphs."""
    rng = random.Random(SEED + 2)
    root.mkdir(parents=True, exist_ok=True)
    for i in range(max(2, round(2_000 * scale))):
        title = " ".join(rng.choice(WORDS) for _ in range(rng.randint(4, 9))).capitalize()
        paragraphs = []
        while sum(map(len, paragraphs)) < 4000:
            paragraphs.append(" ".join(_sentence(rng) for _ in range(rng.randint(2, 6))))
        text = title + "\n\n\n" + "\n\n".join(paragraphs) + "\n"
        (root / f"{i:04d}_{rng.getrandbits(64):016x}.txt").write_text(text, encoding="utf-8")


GENERATORS = {"many-small": gen_many_small, "few-large": gen_few_large, "reports": gen_reports}


def dataset(data: Path, name: str, scale: float) -> Path:
    """data/<scale>/<name>, generated once (a stamp records that it is complete)."""
    root = data / f"scale-{scale:g}" / name
    stamp = root.with_name(name + ".done")
    if not stamp.exists():
        shutil.rmtree(root, ignore_errors=True)
        log(f"generating {name} at scale {scale:g} ...")
        GENERATORS[name](root, scale)
        stamp.write_text(json.dumps({"seed": SEED, "scale": scale}))
    return root


def store(data: Path, scale: float, jobs: int) -> Path:
    """The reports data set built by archiver into a store of packages, once (no sync: data)."""
    root = data / f"scale-{scale:g}" / "store"
    stamp = root.with_name("store.done")
    if not stamp.exists():
        shutil.rmtree(root, ignore_errors=True)
        reports = dataset(data, "reports", scale)
        log(f"building the store of {sum(1 for _ in reports.iterdir())} packages ...")
        run([PY, "-m", "archiver", "build", "-q", "--no-fsync", "--jobs", str(jobs), "--out", str(root),
             str(reports)])
        stamp.write_text("")
    return root


def link_copy(src: Path, dst: Path) -> Path:
    """A copy made of hard links: instant, and the page cache stays warm."""
    shutil.rmtree(dst, ignore_errors=True)
    shutil.copytree(src, dst, copy_function=os.link)
    return dst


def bagit_bag(data: Path, name: str, scale: float, jobs: int) -> Path:
    """A bag of the data set made by bagit-python (sha256 + sha512, --processes jobs)."""
    bag = data / f"scale-{scale:g}" / f"bag-{name}"
    stamp = bag.with_name(bag.name + ".done")
    if not stamp.exists():
        link_copy(dataset(data, name, scale), bag)
        log(f"bagging {name} with bagit-python ...")
        run([PY, "-m", "bagit", "--processes", str(jobs), "--sha256", "--sha512", str(bag)])
        stamp.write_text("")
    return bag


def payload_bytes(root: Path) -> tuple[int, int]:
    sizes = [p.stat().st_size for p in root.rglob("*") if p.is_file()]
    return sum(sizes), len(sizes)


def warm(root: Path) -> None:
    buf = bytearray(4 * MiB)
    for p in root.rglob("*"):
        if p.is_file():
            with open(p, "rb", buffering=0) as f:
                while f.readinto(buf):
                    pass


# -- measuring one command ------------------------------------------------------------------------
def run(cmd: list[str]) -> None:
    done = subprocess.run(cmd, cwd=REPO, capture_output=True, text=True)
    if done.returncode:
        raise SystemExit(f"failed ({done.returncode}): {' '.join(cmd)}\n{done.stdout[-2000:]}{done.stderr[-2000:]}")


def measure(cmd: list[str], memory: bool = False) -> dict:
    """Run cmd under a fresh wrapper process, so its rusage covers this command only.

    `memory`: also sample the process tree's PSS every 0.25 s (tree_pss; else 0). Sampling
    stalls the sampled processes and takes a core's share from them, 20 ms of a 0.4 s run
    here, so timed runs go without it and the peak memory is taken in a run of its own."""
    out = subprocess.run([PY, str(Path(__file__).resolve()), "--measure" if not memory else "--measure-memory",
                          "--", *cmd],
                         cwd=REPO, capture_output=True, text=True)
    if out.returncode:
        raise SystemExit(f"failed: {' '.join(cmd)}\n{out.stdout[-3000:]}{out.stderr[-3000:]}")
    return json.loads(out.stdout.strip().splitlines()[-1])


def _tree_memory(root_pid: int, page: int) -> int:
    """Memory of a process tree now: the sum of PSS (shared pages split between their users,
    so forked workers are not counted twice), or of RSS where PSS is not available."""
    parent, rss = {}, {}
    for name in os.listdir("/proc"):
        if not name.isdigit():
            continue
        try:
            with open(f"/proc/{name}/stat", "rb") as f:
                fields = f.read().rsplit(b")", 1)[1].split()
        except OSError:
            continue
        parent[int(name)] = int(fields[1])
        rss[int(name)] = int(fields[21]) * page
    children: dict[int, list[int]] = {}
    for pid, ppid in parent.items():
        children.setdefault(ppid, []).append(pid)
    total, todo = 0, [root_pid]
    while todo:
        pid = todo.pop()
        total += _pss(pid, rss.get(pid, 0))
        todo += children.get(pid, [])
    return total


def _pss(pid: int, fallback: int) -> int:
    try:
        with open(f"/proc/{pid}/smaps_rollup", "rb") as f:
            for line in f:
                if line.startswith(b"Pss:"):
                    return int(line.split()[1]) * 1024
    except OSError:
        pass
    return fallback


def _busy_seconds() -> float:
    """CPU seconds every process of the machine has used so far (0 where /proc is absent)."""
    try:
        with open("/proc/stat") as f:
            ticks = [int(x) for x in f.readline().split()[1:]]
    except OSError:
        return 0.0
    idle = ticks[3] + ticks[4]  # idle, iowait
    return (sum(ticks[:8]) - idle) / os.sysconf("SC_CLK_TCK")


def _measure_main(cmd: list[str], memory: bool) -> None:
    page = os.sysconf("SC_PAGE_SIZE")
    busy = _busy_seconds()
    start = time.perf_counter()
    child = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    peak = [0]
    stop = threading.Event()

    def sample():
        while not stop.wait(0.25):  # reading smaps_rollup stalls the sampled processes: seldom
            peak[0] = max(peak[0], _tree_memory(child.pid, page))

    if memory and sys.platform.startswith("linux"):
        threading.Thread(target=sample, daemon=True).start()
    stdout, stderr = child.communicate()
    wall = time.perf_counter() - start
    stop.set()
    if child.returncode:
        sys.stderr.write(stdout.decode(errors="replace")[-3000:] + stderr.decode(errors="replace")[-3000:])
        raise SystemExit(child.returncode)
    busy = _busy_seconds() - busy
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    cpu = usage.ru_utime + usage.ru_stime
    me = resource.getrusage(resource.RUSAGE_SELF)
    busy -= me.ru_utime + me.ru_stime  # this wrapper and its sampling
    # other load: cores kept busy by everything else on the machine (kernel writeback included)
    print(json.dumps({"wall": wall, "maxrss": usage.ru_maxrss * 1024, "tree_pss": peak[0],
                      "cpu": cpu, "other_load": max(0.0, busy - cpu) / wall}))


# -- the machine's hash limit ---------------------------------------------------------------------
def hash_limit(algorithms=ALGORITHMS, seconds: float = 0.3, trials: int = 3) -> tuple[float, int]:
    """(bytes/s one core hashes with every algorithm, cores).

    In memory, in chunks that stay in cache, best of a few trials per algorithm: a shared
    machine only ever makes a trial slower, so the best is the closest to what it can do.
    """
    buf = memoryview(os.urandom(128 * KiB))
    per_alg = []
    for alg in algorithms:
        best = 0.0
        for _ in range(trials):
            h, n, start = hashlib.new(alg), 0, time.perf_counter()
            while time.perf_counter() - start < seconds:
                h.update(buf)
                n += len(buf)
            best = max(best, n / (time.perf_counter() - start))
        per_alg.append(best)
    return 1 / sum(1 / r for r in per_alg), os.cpu_count() or 1


def interpreter_start(trials: int = 5) -> float:
    """Seconds `python -c pass` takes here (best of a few): what any Python tool pays before
    its first line runs, site packages and .pth files included."""
    best = float("inf")
    for _ in range(trials):
        start = time.perf_counter()
        subprocess.run([PY, "-c", "pass"], check=True)
        best = min(best, time.perf_counter() - start)
    return best


def file_creation(folder: Path, files: int = 400) -> float:
    """Seconds to create one small file here now. ext4 without a journal will not reuse an
    inode freed in the last 1-6 minutes and scans past every such inode at each creation,
    so after a mass deletion (a test run, an rm -rf) creating files costs up to 20 times
    more for a few minutes; this shows whether a run was hit. The probe files are kept (a
    deletion would cause just that) until the work folder goes at the end."""
    folder.mkdir(parents=True)
    start = time.perf_counter()
    for i in range(files):
        os.close(os.open(folder / f"f{i}", os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o644))
    return (time.perf_counter() - start) / files


# -- the cases -----------------------------------------------------------------------------------
class Case:
    """One comparison. command(tool, run_dir) prepares what the run needs (untimed) in a fresh
    run_dir and returns the command to time. Work folders are only deleted at the end: ext4
    slows file creation down for a while after mass deletions, which would skew later runs."""

    def __init__(self, name, data_root, command, per="file"):
        self.name, self.data_root, self.command, self.per = name, data_root, command, per


def make_cases(args, scale: float) -> list[Case]:
    data, jobs, j = args.data, args.jobs, str(args.jobs)
    cases = []
    for name in args.cases:
        if name in ("validate-many-small", "validate-few-large"):
            bag = bagit_bag(data, name[len("validate-"):], scale, jobs)
            cmds = {"archiver": [PY, "-m", "archiver", "validate", "-q", "--jobs", j, str(bag)],
                    "bagit-python": [PY, "-m", "bagit", "--validate", "--processes", j, str(bag)]}
            cases.append(Case(name, bag / "data", lambda tool, run_dir, cmds=cmds: cmds[tool]))
        elif name == "build-many-small":
            src = dataset(data, "many-small", scale)
            cases.append(Case(name, src, lambda tool, run_dir, src=src: _one_bag(tool, src, run_dir, j)))
        elif name == "build-reports":
            src = dataset(data, "reports", scale)
            cases.append(Case(name, src, lambda tool, run_dir, src=src: _reports(tool, src, run_dir, j),
                              per="report"))
        elif name == "validate-store":
            packages = store(data, scale, jobs)
            cmds = {"archiver": [PY, "-m", "archiver", "validate", "-q", "--jobs", j, str(packages)],
                    "bagit-python": [PY, "-c", BAGIT_VALIDATE_LOOP, str(packages), j]}
            cases.append(Case(name, packages, lambda tool, run_dir, cmds=cmds: cmds[tool], per="package"))
    return cases


# bagit-python has no store: its library validates the bags one after another, N side by side
BAGIT_VALIDATE_LOOP = ("import os, sys, bagit\n"
                       "from multiprocessing import Pool\n"
                       "def one(path):\n"
                       "    bagit.Bag(path).validate(processes=1)\n"
                       "    return path\n"
                       "if __name__ == '__main__':\n"
                       "    root = sys.argv[1]\n"
                       "    bags = [os.path.join(root, d) for d in sorted(os.listdir(root))]\n"
                       "    with Pool(int(sys.argv[2])) as pool:\n"
                       "        for _ in pool.imap(one, bags, chunksize=8):\n"
                       "            pass\n")


BAGIT_LOOP = ("import os, sys, bagit\n"
              "root = sys.argv[1]\n"
              "for d in sorted(os.listdir(root)):\n"
              "    bagit.make_bag(os.path.join(root, d), checksums=['sha256', 'sha512'])\n")


def _one_bag(tool: str, src: Path, run_dir: Path, j: str) -> list[str]:
    dst = link_copy(src, run_dir / "one-bag")
    os.sync()  # the copy's metadata is not the tools' to write out
    if tool == "archiver":
        return [PY, "-c", "import sys; from archiver.bagit.bag import make_bag; "
                "make_bag(sys.argv[1], jobs=int(sys.argv[2]))", str(dst), j]
    return [PY, "-m", "bagit", "--processes", j, "--sha256", "--sha512", str(dst)]


def _reports(tool: str, src: Path, run_dir: Path, j: str) -> list[str]:
    if tool == "archiver":
        run_dir.mkdir(parents=True)
        os.sync()
        return [PY, "-m", "archiver", "build", "-q", "--jobs", j, "--out", str(run_dir / "store"), str(src)]
    loop = run_dir / "bagit-loop"
    for report in sorted(src.iterdir()):  # one folder per report, holding a link to it
        folder = loop / report.stem
        folder.mkdir(parents=True)
        os.link(report, folder / report.name)
    os.sync()
    return [PY, "-c", BAGIT_LOOP, str(loop)]


def run_case(case: Case, rounds: int, work: Path, hash_seconds: float) -> dict:
    warm(case.data_root)
    runs: dict[str, list[dict]] = {"archiver": [], "bagit-python": []}
    start = interpreter_start()
    for r in range(rounds):
        order = ["archiver", "bagit-python"] if r % 2 == 0 else ["bagit-python", "archiver"]
        for tool in order:
            cmd = case.command(tool, work / f"{case.name}-{r}-{tool}")
            # what the machine can do right now: a shared VM's CPU speed drifts between runs,
            # and file creation slows down after mass deletions
            per_core, cores = hash_limit(seconds=hash_seconds / 4, trials=2)  # 2 algorithms x 2
            create = file_creation(work / f"probe-{case.name}-{r}-{tool}")
            result = measure(cmd)
            result.update(hash_limit=per_core * cores, cores=cores, file_creation=create, interpreter_start=start)
            runs[tool].append(result)
            log(f"  {case.name} round {r + 1}: {tool} {result['wall']:.2f} s "
                f"(cpu {result['cpu']:.2f} s, other load {result['other_load']:.2f} cores, "
                f"hash limit {per_core * cores / 1e6:.0f} MB/s, file creation {create * 1e6:.0f} µs)")
    for tool in runs:  # peak memory: one more run each, untimed, sampled (see measure)
        memory = measure(case.command(tool, work / f"{case.name}-memory-{tool}"), memory=True)
        for result in runs[tool]:
            result["tree_pss"] = memory["tree_pss"]
            result["maxrss"] = max(result["maxrss"], memory["maxrss"])
    return runs


def summarize(case: Case, runs: dict) -> dict:
    size, files = payload_bytes(case.data_root)
    items = files if case.per == "file" else sum(1 for _ in case.data_root.iterdir())
    ours = statistics.median(r["wall"] for r in runs["archiver"])
    theirs = statistics.median(r["wall"] for r in runs["bagit-python"])
    return {"case": case.name, "files": files, "bytes": size, "archiver_s": ours, "bagit_s": theirs,
            "items": items, "per": case.per, "archiver_per_item": ours / items,
            "archiver_cpu_per_item": statistics.median(r["cpu"] for r in runs["archiver"]) / items,
            "ratio": ours / theirs, "archiver_MBps": size / ours / 1e6,
            "hash_limit_share": statistics.median(size / r["wall"] / r["hash_limit"] for r in runs["archiver"]),
            # the same, once the interpreter has started (what the tool itself does)
            "hash_limit_share_started": statistics.median(
                size / max(r["wall"] - r["interpreter_start"], 1e-3) / r["hash_limit"] for r in runs["archiver"]),
            # the CPU time the tool spent, every process, against what hashing alone needs: what
            # the share would be on two idle cores, barely moved by the machine's other load
            "hash_cpu_share": statistics.median(
                size / (r["cpu"] * r["hash_limit"] / r["cores"]) for r in runs["archiver"]),
            "interpreter_start": runs["archiver"][0]["interpreter_start"],
            "file_creation": statistics.median(r["file_creation"] for rs in runs.values() for r in rs),
            "hash_limit": statistics.median(r["hash_limit"] for r in runs["archiver"]),
            "archiver_rss": max(r["maxrss"] for r in runs["archiver"]),
            "archiver_tree_pss": max(r["tree_pss"] for r in runs["archiver"]),
            "bagit_rss": max(r["maxrss"] for r in runs["bagit-python"]),
            "bagit_tree_pss": max(r["tree_pss"] for r in runs["bagit-python"]),
            "other_load": statistics.median(r["other_load"] for rs in runs.values() for r in rs),
            "runs": runs}


def table(rows: list[dict]) -> str:
    head = ("| case | data | archiver s | bagit-python s | ratio | archiver per item (CPU) | archiver MB/s "
            "| % hash limit (MB/s) | % after start | hashing's share of CPU | peak RSS archiver (tree PSS) "
            "| peak RSS bagit-python (tree PSS) | other load | file creation |")
    lines = [head, "|" + "---|" * (head.count("|") - 1)]
    for r in rows:
        data = f"{r['files']} files, {r['bytes'] / 1e6:.0f} MB"
        if r["per"] != "file":
            data = f"{r['items']} {r['per']}s, " + data
        lines.append(
            f"| {r['case']} | {data} | {r['archiver_s']:.2f} "
            f"| {r['bagit_s']:.2f} | {r['ratio']:.2f} "
            f"| {_per(r['archiver_per_item'])}/{r['per']} ({_per(r['archiver_cpu_per_item'])}) "
            f"| {r['archiver_MBps']:.0f} "
            f"| {100 * r['hash_limit_share']:.0f}% of {r['hash_limit'] / 1e6:.0f} "
            f"| {100 * r['hash_limit_share_started']:.0f}% ({r['interpreter_start']:.2f} s) "
            f"| {100 * r['hash_cpu_share']:.0f}% "
            f"| {r['archiver_rss'] / 1e6:.0f} MB ({r['archiver_tree_pss'] / 1e6:.0f} MB) "
            f"| {r['bagit_rss'] / 1e6:.0f} MB ({r['bagit_tree_pss'] / 1e6:.0f} MB) "
            f"| {r['other_load']:.2f} | {r['file_creation'] * 1e6:.0f} µs |")
    return "\n".join(lines)


def _per(seconds: float) -> str:
    return f"{seconds * 1e3:.2f} ms" if seconds >= 1e-3 else f"{seconds * 1e6:.0f} µs"


def log(message: str) -> None:
    print(message, file=sys.stderr, flush=True)


def parse_args(argv):
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--rounds", type=int, default=3, help="timed runs of each tool per case (default 3)")
    p.add_argument("--cases", default=",".join(CASES),
                   help=f"comma-separated subset of {', '.join(CASES)} (default: all)")
    p.add_argument("--scale", default="full",
                   help="data size: full, small (5%%), tiny, or a factor such as 0.1 (default full)")
    p.add_argument("--jobs", type=int, default=os.cpu_count() or 1,
                   help="--jobs / --processes given to both tools (default: CPU count)")
    p.add_argument("--data", type=Path, default=HERE / "data", help="where data is generated")
    p.add_argument("--json", type=Path, help="also write the results to this file")
    p.add_argument("--hash-seconds", type=float, default=0.3,
                   help="time spent measuring the hash limit before each run (default 0.3)")
    args = p.parse_args(argv)
    args.cases = [c.strip() for c in args.cases.split(",") if c.strip()]
    unknown = set(args.cases) - set(CASES)
    if unknown:
        p.error(f"unknown case(s): {', '.join(sorted(unknown))}")
    try:
        args.scale = SCALES[args.scale] if args.scale in SCALES else float(args.scale)
    except ValueError:
        p.error(f"--scale: {args.scale!r} is neither {', '.join(SCALES)} nor a number")
    args.data = args.data.resolve()
    return args


def main(argv=None) -> None:
    argv = sys.argv[1:] if argv is None else argv
    if argv[:1] in (["--measure"], ["--measure-memory"]) and argv[1:2] == ["--"]:
        return _measure_main(argv[2:], memory=argv[0] == "--measure-memory")
    args = parse_args(argv)
    work = args.data / f"scale-{args.scale:g}" / f"work-{os.getpid()}"
    # archiver's bytecode, as an installed archiver has it (pip compiles at install; Python
    # writes it at first import unless PYTHONDONTWRITEBYTECODE is set, as on the dev VM):
    # bagit.py, installed from a wheel, has its own, and compiling costs ~25 ms a run
    run([PY, "-m", "compileall", "-q", str(REPO / "archiver")])
    try:
        rows = [summarize(case, run_case(case, args.rounds, work, args.hash_seconds))
                for case in make_cases(args, args.scale)]
    finally:
        shutil.rmtree(work, ignore_errors=True)
    limits = [r["hash_limit"] for r in rows]
    print(f"scale {args.scale:g}, {args.rounds} round(s), --jobs {args.jobs}; hash limit "
          f"({'+'.join(ALGORITHMS)}, one read, x {os.cpu_count()} cores) {min(limits) / 1e6:.0f}"
          f"-{max(limits) / 1e6:.0f} MB/s, measured before each run")
    print(table(rows))
    if args.json:
        args.json.write_text(json.dumps({"scale": args.scale, "rounds": args.rounds, "jobs": args.jobs,
                                         "cases": rows}, indent=2))


if __name__ == "__main__":
    main()
