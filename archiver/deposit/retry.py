"""Bounded retries with exponential backoff and full jitter, for transient failures only."""
from __future__ import annotations

import logging
import random
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import TypeVar

from archiver.deposit.base import DepositError

log = logging.getLogger("archiver.deposit")
T = TypeVar("T")


@dataclass(frozen=True)
class RetryPolicy:
    attempts: int = 4          # tries in all, the first included
    base: float = 0.5          # seconds before the first retry (before jitter)
    cap: float = 8.0           # longest single wait
    deadline: float = 60.0     # no new try starts after this many seconds

    @classmethod
    def from_config(cls, settings: dict) -> "RetryPolicy":
        retry = settings.get("retry", {}) if isinstance(settings.get("retry"), dict) else {}
        return cls(attempts=max(1, int(retry.get("attempts", cls.attempts))),
                   base=float(retry.get("base", cls.base)),
                   cap=float(retry.get("cap", cls.cap)),
                   deadline=float(retry.get("deadline", cls.deadline)))


def with_retry(action: Callable[[], T], policy: RetryPolicy, what: str,
               sleep: Callable[[float], None] = time.sleep) -> T:
    """Run `action`; on a transient DepositError wait and try again, within the policy's bounds.

    A DepositError that is not transient, or any other exception, goes straight up.
    """
    started = time.monotonic()
    attempt = 1
    while True:
        try:
            return action()
        except DepositError as e:
            elapsed = time.monotonic() - started
            if not e.transient or attempt >= policy.attempts or elapsed >= policy.deadline:
                if e.transient and attempt > 1:
                    e.message = f"{e.message} (gave up after {attempt} attempts)"
                    e.args = (e.message,)
                raise
            wait = random.uniform(0, min(policy.cap, policy.base * 2 ** (attempt - 1)))
            wait = min(wait, max(0.0, policy.deadline - elapsed))
            log.info("%s: %s; retrying in %.1f s (attempt %d of %d)",
                     what, e.message, wait, attempt + 1, policy.attempts)
            sleep(wait)
            attempt += 1
