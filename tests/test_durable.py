"""durable.py: the check that a worker's parent still runs; the file system sync."""
from __future__ import annotations

import os
import subprocess
import sys
import time

import pytest

from archiver.durable import _alive, sync_filesystem

from debian import ensure_command


def test_a_parent_that_died_unreaped_is_not_alive():
    """A zombie still answers kill(pid, 0): a worker that trusted it would outlive its parent."""
    pid = os.fork()
    if pid == 0:
        os._exit(0)
    try:
        deadline = time.monotonic() + 10
        while _alive(pid) and time.monotonic() < deadline:
            time.sleep(0.01)
        assert not _alive(pid)
        os.kill(pid, 0)  # the zombie is still there, and kill(pid, 0) says so
    finally:
        os.waitpid(pid, 0)
    assert _alive(os.getpid())


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="syncfs is Linux's")
def test_the_sync_is_of_the_one_file_system_and_says_what_failed(tmp_path):
    strace = ensure_command("strace", "strace")  # installed when missing, as .ci/run does
    log = tmp_path / "strace.log"
    done = subprocess.run([strace, "-f", "-e", "trace=sync,syncfs", "-o", str(log), sys.executable, "-c",
                           "import sys; from archiver.durable import sync_filesystem; sync_filesystem(sys.argv[1])",
                           str(tmp_path)], capture_output=True, text=True, timeout=60)
    assert done.returncode == 0, done.stderr
    calls = [line for line in log.read_text().splitlines() if "sync" in line]
    assert any("syncfs(" in c and "= 0" in c for c in calls) and not any(" sync()" in c or c.endswith("sync()") for c in calls), calls
    with pytest.raises(FileNotFoundError):
        sync_filesystem(tmp_path / "gone")
