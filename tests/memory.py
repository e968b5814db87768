"""Peak memory of a command, measured from outside: the command runs as the child of a small
watcher process, whose RUSAGE_CHILDREN maximum is the largest resident set any process of
the command reached (workers included, once waited for)."""
from __future__ import annotations

import json
import subprocess
import sys

_WATCHER = """
import json, resource, subprocess, sys
done = subprocess.run(sys.argv[1:], capture_output=True, text=True)
print(json.dumps({"rc": done.returncode, "out": done.stdout, "err": done.stderr,
                  "peak": resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss * 1024}))
"""


def peak_rss(cmd: list[str], timeout: float = 300, cwd=None) -> tuple[subprocess.CompletedProcess, int]:
    """Run `cmd`; returns its result and its peak resident set size in bytes."""
    watcher = subprocess.run([sys.executable, "-c", _WATCHER, *cmd], capture_output=True,
                             text=True, timeout=timeout, cwd=cwd)
    assert watcher.returncode == 0, watcher.stderr
    data = json.loads(watcher.stdout)
    return subprocess.CompletedProcess(cmd, data["rc"], data["out"], data["err"]), data["peak"]


def zeros_gzip(path, size: int, prefix: bytes = b"", level: int = 1) -> None:
    """A gzip file expanding to `prefix` then zeros up to `size` bytes, written as it goes
    (a 1 GB expansion is a 1 MB file)."""
    import zlib

    block = bytes(1 << 20)
    packer = zlib.compressobj(level, wbits=31)
    with open(path, "wb") as out:
        out.write(packer.compress(prefix))
        left = size - len(prefix)
        while left > 0:
            out.write(packer.compress(block[:min(left, len(block))]))
            left -= len(block)
        out.write(packer.flush())
