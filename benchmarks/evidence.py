"""Sealing and verifying a store of 2,000 packages against a local time-stamping authority.

    python benchmarks/evidence.py                 # 2,000 packages, 3 rounds
    python benchmarks/evidence.py --scale small   # 100 packages, 1 round

Builds the reports of run.py's `reports` set into a store once (under benchmarks/data/),
then, each round on a fresh copy: `archiver seal STORE` (one token per authority for the
whole store, two authorities: the test TSA of tests/tsa_server.py, `openssl ts -reply` on
127.0.0.1), `archiver validate STORE` on the unsealed and on the sealed copy (validate
verifies every seal: the difference is what verification costs on top of a full
validation) and `archiver verify STORE` (standalone: it hashes every payload file itself);
`archiver audit STORE` against a ledger that knows the packages (the nightly case), before
and after sealing (the audit verifies every seal from the digests it computed: the
difference is what the seals cost an audit). Prints medians in seconds.
"""
from __future__ import annotations

import argparse
import os
import shutil
import statistics
import subprocess
import sys
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path[:0] = [str(HERE), str(HERE.parent / "tests")]

from run import dataset  # noqa: E402
from tsa_server import TestAuthorities  # noqa: E402


def archiver(*args: str, cwd: Path) -> float:
    start = time.perf_counter()
    done = subprocess.run([sys.executable, "-m", "archiver", *args], cwd=cwd, capture_output=True, text=True)
    elapsed = time.perf_counter() - start
    if done.returncode not in (0,):
        raise SystemExit(f"archiver {' '.join(args)} failed ({done.returncode}):\n{done.stdout[-2000:]}{done.stderr[-2000:]}")
    return elapsed


def main(argv=None) -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--scale", default="full", help="full (2,000 packages), small (100) or a factor")
    ap.add_argument("--rounds", type=int, default=3)
    ap.add_argument("--jobs", default=str(os.cpu_count() or 1))
    args = ap.parse_args(argv)
    scale = {"full": 1.0, "small": 0.05, "tiny": 0.005}.get(args.scale) or float(args.scale)
    data = HERE / "data"
    reports = dataset(data, "reports", scale)
    built = data / f"evidence-store-{scale:g}"
    if not built.exists():
        tmp = built.with_name(built.name + ".tmp")
        shutil.rmtree(tmp, ignore_errors=True)
        archiver("build", "-q", "--no-fsync", "--jobs", args.jobs, "--out", str(tmp), str(reports), cwd=HERE.parent)
        tmp.rename(built)
    work = data / "evidence-work"
    shutil.rmtree(work, ignore_errors=True)
    work.mkdir()
    authorities = TestAuthorities(work / "pki")
    a, b = authorities.add("one"), authorities.add("two")
    key = work / "seal.key"
    archiver("keygen", str(key), cwd=work)
    (work / "archiver.toml").write_text(f'[evidence]\nkey = "{key}"\ntsa = ["{a.url}", "{b.url}"]\n'
                                        f'trust = ["{authorities.root_pem}"]\nsigners = ["{key}.pub"]\n')
    times: dict[str, list[float]] = {k: [] for k in ("seal", "validate unsealed", "validate sealed", "verify",
                                                     "audit unsealed", "audit sealed")}
    count = sum(1 for _ in built.iterdir())
    for r in range(args.rounds):
        store = work / f"store-{r}"
        shutil.copytree(built, store)
        times["validate unsealed"].append(archiver("validate", "-q", "--jobs", args.jobs, str(store), cwd=work))
        ledger = work / f"ledger-{r}.sqlite"
        audit = ("audit", "-q", "--jobs", args.jobs, "--ledger", str(ledger), str(store))
        archiver(*audit, cwd=work)  # first seen: the baseline
        times["audit unsealed"].append(archiver(*audit, cwd=work))
        before = authorities.requests
        times["seal"].append(archiver("seal", "-q", str(store), cwd=work))
        assert authorities.requests - before == 2, "one request per authority for the whole store"
        times["validate sealed"].append(archiver("validate", "-q", "--jobs", args.jobs, str(store), cwd=work))
        times["verify"].append(archiver("verify", str(store), cwd=work))
        archiver(*audit, cwd=work)  # the seals accepted as growth
        times["audit sealed"].append(archiver(*audit, cwd=work))
        shutil.rmtree(store)
    authorities.stop()
    med = {k: statistics.median(v) for k, v in times.items()}
    print(f"{count} packages, {args.rounds} round(s), --jobs {args.jobs}; medians:")
    for k, v in med.items():
        print(f"  {k:18} {v:7.2f} s  ({', '.join(f'{x:.2f}' for x in times[k])})")
    extra = med["validate sealed"] - med["validate unsealed"]
    print(f"  verification on top of a full validation: {extra:+.2f} s ({100 * extra / med['validate unsealed']:+.1f} %)")
    extra = med["audit sealed"] - med["audit unsealed"]
    print(f"  verification on top of an audit: {extra:+.2f} s ({100 * extra / med['audit unsealed']:+.1f} %)")
    shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
