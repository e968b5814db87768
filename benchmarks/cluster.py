#!/usr/bin/env python
"""The local pool against a Dask cluster of 2 workers on the same machine (see benchmarks/README.md).

    python benchmarks/cluster.py [--rounds 3] [--scale full|small|tiny|0.1] [--cases ...]

Both run `archiver` as a subprocess on the same data as benchmarks/run.py (the bags that
bagit-python made, the reports), alternating which goes first, on a warm page cache: the local
pool with `--jobs N`, the cluster with `--cluster ADDRESS` (a `dask scheduler` and N
`dask worker --nthreads 1` processes started once, before the clock). For each cluster run it
asks the scheduler how many tasks finished and how much CPU time the scheduler process spent
meanwhile: the scheduler's time per task, and the CPU time of the archiver command itself (the
client: what stays on one machine, such as judging packages and writing audit's ledger). A
cluster run also pays for importing Dask and connecting, once per command: `connect` shows that
fixed cost (a cluster run on one tiny bag).
"""
from __future__ import annotations

import argparse
import shutil
import statistics
import sys
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path[:0] = [str(HERE), str(HERE.parent / "tests" / "executor")]

import run as bench  # noqa: E402  (benchmarks/run.py: data sets, timing)
from dask_cluster import Cluster  # noqa: E402  (the test suite's real cluster)

CASES = ("validate-many-small", "validate-few-large", "build-reports", "validate-store", "audit-store")
PY = sys.executable


def scheduler_counters(address: str) -> tuple[int, float]:
    """(archiver tasks finished so far, CPU seconds of the scheduler process so far)."""
    from distributed import Client

    def count(dask_scheduler):
        import time as t
        done = sum(p.state_counts["memory"] for name, p in dask_scheduler.task_prefixes.items()
                   if name.startswith("archiver_"))
        return done, t.process_time()

    with Client(address, set_as_default=False) as client:
        return client.run_on_scheduler(count)


def commands(case: str, data: Path, scale: float, jobs: int, run_dir: Path) -> dict[str, list[str]]:
    j = str(jobs)
    if case.startswith("validate-") and case != "validate-store":
        bag = bench.bagit_bag(data, case[len("validate-"):], scale, jobs)
        target = [str(bag)]
        base = [PY, "-m", "archiver", "validate", "-q"]
        return {"local": base + ["--jobs", j] + target, "cluster": base + target}
    if case == "build-reports":
        src = bench.dataset(data, "reports", scale)
        base = [PY, "-m", "archiver", "build", "-q"]
        return {"local": base + ["--jobs", j, "--out", str(run_dir / "local"), str(src)],
                "cluster": base + ["--out", str(run_dir / "cluster"), str(src)]}
    store = store_of_reports(data, scale, jobs)
    if case == "audit-store":  # against ledgers that know the packages (see prime): the nightly run
        base = [PY, "-m", "archiver", "audit", "-q", "--ledger"]
        ledgers = run_dir.parent / "ledgers"
        return {"local": base + [str(ledgers / "local.sqlite"), "--jobs", j, str(store)],
                "cluster": base + [str(ledgers / "cluster.sqlite"), str(store)]}
    base = [PY, "-m", "archiver", "validate", "-q"]
    return {"local": base + ["--jobs", j, str(store)], "cluster": base + [str(store)]}


def prime(case: str, data: Path, scale: float, jobs: int, work: Path, address: str) -> None:
    """Untimed runs a case needs first: audit's first round, which writes each ledger's baseline."""
    if case != "audit-store":
        return
    (work / "ledgers").mkdir(parents=True, exist_ok=True)
    cmds = commands(case, data, scale, jobs, work / "prime")
    bench.run(cmds["local"])
    bench.run(cmds["cluster"] + ["--cluster", address])


def store_of_reports(data: Path, scale: float, jobs: int) -> Path:
    store = data / f"scale-{scale:g}" / "store-reports"
    stamp = store.with_name("store-reports.done")
    if not stamp.exists():
        bench.run([PY, "-m", "archiver", "build", "-q", "--no-fsync", "--jobs", str(jobs), "--out",
                   str(store), str(bench.dataset(data, "reports", scale))])
        stamp.write_text("")
    return store


def main(argv=None) -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--rounds", type=int, default=3)
    p.add_argument("--scale", default="full")
    p.add_argument("--cases", default=",".join(CASES))
    p.add_argument("--workers", type=int, default=2, help="cluster workers, one thread each (default 2)")
    p.add_argument("--data", type=Path, default=HERE / "data")
    args = p.parse_args(argv)
    scale = bench.SCALES.get(args.scale) or float(args.scale)
    data = args.data.resolve()
    work = data / f"scale-{scale:g}" / f"cluster-work-{time.time_ns()}"
    cluster = Cluster(work / "dask", workers=args.workers)
    rows = []
    try:
        tiny = bench.bagit_bag(data, "few-large", bench.SCALES["tiny"], args.workers)
        before = scheduler_counters(cluster.address)
        fixed = [bench.measure([PY, "-m", "archiver", "validate", "-q", "--cluster", cluster.address,
                                str(tiny)]) for _ in range(3)]
        connect = statistics.median(m["wall"] for m in fixed)
        connect_cpu = statistics.median(m["cpu"] for m in fixed)
        after = scheduler_counters(cluster.address)
        fixed_cpu = (after[1] - before[1]) / 3  # a connection, the storage check, one task
        for case in (c.strip() for c in args.cases.split(",") if c.strip()):
            times = {"local": [], "cluster": []}
            tasks, per_task, client = [], [], []
            bench.warm(Path(commands(case, data, scale, args.workers, work)["local"][-1]))
            prime(case, data, scale, args.workers, work, cluster.address)
            for r in range(args.rounds):
                for kind in (("local", "cluster") if r % 2 == 0 else ("cluster", "local")):
                    run_dir = work / f"{case}-{r}-{kind}"
                    run_dir.mkdir(parents=True)
                    cmd = commands(case, data, scale, args.workers, run_dir)[kind]
                    if kind == "cluster":
                        cmd += ["--cluster", cluster.address]
                        before = scheduler_counters(cluster.address)
                    measured = bench.measure(cmd)
                    wall = measured["wall"]
                    times[kind].append(wall)
                    if kind == "cluster":
                        client.append(measured["cpu"])
                        after = scheduler_counters(cluster.address)
                        n = after[0] - before[0]
                        tasks.append(n)
                        per_task.append((after[1] - before[1]) / max(n, 1))
                    bench.log(f"  {case} round {r + 1}: {kind} {wall:.2f} s")
            local, remote = statistics.median(times["local"]), statistics.median(times["cluster"])
            rows.append((case, local, remote, remote / local, statistics.median(tasks),
                         statistics.median(per_task), statistics.median(client)))
    finally:
        cluster.stop()
        shutil.rmtree(work, ignore_errors=True)
    print(f"scale {scale:g}, {args.rounds} round(s), local --jobs {args.workers} against "
          f"{args.workers} workers x 1 thread; a cluster command's fixed cost (import Dask, "
          f"connect, check the storage, one tiny bag): {connect:.2f} s, of which the scheduler's CPU "
          f"{fixed_cpu * 1e3:.0f} ms (counted in the per-task figures below) and the client's CPU "
          f"{connect_cpu:.2f} s")
    print("| case | local s | cluster s | ratio | tasks | scheduler CPU per task | client CPU s |")
    print("|---|---|---|---|---|---|---|")
    for case, local, remote, ratio, n, cost, cpu in rows:
        print(f"| {case} | {local:.2f} | {remote:.2f} | {ratio:.2f} | {n:.0f} | {cost * 1e3:.2f} ms | "
              f"{cpu:.2f} |")


if __name__ == "__main__":
    main()
