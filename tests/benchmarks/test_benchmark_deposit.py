"""benchmarks/deposit.py on tiny data, one round, the root checked by ocfl-py.

Times are never asserted: this only keeps the benchmark working.
"""
from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]


def test_deposit_benchmark_runs_on_tiny_data(tmp_path):
    out = subprocess.run([sys.executable, str(REPO / "benchmarks" / "deposit.py"), "--scale", "tiny",
                          "--rounds", "1", "--check", "--data", str(tmp_path / "data"),
                          "--json", str(tmp_path / "results.json")],
                         cwd=REPO, capture_output=True, text=True, timeout=300)
    assert out.returncode == 0, out.stderr[-3000:]
    assert "ocfl-py: 2 objects valid" in out.stderr
    for run in ("build (baseline)", "deposit into a new OCFL root", "deposit again (no-op)"):
        assert any(line.startswith(f"| {run} | 2 |") for line in out.stdout.splitlines()), out.stdout
    results = json.loads((tmp_path / "results.json").read_text())
    assert results["packages"] == 2
    assert all(results[k] > 0 for k in ("build_s", "deposit_s", "noop_s"))
    assert not list((tmp_path / "data").glob("scale-*/deposit-work-*"))  # work folders removed


def test_the_steps_of_a_deposit_on_a_few_packages(tmp_path):
    out = subprocess.run([sys.executable, str(REPO / "benchmarks" / "deposit.py"), "--steps", "3",
                          "--rounds", "1", "--data", str(tmp_path / "data")],
                         cwd=REPO, capture_output=True, text=True, timeout=300)
    assert out.returncode == 0, out.stderr[-3000:]
    rows = dict(line.strip("|").split("|")[:2] for line in out.stdout.splitlines()
                if line.startswith("| ") and not line.startswith("| step"))
    steps = {k.strip(): float(v) for k, v in rows.items()}
    assert {"validation", "fingerprint", "record", "the rest", "total"} <= steps.keys(), out.stdout
    assert steps["validation"] > 0 and steps["record"] > 0
    assert not list((tmp_path / "data").glob("deposit-steps-*"))  # work folders removed
