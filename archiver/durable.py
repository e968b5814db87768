"""Durable writes, and the one place every step of a multi-step write goes through.

Every write, rename and removal that an update of a package, a store or a repository is made
of calls `step()` just before it happens. That gives tests a way to crash an operation at each
of its steps in turn, not at random moments:

- `ARCHIVER_CRASH_AT=N` kills the process (SIGKILL, no clean-up) at its N-th step;
- `ARCHIVER_CRASH_LOG=FILE` appends one line per step, `<pid> <n> <what>`, so a test can count
  an operation's steps first (n counts across all the operation's processes).

Neither is read unless set; a normal run pays one dictionary look-up per step.
"""
from __future__ import annotations

import functools
import os
import re
import signal
import sys
from pathlib import Path

_CRASH_AT = os.environ.get("ARCHIVER_CRASH_AT")
_CRASH_LOG = os.environ.get("ARCHIVER_CRASH_LOG")
_steps = 0
# The process group an operation was started in (by the faults helpers, or a shell's job),
# passed down to its workers: a crash kills the whole operation, workers included, as a
# power cut or kill -9 of the command would. A group this process did not start is never hit.
if (_CRASH_AT or _CRASH_LOG) and "ARCHIVER_CRASH_GROUP" not in os.environ and os.getpgrp() == os.getpid():
    os.environ["ARCHIVER_CRASH_GROUP"] = str(os.getpid())


def step(what: str) -> None:
    """Count one step of a multi-step write (called just before the step is taken).

    With a log, steps are counted across every process of the operation (the log, locked,
    is the counter), so N names the same step in every run even when workers do the
    writes."""
    global _steps
    if _CRASH_AT is None and _CRASH_LOG is None:
        return
    if _CRASH_LOG:
        import fcntl

        with open(_CRASH_LOG, "a+", encoding="utf-8") as log:
            fcntl.flock(log, fcntl.LOCK_EX)
            log.seek(0)
            _steps = sum(1 for _ in log) + 1
            log.write(f"{os.getpid()} {_steps} {what}\n")
            log.flush()
    else:
        _steps += 1
    if _CRASH_AT is not None and _steps == int(_CRASH_AT):
        group = os.environ.get("ARCHIVER_CRASH_GROUP")
        if group and int(group) == os.getpgrp():
            os.killpg(os.getpgrp(), signal.SIGKILL)
        os.kill(os.getpid(), signal.SIGKILL)


_NEW_FILE = os.O_WRONLY | os.O_CREAT | os.O_TRUNC | getattr(os, "O_CLOEXEC", 0) | getattr(os, "O_BINARY", 0)


def write_file(path: str | os.PathLike, data: bytes, durable: bool = False) -> None:
    """Write a new file. os-level calls: a file object costs two extra system calls per file,
    and a package is a dozen small files."""
    step(f"write {path}")
    fd = os.open(path, _NEW_FILE, 0o666)
    try:
        view = memoryview(data)
        while view:
            view = view[os.write(fd, view):]
        if durable:
            os.fsync(fd)
    finally:
        os.close(fd)


# archiver's own temporaries: `.NAME.XXXXXXXX` beside the file they will replace (mkstemp's
# eight characters), and hidden folders named `.archiver-...` or `.new.tmp-...`. They are
# never evidence: never listed in a manifest, never deposited, removed by the next run.
_MKSTEMP = re.compile(r"^\..+\.[a-z0-9_]{8}$")


def is_temporary(name: str) -> bool:
    """Whether a file or folder name is one of archiver's temporaries."""
    return name.startswith((".archiver-", ".new.tmp-")) or bool(_MKSTEMP.match(name))


def temporary_beside(path: Path) -> tuple[int, str]:
    """A new hidden temporary file in the folder of `path`, named after it."""
    import tempfile  # here, not at the top: `archiver validate` starts without it (and shutil)

    return tempfile.mkstemp(prefix=f".{path.name}.", dir=path.parent)


def write_temporary(path: Path, data: bytes) -> str:
    """Write `data` to a fsynced temporary file beside `path`; returns its name."""
    path.parent.mkdir(parents=True, exist_ok=True)
    step(f"write {path} (temporary)")
    fd, tmp = temporary_beside(path)
    try:
        with os.fdopen(fd, "wb") as f:
            f.write(data)
            f.flush()
            os.fsync(f.fileno())
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
    return tmp


def replace(src: str | os.PathLike, dst: str | os.PathLike) -> None:
    """os.replace, as one step."""
    step(f"rename {src} -> {dst}")
    os.replace(src, dst)


def remove(path: str | os.PathLike) -> None:
    """Remove a file or a whole directory, as one step."""
    step(f"remove {path}")
    if os.path.isdir(path) and not os.path.islink(path):
        try:
            os.rmdir(path)  # the usual case, emptied by its owner: one call, not a tree walk
        except OSError:
            import shutil

            shutil.rmtree(path)
    else:
        os.unlink(path)


def atomic_write(path: Path, data: bytes) -> None:
    """Replace `path` with `data`: temp file in the same folder, fsync, rename."""
    tmp = write_temporary(path, data)
    try:
        replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def sync_filesystem(path: Path) -> None:
    """Write out everything cached for the file system holding `path`: Linux's syncfs (only
    that file system, and, unlike sync, it reports a write-back error: OSError), else a sync
    of every file system."""
    syncfs = _syncfs()
    if syncfs is None:
        os.sync()
        return
    fd = os.open(path, os.O_RDONLY)
    try:
        if syncfs(fd) != 0:
            import ctypes

            err = ctypes.get_errno()
            raise OSError(err, f"syncfs: {os.strerror(err)}", os.fspath(path))
    finally:
        os.close(fd)


@functools.cache
def _syncfs():
    """libc's syncfs (Python has no os.syncfs), or None where there is none."""
    if not sys.platform.startswith("linux"):
        return None
    try:
        import ctypes

        found = ctypes.CDLL(None, use_errno=True).syncfs
    except (OSError, AttributeError):
        return None
    found.argtypes, found.restype = [ctypes.c_int], ctypes.c_int
    return found


def fsync_directory(path: Path) -> None:
    """Make the entries of a directory (names just renamed into it) durable."""
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def move_into_place(tmp: Path, final: Path) -> bool:
    """Rename a finished directory into place; False (and `tmp` removed) when one of that
    name is already there."""
    step(f"rename {tmp} -> {final}")
    try:
        os.rename(tmp, final)
        return True
    except OSError:
        import shutil

        shutil.rmtree(tmp, ignore_errors=True)
        return False


def end_with_parent(parent: int) -> None:
    """A worker's initializer: end this process when `parent` dies, however it dies (kill -9
    included), so no worker goes on hashing or writing for a command that is gone. Linux
    delivers SIGKILL on the parent's death (PR_SET_PDEATHSIG: the process that forked this
    one, a fork server included, which ends with `parent`); elsewhere the pools' own pipes
    end idle workers."""
    if sys.platform.startswith("linux"):
        import ctypes

        pr_set_pdeathsig = 1
        ctypes.CDLL(None, use_errno=True).prctl(pr_set_pdeathsig, signal.SIGKILL, 0, 0, 0)
    if not _alive(parent):  # it may have died before the request above took effect
        os._exit(1)


def _alive(pid: int) -> bool:
    """Whether `pid` runs: a parent that has died but is not yet reaped (a zombie) answers
    kill(pid, 0) still, so Linux's /proc state decides where there is one."""
    try:
        with open(f"/proc/{pid}/stat", "rb") as f:
            state = f.read().rsplit(b")", 1)[1].split()[0]
        return state not in (b"Z", b"X")
    except FileNotFoundError:
        return False
    except OSError:  # no /proc here
        try:
            os.kill(pid, 0)
        except ProcessLookupError:
            return False
        return True
