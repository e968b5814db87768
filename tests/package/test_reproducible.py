"""SOURCE_DATE_EPOCH: the same input built twice, in other folders and at other times, gives
byte-identical packages."""
from __future__ import annotations

import shutil
import subprocess
import sys
import time
from pathlib import Path

EXAMPLES = Path(__file__).resolve().parents[2] / "examples" / "reports"


def _tree(root: Path) -> dict[str, bytes]:
    return {str(p.relative_to(root)): p.read_bytes() for p in sorted(root.rglob("*")) if p.is_file()}


def _build(where: Path, name: str, epoch: str | None) -> Path:
    where.mkdir(parents=True)
    shutil.copytree(EXAMPLES, where / name)
    env = {k: v for k, v in __import__("os").environ.items() if k != "SOURCE_DATE_EPOCH"}
    if epoch:
        env["SOURCE_DATE_EPOCH"] = epoch
    done = subprocess.run([sys.executable, "-m", "archiver", "build", name, "--out", "out", "--no-fsync", "-q"],
                          cwd=where, env=env, capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stdout + done.stderr
    return where / "out"


def test_builds_with_source_date_epoch_are_byte_identical(tmp_path):
    first = _tree(_build(tmp_path / "a", "reports", "1764547200"))
    time.sleep(1.1)  # another second on the clock
    second = _tree(_build(tmp_path / "elsewhere" / "b", "other-name", "1764547200"))
    assert len(first) > 30 and first == second
    assert any(b"2025-12-01T00:00:00Z" in data for name, data in first.items() if name.endswith("premis.xml"))
    info = next(data for name, data in first.items() if name.endswith("bag-info.txt"))
    assert b"Bagging-Date: 2025-12-01" in info


def test_without_it_event_identifiers_are_fresh(tmp_path):
    first = _tree(_build(tmp_path / "a", "reports", None))
    second = _tree(_build(tmp_path / "b", "reports", None))
    premis = [n for n in first if n.endswith("premis.xml")][0]
    assert first[premis] != second[premis]
