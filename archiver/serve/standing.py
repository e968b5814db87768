"""Whether a package's recorded checks leave a failure standing: the web view's state.

A failure is cleared only by a later check that passed and looked at everything the failed
one looked at. So the latest check alone never decides: a validation that did not read the
bytes (--fast, --completeness-only) cannot clear a fixity failure, and a bag validity check
of any mode cannot clear an audit's finding (an audit also compares the files with the
ledger's record of them: a rewritten bag is valid). "Later" is strictly later: on a tie, or
when a time cannot be read, the failure stands.

- an audit (the ledger's, or its `fix` event written into the package by audit --record):
  cleared by a later audit that passed. The ledger's own latest audit, when it failed,
  stands until the ledger says otherwise;
- a validation (`fix` in full mode, `val` for --fast and --completeness-only): cleared by a
  later validation that checked at least the same things (its event says "checked ...") with
  the same profile.
"""
from __future__ import annotations

import re
from datetime import datetime, timezone
from functools import lru_cache

from archiver.audit.record import DETAIL_PREFIX

AUDIT = "audit"
_VALIDATE = re.compile(r"^archiver validate, mode [^,;]+(?:, profile (?P<profile>[^;]*))?"
                       r"; checked (?P<checked>.*)$")


@lru_cache(maxsize=4096)  # a package's times are compared pairwise: each parsed once
def instant(value: str | None) -> datetime | None:
    """The moment an xs:dateTime names (one without a zone is read as UTC); None if unreadable."""
    if not value:
        return None
    try:
        when = datetime.fromisoformat(value.strip().replace("Z", "+00:00"))
    except ValueError:
        return None
    return when if when.tzinfo else when.replace(tzinfo=timezone.utc)


def later(a: str | None, b: str | None) -> bool:
    """Whether time `a` is strictly after time `b` (False when either cannot be read)."""
    ta, tb = instant(a), instant(b)
    return ta is not None and tb is not None and ta > tb


def check_of(event_type: str, detail: str | None, time: str | None, outcome: str | None,
             outcome_detail: str | None = None) -> dict:
    """One recorded check as the rules here compare it: kind "audit" or "validate", what it
    checked (a validation's list, else the event type alone) and its profile."""
    detail = (detail or "").strip()
    if event_type == "fix" and detail.startswith(DETAIL_PREFIX):
        kind, scope, profile = AUDIT, [], None
    else:
        found = _VALIDATE.match(detail)
        kind = "validate"
        if found:
            scope = sorted(s.strip() for s in found["checked"].split(",") if s.strip())
            profile = found["profile"]
        else:  # not archiver's wording: comparable only with a check of the same type
            scope, profile = [f"{event_type} event"], None
    return {"time": time, "type": event_type, "kind": kind, "scope": scope, "profile": profile,
            "outcome": "success" if outcome == "success" else "failure",
            "detail": outcome_detail, "source": "premis"}


def clears(success: dict, failure: dict) -> bool:
    """Whether the passed check `success` clears the failed check `failure`."""
    if not later(success["time"], failure["time"]) or success["kind"] != failure["kind"]:
        return False
    if failure["kind"] == AUDIT:
        return True
    return (set(failure["scope"]) <= set(success["scope"])
            and success["profile"] == failure["profile"])


def standing(checks: list[dict]) -> list[dict]:
    """The failed checks that no later check cleared, oldest first."""
    passed = [c for c in checks if c["outcome"] == "success"]
    return [f for f in checks if f["outcome"] != "success"
            and not any(clears(s, f) for s in passed)]


def with_ledger(failures: list[dict], audit_time: str | None,
                audit_outcome: str | None) -> list[dict]:
    """The package's standing failures with the ledger's latest audit taken in: a passed
    audit clears the package's audit failures before it, a failed one stands."""
    if not audit_outcome:
        return failures
    ledger = {"time": audit_time, "type": "audit", "kind": AUDIT, "scope": [], "profile": None,
              "outcome": audit_outcome, "detail": None, "source": "ledger"}
    if audit_outcome == "success":
        return [f for f in failures if not clears(ledger, f)]
    return [*failures, ledger]
