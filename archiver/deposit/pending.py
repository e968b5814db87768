"""A deposit in flight, kept durably in the package until its receipt is recorded.

A SWORD deposit creates something on the server (a container) before the package can record
it: a run killed, or a POST whose answer never came, between the two would leave a container
the package does not know about, and the next run would make a second one. So before the
POST a small pending record is written, and completed with the server's IRIs right after its
201; the next run resumes that container, or looks for it (sword.py), and the record goes
once a receipt naming its attempt is recorded in the package.

It lives in `.archiver-pending/` at the top of the bag, one JSON file per target: one of
archiver's own hidden names (durable.is_temporary), so it is never listed in a tag manifest,
never deposited and never part of the package's fingerprint. Unlike the other temporaries it
is not removed by the next record: only the deposit that settles it removes it.
"""
from __future__ import annotations

import hashlib
import json
import os
from pathlib import Path

from archiver import durable
from archiver.deposit.base import DepositError
from archiver.package.record import PENDING_DIR

OPEN = "open"   # a receipt detail: its deposit's attempt is not settled (no container known)


def _path(bag: Path, target_uri: str) -> Path:
    name = hashlib.sha256(target_uri.encode("utf-8")).hexdigest()[:16]
    return Path(bag) / PENDING_DIR / f"{name}.json"


def read(bag: Path, target_uri: str) -> dict | None:
    """The pending record of a deposit of `bag` to `target_uri`, or None."""
    path = _path(bag, target_uri)
    try:
        data = path.read_bytes()
    except FileNotFoundError:
        return None
    try:
        record = json.loads(data)
        if not isinstance(record, dict) or record.get("target") != target_uri or not record.get("attempt"):
            raise ValueError("not a pending record of this target")
    except ValueError:
        # written atomically, so this is damage, not an interrupted write: say so, never guess
        raise DepositError(f"{path}: the record of an earlier deposit in flight cannot be read; "
                           "nothing was sent (look at it, then remove it to deposit afresh)",
                           code="DEPOSIT-PENDING-UNREADABLE") from None
    return record


def write(bag: Path, target_uri: str, record: dict) -> None:
    """Write (or replace) the pending record, durably: it must be on disk before the request
    it stands for is sent."""
    path = _path(bag, target_uri)
    folder = path.parent
    if not folder.is_dir():
        durable.step(f"mkdir {folder}")
        folder.mkdir(exist_ok=True)
        durable.fsync_directory(folder.parent)
    _remove_temporaries(folder)
    durable.atomic_write(path, json.dumps({**record, "target": target_uri}, sort_keys=True,
                                          indent=1).encode("utf-8"))
    durable.fsync_directory(folder)


def clear(bag: Path, target_uri: str, attempt: str | None = None) -> None:
    """Remove the pending record (only if it is of `attempt`, when given), and its folder
    once empty."""
    path = _path(bag, target_uri)
    if not path.is_file():
        return
    if attempt is not None:
        try:
            if json.loads(path.read_bytes()).get("attempt") != attempt:
                return
        except ValueError:
            return  # damaged: read() reports it on the next deposit
    durable.remove(path)
    _tidy(path.parent)


def settle(bag: Path, target_uri: str, receipts: list[dict]) -> None:
    """Remove a pending record that a recorded receipt already accounts for (a run killed
    after recording the deposit, before removing the record)."""
    try:
        record = read(bag, target_uri)
    except DepositError:
        return  # reported by the put that reads it
    if record is None:
        _tidy(_path(bag, target_uri).parent)  # a run killed while removing the folder
        return
    for receipt in receipts:
        details = receipt.get("details") or {}
        if (receipt.get("target") == target_uri and details.get("attempt") == record["attempt"]
                and details.get("attempt-state") != OPEN):
            clear(bag, target_uri, record["attempt"])
            return


def _tidy(folder: Path) -> None:
    """Remove the temporaries of killed writes from the folder, and the folder once empty."""
    if not folder.is_dir():
        return
    _remove_temporaries(folder)
    if not any(os.scandir(folder)):
        durable.remove(folder)
        durable.fsync_directory(folder.parent)
    else:
        durable.fsync_directory(folder)


def _remove_temporaries(folder: Path) -> None:
    """Temporaries of a write of the record that a kill interrupted."""
    try:
        names = os.listdir(folder)
    except OSError:
        return
    for name in names:
        if durable.is_temporary(name):
            durable.remove(folder / name)
