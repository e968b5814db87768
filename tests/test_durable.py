"""durable.py's check that a worker's parent still runs."""
from __future__ import annotations

import os
import time

from archiver.durable import _alive


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
