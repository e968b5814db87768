"""The small interface every deposit target implements, and what a deposit reports.

A target knows how to put one bag somewhere and prove it arrived; it knows nothing of PREMIS,
receipts on disk or the CLI. `archiver.deposit.deposit` does the rest around it.
"""
from __future__ import annotations

from dataclasses import asdict, dataclass, field
from pathlib import Path

from archiver.durable import is_temporary

# What a deposit of one package came to.
DEPOSITED = "deposited"      # written (a new object, or a new version) and verified
UNCHANGED = "unchanged"      # the target already holds these bytes: nothing written
PLANNED = "planned"          # --dry-run: would be deposited
FAILED = "failed"            # tried and did not succeed (or could not be verified)
REFUSED = "refused"          # not attempted: the package is invalid


def deposited(rel: str) -> bool:
    """Whether a bag-relative path is part of what a deposit sends: everything but archiver's
    own temporaries and records outside the payload (an interrupted update, a pending deposit)."""
    parts = rel.split("/")
    return parts[0] == "data" or not any(is_temporary(part) for part in parts)


class DepositError(Exception):
    """A deposit that did not succeed. `message` must never carry a credential: targets build
    it from secret-free parts, and pass library exception texts through `Target.redact`.

    `transient` says whether trying again later may help (connection reset, HTTP 5xx,
    timeouts); retry.py retries those, within a bound. `details` keeps what the target left
    behind (a SWORD container's IRIs) for the failure receipt, so the next run can finish it.
    `status` is the HTTP status that caused it, if any.
    """

    def __init__(self, message: str, *, code: str = "DEPOSIT-FAILED", transient: bool = False,
                 details: dict | None = None, status: int | None = None):
        super().__init__(message)
        self.message = message
        self.code = code
        self.transient = transient
        self.details = details or {}
        self.status = status


class ConfigurationError(Exception):
    """A target that cannot be used as named or configured (exit status 2)."""


@dataclass
class Outcome:
    """What a target reports for one package it was given."""
    status: str                      # DEPOSITED or UNCHANGED
    remote_id: str                   # the target's identifier for the object
    bytes: int = 0                   # bytes written to the target (0 when unchanged)
    verified: bool = False
    version: str | None = None       # e.g. OCFL "v2"
    details: dict = field(default_factory=dict)  # target-specific, secret-free, for the receipt
    message: str | None = None
    verification: str | None = None  # how it was verified: "bytes", "content", "none" (unverified)
    # documents the server sent, kept byte for byte beside the receipt: (role, bytes)
    server_documents: list[tuple[str, bytes]] = field(default_factory=list)


@dataclass
class Previous:
    """The last deposit of this package to the same target, from its receipts: the last
    successful one, or a later failed one that left something on the target to finish."""
    fingerprint: str
    remote_id: str
    version: str | None
    details: dict
    outcome: str = "success"          # or "failure"


class Target:
    """One place packages go. Subclasses set `kind`, `event_type` and implement `put`."""

    kind = "target"
    event_type = "rep"  # LoC eventType code: "rep" replication, "tra" transfer

    @property
    def uri(self) -> str:
        """A secret-free name of the target, stable across runs (used to match receipts)."""
        raise NotImplementedError

    def secrets(self) -> list[str]:
        """Every credential this target holds, longest form first (for `redact`)."""
        return []

    def put(self, bag: Path, package_id: str, fingerprint: str,
            previous: Previous | None, vouched=None) -> Outcome:
        """Deposit `bag` (already validated); raise DepositError on failure. `vouched`
        (archiver.deposit.vouched.Vouched): the digests that validation checked, for a
        target that would otherwise read the manifests again."""
        raise NotImplementedError

    # A run calls prepare() once, then put() for each package and commit() after each batch
    # of puts: commit makes what the batch put durable before any deposit is recorded, and
    # may turn an outcome into FAILED. A target with `parallel` set may put in worker
    # processes (forked after prepare), each committing its own batches.
    parallel = False

    def prepare(self) -> None:
        """Before the first put of a run (the target's own set-up and recovery)."""

    def commit(self) -> None:
        """Make every put since the last commit durable (put itself did, by default)."""

    def redact(self, text: str) -> str:
        """Hide credentials in a text that may quote our own request: a library's exception
        text (a header it could not send, a URL). Never for what a server sent, file names or
        identifiers: a common password ("sword") would rewrite them, and a receipt that no
        longer says what the server said is no receipt."""
        for secret in self.secrets():
            if secret:
                text = text.replace(secret, "***")
        return text


@dataclass
class DepositResult:
    package: str
    target: str
    status: str
    package_id: str | None = None
    remote_id: str | None = None
    version: str | None = None
    bytes: int = 0
    seconds: float = 0.0
    verified: bool = False
    verification: str | None = None     # "bytes", "content", "none" (unverified), per target
    message: str | None = None
    details: dict = field(default_factory=dict)  # what the target reports (SWORD: its IRIs)
    receipt: str | None = None          # path of the receipt inside the package
    event: str | None = None            # PREMIS event identifier recorded
    problems: list[dict] = field(default_factory=list)
    code: str | None = None             # a failure's code (archiver.deposit.codes)

    @property
    def ok(self) -> bool:
        return self.status in (DEPOSITED, UNCHANGED, PLANNED)

    def to_dict(self) -> dict:
        data = asdict(self)
        data["seconds"] = round(self.seconds, 3)
        data["ok"] = self.ok
        return data
