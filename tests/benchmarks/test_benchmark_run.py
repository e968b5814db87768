"""benchmarks/run.py on tiny data, one round: it runs every case and prints the table.

Times are never asserted: this only keeps the benchmark working.
"""
from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
CASES = ("validate-many-small", "validate-few-large", "build-many-small", "build-reports", "validate-store")


def test_benchmark_runs_on_tiny_data(tmp_path):
    out = subprocess.run([sys.executable, str(REPO / "benchmarks" / "run.py"), "--scale", "tiny",
                          "--rounds", "1", "--hash-seconds", "0.02", "--data", str(tmp_path / "data"),
                          "--json", str(tmp_path / "results.json")],
                         cwd=REPO, capture_output=True, text=True, timeout=300)
    assert out.returncode == 0, out.stderr[-3000:]
    lines = out.stdout.splitlines()
    assert any(line.startswith("| case | data | archiver s | bagit-python s | ratio") for line in lines)
    for case in CASES:
        assert any(line.startswith(f"| {case} |") for line in lines), out.stdout
    results = json.loads((tmp_path / "results.json").read_text())
    assert [c["case"] for c in results["cases"]] == list(CASES)
    assert all(c["archiver_s"] > 0 and c["bagit_s"] > 0 for c in results["cases"])
    assert all(c["interpreter_start"] > 0 and c["file_creation"] > 0 for c in results["cases"])
    assert not list((tmp_path / "data").glob("scale-*/work-*"))  # work folders removed


def test_serve_benchmark_runs_on_a_small_store(tmp_path):
    out = subprocess.run([sys.executable, str(REPO / "benchmarks" / "serve.py"), "--packages", "60",
                          "--rounds", "1", "--data", str(tmp_path / "data"),
                          "--json", str(tmp_path / "serve.json")],
                         cwd=REPO, capture_output=True, text=True, timeout=300)
    assert out.returncode == 0, out.stderr[-3000:]
    results = json.loads((tmp_path / "serve.json").read_text())
    assert results["packages"] == 60 and len(results["cases"]) == 9
    assert all(c["median_s"] > 0 and c["bytes"] > 0 for c in results["cases"])


def test_floor_benchmark_runs_on_tiny_data(tmp_path):
    out = subprocess.run([sys.executable, str(REPO / "benchmarks" / "floor.py"), "--scale", "tiny",
                          "--rounds", "2", "--data", str(tmp_path / "data")],
                         cwd=REPO, capture_output=True, text=True, timeout=300)
    assert out.returncode == 0, out.stderr[-3000:]
    rows = [line.split("|")[1:-1] for line in out.stdout.splitlines() if line.startswith("| validate-")]
    assert [r[0].strip() for r in rows] == ["validate-many-small", "validate-few-large"]
    assert all(float(r[1].split()[0]) > 0 and float(r[3].split()[0]) > 0 for r in rows)  # both were timed
