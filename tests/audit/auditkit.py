"""Helpers for the audit tests (fixtures are in conftest.py)."""
from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path


def run_audit(*locations, ledger, **kw):
    from archiver.audit import audit
    return audit([str(p) for p in locations], ledger=ledger, config=kw.pop("config", {}),
                 jobs=kw.pop("jobs", 2), **kw)


def findings(run) -> set[tuple[str, str, str]]:
    """(package folder name, code, path) of every finding of a run."""
    return {(os.path.basename(r.location), f.code, f.path) for r in run.results for f in r.findings}


def payload_file(package: Path) -> Path:
    return sorted((package / "data").iterdir())[0]


def cli(*args, cwd=None, env=None, timeout=300) -> subprocess.CompletedProcess:
    full_env = {k: v for k, v in os.environ.items() if not k.startswith("ARCHIVER_CRASH_")}
    full_env.update(env or {})
    return subprocess.run([sys.executable, "-m", "archiver", *map(str, args)], cwd=cwd,
                          env=full_env, capture_output=True, text=True, timeout=timeout)
