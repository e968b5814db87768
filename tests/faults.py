"""Fault injection: run an archiver command killed at its N-th write, rename or removal.

archiver.durable.step() counts the steps of every multi-step write; the environment decides
what happens at each (ARCHIVER_CRASH_LOG lists them, ARCHIVER_CRASH_AT=N kills at the N-th).
A crash test counts an operation's steps once, then runs it killed at each step in turn.
"""
from __future__ import annotations

import os
import signal
import subprocess
import sys
import tempfile
from pathlib import Path


def archiver_command(*args: str) -> list[str]:
    return [sys.executable, "-m", "archiver", *args]


def _env(extra: dict[str, str]) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("ARCHIVER_CRASH_")}
    env.update(extra)
    return env


def steps_of(cmd: list[str], cwd: str | os.PathLike | None = None, timeout: float = 120) -> list[str]:
    """The steps `cmd` takes when nothing kills it (it must succeed), one line each:
    `<pid> <n> <what>`."""
    with tempfile.TemporaryDirectory() as tmp:
        log = Path(tmp) / "steps"
        done = subprocess.run(cmd, cwd=cwd, env=_env({"ARCHIVER_CRASH_LOG": str(log)}),
                              capture_output=True, text=True, timeout=timeout)
        assert done.returncode == 0, done.stdout + done.stderr
        return log.read_text(encoding="utf-8").splitlines() if log.exists() else []


def run_killed_at(cmd: list[str], n: int, cwd: str | os.PathLike | None = None,
                  timeout: float = 120) -> subprocess.CompletedProcess:
    """Run `cmd` with every process of it killed (SIGKILL) at its n-th step; asserts it died."""
    done = subprocess.run(cmd, cwd=cwd, env=_env({"ARCHIVER_CRASH_AT": str(n)}),
                          capture_output=True, text=True, timeout=timeout)
    assert done.returncode == -signal.SIGKILL, (n, done.returncode, done.stdout + done.stderr)
    return done
