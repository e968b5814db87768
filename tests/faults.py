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
import time
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
    """Run `cmd` with every process of it killed (SIGKILL) at its n-th step (counted across
    its processes, as steps_of counts them); asserts it died. The command runs in a process
    group of its own, which the crash kills whole; none of it may outlive the crash."""
    with tempfile.TemporaryDirectory() as tmp:
        env = _env({"ARCHIVER_CRASH_AT": str(n), "ARCHIVER_CRASH_LOG": str(Path(tmp) / "steps")})
        proc = subprocess.Popen(cmd, cwd=cwd, env=env, stdout=subprocess.PIPE,
                                stderr=subprocess.PIPE, text=True, start_new_session=True)
        try:
            out, err = proc.communicate(timeout=timeout)
        finally:
            left = _outliving(proc.pid)
            _kill_group(proc.pid)
    assert proc.returncode == -signal.SIGKILL, (n, proc.returncode, out + err)
    assert not left, f"step {n}: processes outlived the crash: {left}"
    return subprocess.CompletedProcess(cmd, proc.returncode, out, err)


def processes_in_group(pgid: int) -> list[int]:
    """Live processes (zombies aside) of a process group, from /proc."""
    found = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            stat = (entry / "stat").read_text()
        except OSError:
            continue
        fields = stat[stat.rindex(")") + 2:].split()  # after "pid (comm) "
        if fields[0] != "Z" and int(fields[2]) == pgid:
            found.append(int(entry.name))
    return found


def _outliving(pgid: int, grace: float = 2.0) -> list[int]:
    """Processes of the group still alive after `grace` seconds (a SIGKILLed process takes
    a moment to go)."""
    deadline = time.monotonic() + grace
    while (left := processes_in_group(pgid)) and time.monotonic() < deadline:
        time.sleep(0.02)
    return left


def _kill_group(pgid: int) -> None:
    try:
        os.killpg(pgid, signal.SIGKILL)
    except ProcessLookupError:
        pass


def crash_every_step(cmd: list[str], check, cwd: str | os.PathLike | None = None,
                     prepare=None, timeout: float = 120) -> int:
    """Kill `cmd` at each of its steps in turn; after each crash call `check(n)` (which reruns
    and judges). `prepare()`, when given, lays out the input afresh before each run (it is
    called before counting too). Returns the number of steps."""
    if prepare:
        prepare()
    steps = steps_of(cmd, cwd=cwd, timeout=timeout)
    assert steps, "the operation took no step: nothing to crash"
    for n in range(1, len(steps) + 1):
        if prepare:
            prepare()
        run_killed_at(cmd, n, cwd=cwd, timeout=timeout)
        check(n)
    return len(steps)


def random_bags(folder, count: int, files: int, size: int) -> None:
    """`count` bags under `folder` (b00, b01, ...), each of `files` random files of `size` bytes:
    enough work for a pool's workers to be seen (and killed) while they run."""
    from archiver.bagit.bag import make_bag

    for n in range(count):
        bag = Path(folder) / f"b{n:02}"
        bag.mkdir(parents=True)
        for i in range(files):
            (bag / f"f{i}.bin").write_bytes(os.urandom(size))
        make_bag(bag, durable=False, jobs=1)
