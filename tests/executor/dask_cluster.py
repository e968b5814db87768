"""A real Dask cluster on 127.0.0.1: one scheduler and workers, each its own process, as an
institution would start them (`dask scheduler`, `dask worker`), on explicit free ports and
without dashboards. Used by the tests and by benchmarks/cluster.py."""
from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
from pathlib import Path

DASK = str(Path(sys.executable).with_name("dask"))


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def wait_for_port(port: int, proc: subprocess.Popen, timeout: float = 60) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise RuntimeError(f"{proc.args[:2]} exited with {proc.returncode}")
        try:
            socket.create_connection(("127.0.0.1", port), timeout=0.5).close()
            return
        except OSError:
            time.sleep(0.1)
    raise RuntimeError(f"nothing listens on 127.0.0.1:{port} after {timeout} s")


def stop(proc: subprocess.Popen) -> None:
    if proc.poll() is None:
        proc.terminate()
        try:
            proc.wait(10)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()


class Cluster:
    """`dask scheduler` and `workers` x `dask worker --nthreads 1 --no-nanny` (so the process
    started is the worker: killing it kills the worker, no nanny brings it back)."""

    def __init__(self, folder: Path, workers: int = 2):
        self.folder = folder
        self.port = free_port()
        self.address = f"tcp://127.0.0.1:{self.port}"
        self.logs = folder / "logs"
        self.logs.mkdir(parents=True, exist_ok=True)
        self.scheduler = self._start("scheduler", [DASK, "scheduler", "--host", "127.0.0.1",
                                                   "--port", str(self.port), "--no-dashboard"])
        wait_for_port(self.port, self.scheduler)
        self.workers: list[subprocess.Popen] = []
        try:
            for i in range(workers):
                self.add_worker(f"w{i}")
            self.wait_for_workers(workers)
        except BaseException:
            self.stop()
            raise

    def _start(self, name: str, cmd: list[str], cwd: Path | None = None) -> subprocess.Popen:
        log = open(self.logs / f"{name}.log", "ab")
        env = {k: v for k, v in os.environ.items() if not k.startswith("ARCHIVER_CRASH_")}
        # Dask's statistical profiler samples every task thread's stack 100 times a second:
        # it slowed validating small bags by a quarter here (README: what a cluster costs)
        env["DASK_DISTRIBUTED__WORKER__PROFILE__ENABLED"] = "False"
        # a worker's working directory is not the client's: paths must travel absolute
        return subprocess.Popen(cmd, stdout=log, stderr=subprocess.STDOUT, cwd=cwd or self.folder,
                                env=env, start_new_session=True)

    def add_worker(self, name: str) -> subprocess.Popen:
        port = free_port()
        home = self.folder / name
        home.mkdir(exist_ok=True)
        proc = self._start(name, [DASK, "worker", self.address, "--nthreads", "1", "--no-nanny",
                                  "--name", name, "--host", "127.0.0.1", "--worker-port", str(port),
                                  "--no-dashboard", "--local-directory", str(home / "dask"),
                                  "--death-timeout", "60"], cwd=home)
        self.workers.append(proc)
        return proc

    def wait_for_workers(self, n: int, timeout: float = 60) -> None:
        from distributed import Client

        with Client(self.address, timeout=timeout, set_as_default=False) as client:
            client.wait_for_workers(n, timeout=timeout)

    def stop(self) -> None:
        for proc in self.workers:
            stop(proc)
        stop(self.scheduler)

    def log(self) -> str:
        return "\n".join(f"== {p.name}\n{p.read_text(errors='replace')[-3000:]}"
                         for p in sorted(self.logs.glob("*.log")))
