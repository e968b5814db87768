"""Scheduling without a daemon: what is due (`--due 90d`), in which order (oldest audit first,
never audited before all), and how far one run goes (`--limit 50GB`, `--for 30m`)."""
from __future__ import annotations

import os
import re
import time
from dataclasses import dataclass
from datetime import datetime, timezone

_DURATION = re.compile(r"(\d+(?:\.\d+)?)\s*(s|m|h|d|w)?\Z", re.IGNORECASE)
_SIZE = re.compile(r"(\d+(?:\.\d+)?)\s*([KMGTP]i?B|B)?\Z", re.IGNORECASE)
_SECONDS = {"s": 1, "m": 60, "h": 3600, "d": 86400, "w": 7 * 86400}


def parse_duration(text: str) -> float:
    """'90d', '12h', '30m', '45s', '2w' (a bare number is seconds)."""
    match = _DURATION.match(text.strip())
    if not match:
        raise ValueError(f"{text!r} is not a duration such as 90d, 12h or 30m")
    return float(match.group(1)) * _SECONDS[(match.group(2) or "s").lower()]


def parse_size(text: str) -> int:
    """'50GB' (10^9), '50GiB' (2^30), '500MB', '1TB', a bare number of bytes."""
    match = _SIZE.match(text.strip())
    if not match:
        raise ValueError(f"{text!r} is not a size such as 50GB, 500MiB or 1TB")
    unit = (match.group(2) or "B").upper()
    power = "BKMGTP".index(unit[0]) if unit != "B" else 0
    base = 1024 if "I" in unit else 1000
    return int(float(match.group(1)) * base ** power)


def age_seconds(stamp: str | None, now: float | None = None) -> float | None:
    if not stamp:
        return None
    when = datetime.fromisoformat(stamp.replace("Z", "+00:00"))
    return (now if now is not None else time.time()) - when.replace(tzinfo=when.tzinfo or timezone.utc).timestamp()


def order_key(last_audit: str | None, location: str) -> tuple:
    return (last_audit is not None, last_audit or "", location)


def estimate_bytes(location: str, kind: str) -> int:
    """A package's size before it is read (for --limit, when the ledger does not know it)."""
    if kind in ("zip", "tar"):
        try:
            return os.path.getsize(location)
        except OSError:
            return 0
    total = 0
    for folder, _, files in os.walk(location):
        for name in files:
            try:
                total += os.lstat(os.path.join(folder, name)).st_size
            except OSError:
                pass
    return total


@dataclass
class Bounds:
    """How far one run goes: bytes (--limit) and seconds (--for), whichever ends first.

    A run always audits at least one package, so a limit smaller than the largest package
    still moves the cycle forward."""
    limit: int | None = None
    seconds: float | None = None

    def __post_init__(self):
        self.started = time.monotonic()
        self.planned = 0
        self.count = 0

    def stop_reason(self, next_bytes: int) -> str | None:
        if self.count == 0:
            return None
        if self.seconds is not None and time.monotonic() - self.started >= self.seconds:
            return "time"
        if self.limit is not None and self.planned + next_bytes > self.limit:
            return "limit"
        return None

    def take(self, nbytes: int) -> None:
        self.planned += nbytes
        self.count += 1
