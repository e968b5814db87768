"""archiver deposit: put packages into repositories, verified, with a receipt.

    from archiver.deposit import deposit
    results = deposit(["packages/rpt-..."], "ocfl:repository")

For each package: validate it (an invalid package is refused with the validator's problems),
hand it to the target, and record what happened in the package itself: a PREMIS event
(LoC eventType "rep" replication for OCFL and S3 copies, "tra" transfer for SWORD) and a
receipt under metadata/deposits/. The payload is never touched. Credentials stay out of
every message, receipt and event.
"""
from __future__ import annotations

import logging
import os
import time
import uuid
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass
from datetime import datetime, timezone
from pathlib import Path

from archiver.config import check_config
from archiver.deposit import config as deposit_config
from archiver.deposit import pending
from archiver.deposit.base import (DEPOSITED, FAILED, PLANNED, REFUSED, UNCHANGED,
                                   ConfigurationError, DepositError, DepositResult, Outcome,
                                   Target)
from archiver.deposit.receipt import Receipt, package_fingerprint, previous_deposit, read_receipts
from archiver.deposit.vouched import Vouched
from archiver.metadata.provenance import SOFTWARE
from archiver.model import Event
from archiver.package.record import PENDING_DIR, Update, package_key, record_events
from archiver.package.store import expand_bags
from archiver.problems import ArchiverError

__all__ = ["deposit", "make_target", "DepositResult", "ConfigurationError", "DepositError"]

log = logging.getLogger("archiver.deposit")


def make_target(spec: deposit_config.TargetSpec) -> Target:
    settings = dict(spec.settings)
    if spec.kind == "ocfl":
        from archiver.deposit.ocfl import OcflTarget
        return OcflTarget(**settings)
    if spec.kind == "s3":
        from archiver.deposit.s3 import S3Target
        return S3Target(secrets=spec.secrets, **settings)
    if spec.kind == "sword":
        from archiver.deposit.sword import SwordTarget
        return SwordTarget(secrets=spec.secrets, **settings)
    raise ConfigurationError(f"unknown target type {spec.kind!r}")


def resolve_target(target: str | Target | None, config: Mapping | None = None,
                   collection: str | None = None) -> Target:
    """A Target from `--to` (None: the configured default, else ocfl:repository)."""
    if isinstance(target, Target):
        return target
    if config is None:
        config = deposit_config.load()
    else:  # given by a caller of the API: held to the types archiver.toml is held to
        check_config(dict(config), "config")
    try:
        return make_target(deposit_config.resolve(target, config, collection=collection))
    except TypeError as e:  # an unknown key in the target's table
        raise ConfigurationError(f"target {target!r}: {e}") from None


def deposit(packages: Iterable[str | Path], target: str | Target | None = None, *,
            dry_run: bool = False, config: Mapping | None = None,
            collection: str | None = None, progress=None,
            jobs: int | None = None) -> list[DepositResult]:
    """Deposit each package; return one DepositResult per package, in order.

    Packages go in batches: each batch is put, then committed (made durable) by the target,
    and only then recorded in the packages. A target that allows it (OCFL) takes batches side
    by side in `jobs` worker processes (default: the number of CPUs).

    A package named twice (or through a link) is deposited once.

    Raises ConfigurationError before touching anything if the target cannot be used.
    """
    resolved = resolve_target(target, config, collection)
    bags = _once(Path(p) for p in expand_bags(packages))
    failure = None
    if not dry_run and bags:
        try:
            resolved.prepare()
        except DepositError as e:  # every package is told (and records) why
            failure = e
    results = []
    for result in _deposit_all(bags, resolved, dry_run, jobs, failure):
        results.append(result)
        if progress:
            progress(result)
    return results


BATCH = 64  # packages committed together: one durability barrier for all of them


def _once(bags: Iterable[Path]) -> list[Path]:
    """Each package once, in the order first named: a second naming would only find the
    first one's lock (DEPOSIT-BUSY), or its deposit."""
    seen, kept = set(), []
    for bag in bags:
        key = package_key(bag)
        if key not in seen:
            seen.add(key)
            kept.append(bag)
    return kept


def _deposit_all(bags: list[Path], target: Target, dry_run: bool, jobs: int | None,
                 failure: DepositError | None) -> Iterator[DepositResult]:
    from archiver.executor import LocalPool

    jobs = max(1, min(jobs or os.cpu_count() or 1, len(bags) or 1))
    size = max(1, min(BATCH, -(-len(bags) // jobs)))
    batches = [(bags[i:i + size], dry_run, failure) for i in range(0, len(bags), size)]
    if jobs == 1 or not target.parallel or dry_run or failure or len(batches) == 1:
        for batch in batches:
            yield from _deposit_batch(batch, target)
        return
    # the executor seam's local pool: each batch is a task, put and committed by its worker.
    _load_before_fork()
    pool = LocalPool(jobs)
    try:
        for done in pool.map(_deposit_batch, batches, args=(target,), per_task=1):
            yield from done
        pool.close()
    except BaseException:
        pool.terminate()
        raise
    finally:
        pool.join()


def _load_before_fork() -> None:
    """What every worker loads once and then only reads (the validator's and the record's
    modules, the report-package profile, report.json's schema compiled as code), loaded
    here first: forked workers share it rather than each loading it again (a tenth of a
    second each)."""
    import archiver.evidence  # noqa: F401  (validation asks whether a package is sealed)
    import archiver.validate  # noqa: F401
    from archiver.metadata.report_json import fits_schema
    from archiver.validate.profile import report_package_profile
    fits_schema({})
    report_package_profile()


def _deposit_batch(batch: tuple[list[Path], bool, DepositError | None],
                   target: Target) -> list[DepositResult]:
    bags, dry_run, failure = batch
    claims: list[int] = []  # held until the batch is recorded, whatever happens
    try:
        started = [_start(bag, target, dry_run, failure, claims) for bag in bags]
        target.commit()
        finished = [_finish(s, target) for s in started]
        _record_all([item for _, item in finished if item is not None], target)
        return [result for result, _ in finished]
    finally:
        for fd in claims:
            os.close(fd)


def deposit_one(bag: Path, target: Target, *, dry_run: bool = False) -> DepositResult:
    [result] = _deposit_batch(([bag], dry_run, None), target)
    return result


def _now(precise: bool = False) -> str:
    now = datetime.now(timezone.utc)
    if not precise:
        now = now.replace(microsecond=0)
    return now.isoformat().replace("+00:00", "Z")


def _validate(bag: Path):
    """(valid, problems as dicts, what it parsed) from the project's validator."""
    from archiver.validate import validate_bag
    report = validate_bag(str(bag), keep_parsed=True)
    return report.valid, [p.to_dict() for p in report.problems], report.parsed


def _package_id(bag: Path, encoding: str | None) -> str:
    from archiver.bagit.bag import bag_info_value
    return (bag_info_value(bag, "External-Identifier", encoding) or bag.name).strip()


@dataclass
class _Started:
    """A package put (or refused, or planned), waiting for its batch's commit."""
    bag: Path
    result: DepositResult
    started_at: str
    clock: float
    fingerprint: str = ""
    encoding: str | None = None  # bagit.txt's, as validation read it
    outcome: Outcome | None = None
    error: DepositError | None = None
    done: bool = False  # nothing left to do after the commit


def _claim(bag: Path, claims: list[int]) -> bool:
    """Claim depositing `bag` for this process, until its batch is recorded: a lock (flock,
    released by the kernel if the process dies) on the bag's data/ directory, the bag
    directory's own lock being the record's; the descriptor goes to `claims`. Two runs
    depositing one package at once would both send it (two SWORD containers): False when
    another process holds it. A bag with no data/ has nothing to lock (validation refuses it)."""
    import fcntl

    try:
        fd = os.open(bag / "data", os.O_RDONLY | os.O_DIRECTORY)
    except OSError:
        return True
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        os.close(fd)
        return False
    claims.append(fd)
    return True


def _start(bag: Path, target: Target, dry_run: bool, failure: DepositError | None,
           claims: list[int]) -> _Started:
    """Validate the package and put it; `claims` gets this process's lock on it (_claim)."""
    started = _Started(bag, DepositResult(package=str(bag), target=target.uri, status=FAILED),
                       _now(precise=True), time.monotonic(), done=True)
    result = started.result
    if not (bag / "bagit.txt").is_file():
        result.status = REFUSED
        result.message = f"{bag}: not a bag (no bagit.txt)"
        result.problems = [{"code": "BAGIT-NOT-A-BAG", "path": str(bag),
                            "message": "bagit.txt is missing", "severity": "error"}]
        return started
    if not dry_run:
        if not _claim(bag, claims):
            result.code = "DEPOSIT-BUSY"
            result.message = (f"{bag}: another archiver process is depositing this package right "
                              "now; not deposited by this run (run it again once that one ends)")
            result.seconds = time.monotonic() - started.clock
            return started
    valid, problems, parsed = _validate(bag)
    if not dry_run and (parsed is None or set(parsed.temporaries) - {PENDING_DIR}):
        # what a dead run left (an update half done, a temporary): finished or undone first,
        # and the package judged again as it then stands. Validation's walk has just looked
        # at every folder outside data/, so a package with none is not looked at again (a
        # pending deposit is no leftover: the target's put resumes it, settle() below).
        problem = _recover(bag)
        if problem:
            result.status, result.problems = REFUSED, [problem]
            result.message = f"{bag}: {problem['message']}"
            return started
        valid, problems, parsed = _validate(bag)
    if not valid:
        result.status = REFUSED
        result.problems = problems
        result.message = (f"invalid package, not deposited ({len(problems)} problem"
                          f"{'s' if len(problems) != 1 else ''})")
        result.seconds = time.monotonic() - started.clock
        return started
    started.encoding = parsed.encoding if parsed else None
    result.package_id = package_id = _package_id(bag, started.encoding)
    receipts = read_receipts(bag)
    # validation has just checked every manifest entry: its digests stand for the files,
    # and its parse of premis.xml for that file
    vouched = Vouched(bag, parsed)
    started.fingerprint = fingerprint = package_fingerprint(
        bag, receipts, vouched.digests("sha256", payload=False),
        premis=parsed.premis if parsed else None)
    if not dry_run and (parsed is None or PENDING_DIR in parsed.temporaries):
        pending.settle(bag, target.uri, receipts)
    previous = previous_deposit(bag, target.uri, receipts)
    if dry_run:
        result.status = PLANNED
        result.message = ("already deposited, unchanged since" if previous and
                          previous.outcome == "success" and previous.fingerprint == fingerprint
                          else "would be deposited")
        result.bytes = sum(p.stat().st_size for p in bag.rglob("*") if p.is_file())  # the bag's size
        result.seconds = time.monotonic() - started.clock
        return started
    started.done = False
    try:
        if failure:
            raise failure
        started.outcome = target.put(bag, package_id, fingerprint, previous, vouched=vouched)
    except DepositError as e:
        started.error = e
    return started


def _finish(started: _Started, target: Target) -> tuple[DepositResult, _ToRecord | None]:
    """After the commit: the result, and what is to be recorded in the package."""
    result = started.result
    if started.done:
        return result, None
    result.seconds = time.monotonic() - started.clock
    if started.error is not None:
        e = started.error
        # Targets keep credentials out of their messages (see DepositError): nothing here is
        # rewritten, so server IRIs, identifiers and file names stay exactly as they are.
        result.message, result.code = e.message, e.code
        result.details = dict(e.details)
        log.info("%s: deposit to %s failed: %s", result.package_id, target.uri, result.message)
        return result, _record(started, target, outcome=None, error_code=e.code, details=e.details)
    outcome = started.outcome
    result.remote_id, result.version = outcome.remote_id, outcome.version
    result.bytes, result.verified = outcome.bytes, outcome.verified
    result.verification, result.details = outcome.verification, dict(outcome.details)
    result.message = outcome.message or ""
    if outcome.status == UNCHANGED:
        # Same bytes already there: a no-op, so nothing is recorded.
        result.status = UNCHANGED
        return result, None
    # Deposited but unverified (nothing the server offers could be checked) is still
    # deposited: `verified` and the message say so, and the receipt says how it stands. An
    # outcome the target's commit could not make durable has failed.
    result.status = FAILED if outcome.status == FAILED else DEPOSITED
    return result, _record(started, target, outcome=outcome)


def _recover(bag: Path) -> dict | None:
    """Finish or undo an update of the package a dead run left (and remove archiver's
    temporaries from it), so that none of it is deposited; a problem when that fails."""
    from archiver.package.record import package_lock, recover

    if not (bag / "metadata" / "premis.xml").is_file():
        return None
    try:
        with package_lock(bag):
            recover(bag)
    except (ArchiverError, OSError) as e:
        return {"code": "PACKAGE-UPDATE-INTERRUPTED", "path": getattr(e, "path", str(bag)),
                "message": getattr(e, "message", None) or str(e), "severity": "error"}
    return None


@dataclass
class _ToRecord:
    """A deposit's PREMIS event and receipt, to be recorded with the rest of its batch."""
    update: Update
    result: DepositResult
    receipt: Receipt
    success: bool


def _record(started: _Started, target: Target, outcome, error_code: str | None = None,
            details: dict | None = None) -> _ToRecord | None:
    """The PREMIS event and the receipt to add to the package (tag manifests rewritten). A
    bag that is not an archiver package has no PREMIS record to add to: the deposit stands,
    and the result says it is not recorded in the bag."""
    bag, result, package_id = started.bag, started.result, started.result.package_id
    if not (bag / "metadata" / "premis.xml").is_file():
        note = "not an archiver package (no metadata/premis.xml): not recorded in the bag"
        result.message = f"{result.message or ''}; {note}".lstrip("; ")
        _settled(bag, target, package_id, {**(outcome.details if outcome else {}), **(details or {})})
        return None
    event_id = str(uuid.uuid4())
    ended = _now(precise=True)
    success = result.status == DEPOSITED
    receipt = Receipt(
        event=event_id, target=target.uri, kind=target.kind, package_id=package_id,
        fingerprint=started.fingerprint, outcome="success" if success else "failure",
        started=started.started_at, ended=ended, seconds=result.seconds,
        remote_id=result.remote_id, version=result.version, bytes=result.bytes,
        verified=result.verified, message=result.message,
        details={k: str(v) for k, v in
                 {**(outcome.details if outcome else {}), **(details or {}),
                  **({"error-code": error_code} if error_code else {})}.items()
                 if v is not None},
        server_documents=outcome.server_documents if outcome else [])
    name = receipt.file_name()
    files = {name: receipt.to_xml(), **receipt.server_files()}
    where = result.remote_id or package_id
    if success:
        checked = "verified" if result.verified else "unverified"
        if result.verification in ("bytes", "content"):
            checked += f" by {result.verification}"
        outcome_detail = (f"{target.kind} {where}" + (f" {result.version}" if result.version else "")
                          + f"; {result.bytes} bytes; {checked}; receipt {name}")
    else:
        outcome_detail = f"{result.message}; receipt {name}"
    event = Event(identifier=event_id, type=target.event_type, date_time=ended[:19] + "Z",
                  outcome="success" if success else "failure",
                  detail=f"Deposit of package {package_id} to {target.uri}",
                  outcome_detail=outcome_detail,
                  agents=((SOFTWARE.identifier, "executing program"),),
                  objects=(package_id,))
    return _ToRecord(Update(bag, event, (SOFTWARE,), files, encoding=started.encoding), result,
                     receipt, success)


def _record_all(items: list[_ToRecord], target: Target) -> None:
    """Record a batch's deposits in their packages, durable per batch (record_events)."""
    if not items:
        return
    try:
        record_events([item.update for item in items])
    except Exception as e:  # the deposits happened; say that recording them did not
        for item in items:
            item.update.error = item.update.error or e
    for item in items:
        result, e = item.result, item.update.error
        if e is not None:
            log.error("%s: deposit done but not recorded in the package: %s", result.package_id, e)
            result.message = f"{result.message or ''}; not recorded in the package: {e}".lstrip("; ")
            if item.success:
                result.status = FAILED
            continue
        result.receipt, result.event = item.receipt.file_name(), item.receipt.event
        _settled(item.update.bag, target, result.package_id or "", item.receipt.details)


def _settled(bag: Path, target: Target, package_id: str, details: dict) -> None:
    """The attempt a target kept pending in the package (a SWORD POST) is accounted for now:
    its record goes, unless no container is known yet (the next run looks for it)."""
    attempt = details.get("attempt")
    if not attempt or details.get("attempt-state") == pending.OPEN:
        return
    try:
        pending.clear(bag, target.uri, str(attempt))
    except OSError as e:  # the next deposit settles it: the receipt names the attempt
        log.warning("%s: could not remove the pending record of %s: %s", package_id, attempt, e)
