"""One audit run: find the packages, choose what is due, read them in workers, judge each
against the ledger in this process, and write the ledger in batches.

Workers only read and hash (archiver.fixity: one read per file for all algorithms); this
process alone writes the ledger, one transaction per batch of packages, so a killed run
(SIGKILL) leaves the ledger at its last batch and the next run over the same locations resumes
the round where it stopped; an interrupted one (Ctrl-C, SIGTERM) undoes the package it was
writing (Ledger.unit) and commits the whole ones. At most a few packages per worker are in flight,
so memory does not grow with the store. The workers are an executor's (archiver.executor):
this machine's processes, one package a task, or a Dask cluster's, several packages a task.
"""
from __future__ import annotations

import getpass
import os
import signal
import time
from collections import deque
from dataclasses import dataclass, field
from pathlib import Path

from archiver.audit.findings import finding_class, judge
from archiver.audit.inventory import PREMIS, Inventory, premis_elements, read_location
from archiver.audit.ledger import Ledger, now
from archiver.audit.locations import Found, LocationError, absolute, packages_at
from archiver.audit.schedule import Bounds, age_seconds, estimate_bytes, order_key
from archiver.audit.seal import RoundSeal, RoundSealer
from archiver.audit.sealed import SealVerifier
from archiver.executor import MAX_TASK_BYTES, LocalPool, connect, task_groups
from archiver.executor.local import can_fork
from archiver.fixity import ALGORITHMS
from archiver.paths import path_list
from archiver.problem_codes import problem
from archiver.problems import Problem

BATCH = 200  # packages per ledger transaction
BATCH_SECONDS = 2.0  # ...or this long, whichever comes first: little is lost to a kill
CLUSTER_TASK = 16  # packages a cluster task reads at most (the scheduler's cost is per task)


@dataclass
class PackageResult:
    location: str
    kind: str
    identifier: str = ""
    outcome: str = "ok"  # "ok", "found", "gone"
    first: bool = False  # first seen by this audit: its state is now the ledger's baseline
    findings: list[Problem] = field(default_factory=list)
    files: int = 0
    bytes: int = 0
    accepted: list[str] = field(default_factory=list)
    recorded: str | None = None
    notes: list[str] = field(default_factory=list)

    def to_dict(self) -> dict:
        return {"location": self.location, "kind": self.kind, "identifier": self.identifier,
                "outcome": self.outcome, "first_seen": self.first, "files": self.files,
                "bytes": self.bytes, "accepted": self.accepted, "recorded": self.recorded,
                "notes": self.notes,
                "findings": [{**f.to_dict(), "class": finding_class(f.code)} for f in self.findings]}


@dataclass
class AuditRun:
    ledger: str
    round: int = 0
    resumed: bool = False
    finished: bool = False
    stopped: str | None = None  # "limit", "time" or "interrupted" when the round was left open
    not_due: int = 0
    done_before: int = 0  # audited earlier in this (resumed) round
    remaining: int = 0  # due, not reached this run
    head: str | None = None
    seal: str | None = None
    sealing: RoundSeal | None = None  # [audit] seal: the head's proof, or why there is none
    keep: bool = True  # False: results are counted, not kept (memory flat over any store)
    results: list[PackageResult] = field(default_factory=list)
    counts: dict = field(default_factory=lambda: dict.fromkeys(
        ("ok", "found", "gone", "audited", "first_seen", "findings", "bytes"), 0))

    def add(self, res: PackageResult) -> None:
        c = self.counts
        c[res.outcome] += 1
        c["audited"] += 1
        c["first_seen"] += res.first
        c["findings"] += len(res.findings)
        c["bytes"] += res.bytes
        if self.keep:
            self.results.append(res)

    @property
    def found(self) -> bool:
        return self.counts["found"] + self.counts["gone"] > 0

    def summary(self) -> dict:
        return {**self.counts, "not_due": self.not_due,
                "done_before": self.done_before, "remaining": self.remaining,
                "round": self.round, "resumed": self.resumed, "round_finished": self.finished,
                "stopped": self.stopped, "ledger": self.ledger, "head": self.head,
                "sealed": self.sealing.tokens if self.sealing else None,
                "seal_failures": self.sealing.failures if self.sealing else []}

    def to_dict(self) -> dict:
        return {"packages": [r.to_dict() for r in self.results], "summary": self.summary()}


def default_agent(config: dict) -> str:
    configured = (config.get("audit") or {}).get("agent")
    if configured:
        return str(configured)
    try:
        return getpass.getuser()
    except (KeyError, OSError):
        return "unknown operator"


def audit(locations, *, ledger: str | os.PathLike | None = None, due: float | None = None,
          limit: int | None = None, seconds: float | None = None, record: bool = False,
          agent: str | None = None, jobs: int | None = None, progress=None,
          config: dict | None = None, keep_results: bool = True, cluster=None) -> AuditRun:
    """Audit every package at `locations` (see locations.py) against the ledger.

    due: audit only packages not audited within this many seconds; limit / seconds: bound
    the run by bytes / time (the round stays open, the next run resumes it); record: write
    the outcome into each archiver package's PREMIS; progress(result) after each package;
    keep_results=False counts results instead of keeping them (a store of any size).
    cluster (an address such as tcp://HOST:8786, or archiver.executor.connect's result): the
    packages are read by the workers of a Dask cluster sharing this file system (or, with no
    more packages than worker threads, read one at a time with their files hashed by the
    workers); the ledger and PREMIS are written here only.
    Raises LocationError for a location that neither exists nor is known to the ledger,
    ledger.LedgerError when the ledger cannot be used, and ClusterError when the cluster
    fails (what was judged is in the ledger; the round stays open for the next run)."""
    from archiver.audit.ledger import default_ledger_path
    from archiver.config import check_config, load_config

    if config is None:
        config = load_config()
    else:  # given by a caller of the API: held to the types archiver.toml is held to
        check_config(config, "config")
    path = Path(ledger) if ledger is not None else default_ledger_path(config)
    scopes = sorted({absolute(p) for p in path_list(locations)})
    found: list[Found] = []
    for scope in scopes:
        found += packages_at(scope)
    agent = agent or default_agent(config)
    remote = connect(cluster)
    pool = None
    try:
        if remote is not None:
            remote.check_shared(read=[item.location for item in found])
        jobs = remote.slots if remote else max(1, jobs or os.cpu_count() or 1)
        if len(found) > jobs:  # else one at a time, each package's files hashed side by side
            pool = remote or (LocalPool(jobs) if can_fork() else None)  # forked before the ledger is opened
        db = Ledger.open(path)
        try:
            for scope in scopes:
                if not os.path.lexists(scope) and not any(True for _ in db.known_under(scope)):
                    raise LocationError(f"{scope}: no such file or directory, and the ledger "
                                        "knows no package there")
            return _Round(db, scopes, found, agent, due, Bounds(limit, seconds), record, jobs,
                          pool, remote, progress, config, keep_results).run()
        finally:
            db.close()
    finally:
        if pool is not None and pool is not remote:
            pool.terminate()
            pool.join()
        if remote is not None:
            remote.terminate()  # what a failed or interrupted run left on the cluster
            remote.join()


def _read_group(packages: list[tuple[str, str]]) -> list[Inventory | str]:
    """A task: each (location, kind) read whole. A location this worker does not see at all
    comes back as its path: the client tells a package gone from storage it does not share."""
    return [read_location(location, kind, jobs=1) if os.path.lexists(location) else location
            for location, kind in packages]


def _unseen(results: list[Inventory | str]) -> str | None:
    return next((r for r in results if isinstance(r, str)), None)


class _Interrupted(Exception):
    pass


class _Round:
    def __init__(self, db: Ledger, scopes, found, agent, due, bounds, record, jobs, pool,
                 remote, progress, config, keep_results=True):
        self.db, self.scopes, self.found, self.agent = db, scopes, found, agent
        self.due, self.bounds, self.record, self.jobs = due, bounds, record, jobs
        self.pool, self.remote, self.progress, self.config = pool, remote, progress, config
        self.seals = SealVerifier(config)  # [evidence] trust and signers: a bad file stops us here
        self.sealer = RoundSealer(config)  # [audit] seal without authorities stops us here
        self.result = AuditRun(ledger=str(db.path), keep=keep_results)
        self.in_batch = 0
        self.batch_started = time.monotonic()
        self.seen_locations: set[str] = set()
        self.planned: int | None = None  # packages due this run, once planned
        self.judged = 0  # ...of which judged (their writes in the ledger's batch)

    # -- batches ------------------------------------------------------------------------------
    def _batch(self) -> None:
        if not self.db._in_batch:
            self.db.begin()
            self.batch_started = time.monotonic()

    def _maybe_commit(self, force: bool = False) -> None:
        self.in_batch += 1
        if force or self.in_batch >= BATCH or time.monotonic() - self.batch_started >= BATCH_SECONDS:
            self.db.commit()
            self.in_batch = 0

    # -- the round ----------------------------------------------------------------------------
    def run(self) -> AuditRun:
        """The round, from its opening to its seal; an interrupt (Ctrl-C, SIGTERM) at any
        point stops it with what is whole committed (every write group is a unit)."""
        result = self.result
        previous = {}
        for handler in (signal.SIGTERM,):
            previous[handler] = signal.signal(handler, _raise_interrupt)
        try:
            self.db.begin()
            with self.db.unit():
                result.round, result.resumed = self.db.open_round(self.scopes, self.agent)
            self.db.commit()
            self._audit_all(self._plan())
            self._gone()
            self.db.commit()
            if result.stopped is None and result.remaining == 0:
                self._finish()
        except (KeyboardInterrupt, _Interrupted):
            result.stopped = "interrupted"
            due = self.planned if self.planned is not None else \
                len(self.found) - result.done_before - result.not_due  # stopped while planning
            result.remaining = max(0, due - self.judged)
        finally:
            self.db.commit()  # the whole packages judged; an unfinished one is undone
            for handler, old in previous.items():
                signal.signal(handler, old)
        return result

    def _finish(self) -> None:
        result = self.result
        self.db.begin()
        with self.db.unit():
            head = self.db.finish_round(result.round)
        self.db.commit()
        result.head, result.finished = head, True
        result.sealing = self.sealer.seal(result.head)
        if result.sealing and result.sealing.proof:
            self.db.begin()
            with self.db.unit():
                self.db.set_seal(result.round, result.sealing.proof)
            self.db.commit()
            result.seal = result.sealing.proof

    def _plan(self) -> list[tuple[Found, int | None, int]]:
        """(package, ledger key, estimated bytes) of what is due, oldest audit first."""
        now_ts = time.time()
        plan = []
        for item in self.found:
            key = self.db.find(item.location)
            last, nbytes, last_round = self.db.schedule_facts(key) if key else (None, 0, None)
            if self.result.resumed and key and last_round == self.result.round:
                self.result.done_before += 1
                continue
            if self.due is not None and last is not None and age_seconds(last, now_ts) < self.due:
                self.result.not_due += 1
                continue
            plan.append((order_key(last, item.location), item, key, nbytes))
        plan.sort(key=lambda p: p[0])
        return [(item, key, nbytes) for _, item, key, nbytes in plan]

    def _audit_all(self, plan) -> None:
        self.planned = len(plan)
        pending = deque()  # (the packages of a task, the task or their inventories), in order
        queue = deque(plan)
        # a task is one package on this machine's workers, several on a cluster's (grouped as
        # the executor groups files: bounded in count and bytes, every worker thread given
        # some); two tasks in flight per worker
        per_task = CLUSTER_TASK if self.pool is not None and self.pool.remote else 1
        sizes = deque(b - a for a, b in task_groups([nbytes for _, _, nbytes in plan], per_task,
                                                    self.jobs, MAX_TASK_BYTES))
        in_flight = 2 * self.jobs if self.pool else 1
        while queue or pending:
            while queue and len(pending) < in_flight and not self.result.stopped:
                group = self._take(queue, sizes.popleft())
                if not group:
                    break
                if self.pool:
                    work = [(item.location, item.kind) for item, _ in group]
                    pending.append((group, self.pool.submit(_read_group, work, unseen=_unseen)))
                else:
                    pending.append((group, [read_location(item.location, item.kind, self.jobs,
                                                          self.remote) for item, _ in group]))
            if not pending:
                break
            group, inventories = pending.popleft()
            if self.pool:
                inventories = inventories.result()
            for (item, key), inv in zip(group, inventories):
                if isinstance(inv, str):  # gone since it was found: read as any run would
                    inv = read_location(item.location, item.kind)
                self._judge(item, key, inv)
        self.result.remaining = len(queue)

    def _take(self, queue: deque, most: int) -> list[tuple[Found, int | None]]:
        """Up to `most` packages off the queue, as far as --limit and --for allow; a package's
        interrupted update is finished first (here: the workers only read)."""
        group = []
        while queue and len(group) < most:
            item, key, nbytes = queue[0]
            estimate = nbytes or (estimate_bytes(item.location, item.kind) if self.bounds.limit else 0)
            reason = self.bounds.stop_reason(estimate)
            if reason:
                self.result.stopped = reason
                break
            queue.popleft()
            self.bounds.take(estimate)
            if item.kind == "bag" and (self.record or (key and self.db.pending(key))):
                _finish_interrupted_update(item.location)
            group.append((item, key))
        return group

    # -- one package ----------------------------------------------------------------------------
    def _judge(self, item: Found, key: int | None, inv: Inventory) -> None:
        stamp = now()
        res = PackageResult(item.location, item.kind, inv.identifier, files=len(inv.files),
                            bytes=inv.bytes)
        self.seen_locations.add(item.location)
        self._batch()
        with self.db.unit():  # all of this package's writes, or (interrupted) none
            key = self._judge_writes(item, key, inv, res, stamp)
            intent = self._intent(key, item, res) if self.record else None
        self.judged += 1
        if intent is not None:
            self._record(key, item, res, intent)
        self._maybe_commit()
        self.result.add(res)
        if self.progress:
            self.progress(res)

    def _judge_writes(self, item: Found, key: int | None, inv: Inventory, res: PackageResult,
                      stamp: str) -> int:
        if key is None and inv.identifier:
            for candidate in self.db.missing_copies(inv.identifier):
                old = self.db.db.execute("SELECT location FROM packages WHERE id=?",
                                         (candidate,)).fetchone()[0]
                self.db.move(candidate, item.location, stamp)
                key = candidate
                res.findings.append(problem("AUDIT-PACKAGE-MOVED", "",
                                            f"first recorded at {old}; its record follows it here"))
                break
        pending = self.db.pending(key) if key else None
        baseline = self.db.baseline(key) if key else None
        seals = self.seals.check(inv)
        verdict = judge(inv, baseline, stamp, pending, seals)
        res.findings += verdict.findings
        res.notes += verdict.notes
        res.accepted = verdict.accepted
        res.outcome = "found" if res.findings else "ok"
        if key is None:
            res.first = True
            key = self.db.add_package(item.location, inv.identifier or os.path.basename(item.location),
                                      item.kind, verdict.baseline or {}, stamp)
        elif verdict.baseline is not None:
            self.db.set_baseline(key, verdict.baseline, stamp)
        if pending is not None:
            self.db.settle(key, "judged on the next audit")
        findings = [f.to_dict() for f in res.findings]
        self.db.record_audit(key, self.result.round, self.agent, res.outcome, findings,
                             res.files, res.bytes, stamp)
        self.db.count_round(self.result.round, res.outcome, len(findings), res.bytes)
        return key

    def _intent(self, key: int, item: Found, res: PackageResult):
        """audit --record: the PREMIS event to write and the intent (which old audit events
        the write drops), set in the ledger with the package's audit; None (and a note)
        when the package cannot take it."""
        from archiver.audit.record import audit_events, outcome_event, sealed_events, superseded

        premis = Path(item.location) / PREMIS
        if item.kind != "bag" or not premis.is_file():
            res.notes.append("not recorded: --record writes into archiver package directories only")
            return None
        try:
            events = audit_events(premis.read_bytes())
        except Exception as e:
            res.notes.append(f"not recorded: metadata/premis.xml unreadable ({type(e).__name__})")
            return None
        drop = superseded(events, sealed_events(Path(item.location)))
        first_seen = self.db.db.execute("SELECT first_seen FROM packages WHERE id=?", (key,)).fetchone()[0]
        audits = self.db.db.execute("SELECT COUNT(*), MIN(time) FROM records WHERE package=? "
                                    "AND kind='audit'", (key,)).fetchone()
        event = outcome_event(res.findings, res.files, res.bytes, first_seen,
                              max(0, audits[0] - 1), audits[1])
        self.db.set_pending(key, {"event": event.identifier, "drop": [e.digest for e in drop]})
        return event, drop

    def _record(self, key: int, item: Found, res: PackageResult, intent) -> None:
        """Write the outcome into the package's PREMIS, crash-safely: the intent is committed
        to the ledger (with the package's audit) first, so an audit after a crash at any step
        knows the drop was the audit's own, and the baseline follows."""
        from archiver.metadata.provenance import SOFTWARE
        from archiver.package.record import record_event

        event, drop = intent
        self.db.commit()  # the intent is durable before the package changes
        self.in_batch = 0
        try:
            record_event(item.location, event, [SOFTWARE], drop_events=[e.identifier for e in drop])
        except Exception as e:
            self.db.begin()
            with self.db.unit():
                self.db.settle(key, "write failed")
            res.notes.append(f"not recorded: {type(e).__name__}: {e}")
            return
        self.db.begin()
        with self.db.unit():  # interrupted: the intent stays pending, the next audit settles it
            baseline = self.db.baseline(key)
            _refresh_grown(baseline, Path(item.location))
            self.db.set_baseline(key, baseline)
            self.db.settle(key, "written")
        res.recorded = event.identifier

    def _gone(self) -> None:
        """Packages the ledger knows under the locations audited, no longer there."""
        for scope in self.scopes:
            for key, location in list(self.db.known_under(scope)):
                if location in self.seen_locations or os.path.lexists(location):
                    continue
                last, _, last_round = self.db.schedule_facts(key)
                if last_round == self.result.round:
                    continue
                self._batch()
                stamp = now()
                identifier = self.db.db.execute("SELECT identifier, kind FROM packages WHERE id=?",
                                                (key,)).fetchone()
                res = PackageResult(location, identifier[1], identifier[0], outcome="gone")
                res.findings.append(problem("AUDIT-PACKAGE-GONE", "",
                                            f"no longer at {location} (last audited {last or 'never'})"))
                with self.db.unit():
                    self.db.record_audit(key, self.result.round, self.agent, "gone",
                                         [f.to_dict() for f in res.findings], 0, 0, stamp)
                    self.db.count_round(self.result.round, "gone", 1, 0)
                self._maybe_commit()
                self.result.add(res)
                if self.progress:
                    self.progress(res)


def _refresh_grown(baseline: dict, bag: Path) -> None:
    """After audit --record: premis.xml and the tag manifests as the audit itself wrote them."""
    from archiver.fixity import hash_file

    for rel, entry in baseline.items():
        if not entry.get("grows"):
            continue
        path = bag / rel
        try:
            size, digests = hash_file(path, [a for a in entry["digests"] if a in ALGORITHMS])
        except OSError:
            continue
        entry.update(size=size, digests=dict(sorted(digests.items())))
        if rel == PREMIS:
            entry["elements"] = premis_elements(path.read_bytes()) or {}


def _finish_interrupted_update(bag: str) -> None:
    """An update of the package interrupted by a crash (this audit's own --record, or a
    deposit's) is completed or undone before the package is judged, by the package's own
    recovery (issue 13: package/record.py `recover`, where it exists)."""
    from archiver.package import record

    recover = getattr(record, "recover", None)
    if recover is not None:
        recover(bag)


def _raise_interrupt(signum, frame):
    raise _Interrupted()
