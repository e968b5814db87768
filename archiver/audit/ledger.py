"""The audit ledger: what every package and file first was, and every audit since.

One embedded SQLite database in WAL mode, behind this module only (a server database can
replace it by implementing the same methods). The truth is the `records` table: an
append-only, hash-chained list (each record holds the digest of the one before), so an edit
by hand breaks the chain and `check()` finds it. The other tables are summaries for quick
lookups (the latest state of each package, the rounds); `check()` recomputes them from the
records and reports any disagreement.

Record kinds (body is canonical JSON):
- `package`: a package first seen: location, identifier, kind;
- `baseline`: the accepted state of a package's files, {path: {size, digests, since}}; the
  first one is what the package first was; later ones only add files or accept growth of
  the files allowed to grow (PREMIS, tag manifests), and check() verifies that every file
  first seen keeps its first digests in every later baseline;
- `audit`: one audit of one package: round, time, agent, outcome, files, bytes, findings;
- `moved`: a package found at another location (its record follows it);
- `gone`: a package no longer where it was;
- `round` / `round-end`: an audit round started / finished (with the chain head);
- `pending` / `settled`: an intent to write into a package (audit --record), and its end.

Writes come in batches (one transaction for many packages): SIGKILL at any moment leaves the
ledger at its last committed batch, which SQLite guarantees; the next run resumes the round.
Inside a batch each package's writes are one unit (a savepoint): an interrupt that is caught
(Ctrl-C, SIGTERM) undoes the unfinished package before the batch is committed.
"""
from __future__ import annotations

import hashlib
import json
import os
import sqlite3
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import datetime, timezone
from pathlib import Path

from archiver.durable import step

SCHEMA_VERSION = 1
GENESIS = "0" * 64

_SCHEMA = """
CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS records (
    seq INTEGER PRIMARY KEY, time TEXT NOT NULL, kind TEXT NOT NULL, package INTEGER,
    body TEXT NOT NULL, prev TEXT NOT NULL, hash TEXT NOT NULL);
CREATE INDEX IF NOT EXISTS records_package ON records (package, kind, seq);
CREATE TABLE IF NOT EXISTS packages (
    id INTEGER PRIMARY KEY, location TEXT NOT NULL UNIQUE, identifier TEXT NOT NULL,
    kind TEXT NOT NULL, first_seen TEXT NOT NULL, baseline INTEGER,
    last_audit TEXT, last_outcome TEXT, findings INTEGER NOT NULL DEFAULT 0,
    bytes INTEGER NOT NULL DEFAULT 0, last_round INTEGER, gone INTEGER NOT NULL DEFAULT 0);
CREATE INDEX IF NOT EXISTS packages_identifier ON packages (identifier);
CREATE INDEX IF NOT EXISTS packages_due ON packages (last_audit);
CREATE TABLE IF NOT EXISTS rounds (
    id INTEGER PRIMARY KEY, started TEXT NOT NULL, finished TEXT, agent TEXT NOT NULL,
    locations TEXT NOT NULL, packages INTEGER NOT NULL DEFAULT 0, ok INTEGER NOT NULL DEFAULT 0,
    found INTEGER NOT NULL DEFAULT 0, findings INTEGER NOT NULL DEFAULT 0,
    bytes INTEGER NOT NULL DEFAULT 0, head TEXT, seal TEXT);
CREATE TABLE IF NOT EXISTS pending (package INTEGER PRIMARY KEY, body TEXT NOT NULL);
"""


def default_ledger_path(config: dict | None = None) -> Path:
    """`[audit] ledger` of archiver.toml, else $XDG_DATA_HOME/archiver/ledger.sqlite."""
    if config is None:
        from archiver.config import load_config
        config = load_config()
    configured = (config.get("audit") or {}).get("ledger")
    if configured:
        return Path(configured).expanduser()
    base = os.environ.get("XDG_DATA_HOME") or Path.home() / ".local" / "share"
    return Path(base) / "archiver" / "ledger.sqlite"


def now() -> str:
    return datetime.now(timezone.utc).isoformat(timespec="seconds").replace("+00:00", "Z")


def canonical(body: dict) -> str:
    return json.dumps(body, sort_keys=True, separators=(",", ":"), ensure_ascii=False)


def chain_hash(prev: str, seq: int, time: str, kind: str, package: int | None, body: str) -> str:
    text = "\n".join((prev, str(seq), time, kind, "" if package is None else str(package), body))
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


class LedgerError(Exception):
    """The ledger cannot be opened or used (the CLI's exit status 2)."""


@dataclass
class PackageState:
    identifier: str
    location: str
    kind: str
    first_seen: str
    last_audit: str | None
    last_outcome: str | None
    findings: int
    bytes: int
    gone: bool
    key: int = 0  # the ledger's own number for this copy

    @property
    def path(self) -> str:
        return self.location

    def to_dict(self) -> dict:
        return {"identifier": self.identifier, "location": self.location, "kind": self.kind,
                "first_seen": self.first_seen, "last_audit": self.last_audit,
                "last_outcome": self.last_outcome, "findings": self.findings,
                "bytes": self.bytes, "gone": self.gone}


@dataclass
class AuditRecord:
    time: str
    agent: str
    outcome: str  # "ok", "found" (findings), "gone"
    round: int | None
    location: str
    files: int = 0
    bytes: int = 0
    findings: list[dict] = field(default_factory=list)  # {code, path, message, severity}

    def to_dict(self) -> dict:
        return {"time": self.time, "agent": self.agent, "outcome": self.outcome,
                "round": self.round, "location": self.location, "files": self.files,
                "bytes": self.bytes, "findings": self.findings}


@dataclass
class RoundState:
    id: int
    started: str
    finished: str | None
    agent: str
    locations: list[str]
    packages: int
    ok: int
    found: int
    findings: int
    bytes: int
    head: str | None
    seal: str | None

    def to_dict(self) -> dict:
        return dict(self.__dict__)


class Ledger:
    """The one interface to the ledger. Open with Ledger.open(path[, readonly=True])."""

    def __init__(self, db: sqlite3.Connection, path: Path, readonly: bool, lock: int | None = None):
        self.db = db
        self.path = path
        self.readonly = readonly
        self._lock = lock  # the writer's lock file, held until close()
        self._in_batch = False
        self._in_unit = False

    # -- opening ------------------------------------------------------------------------
    @classmethod
    def open(cls, path: str | os.PathLike | None = None, readonly: bool = False) -> "Ledger":
        path = Path(path) if path is not None else default_ledger_path()
        lock = None
        try:
            if readonly:
                if not path.is_file():
                    raise LedgerError(f"{path}: no ledger here (an audit creates it)")
                db = sqlite3.connect(f"file:{path}?mode=ro", uri=True, isolation_level=None,
                                     check_same_thread=False)
            else:
                path.parent.mkdir(parents=True, exist_ok=True)
                lock = _lock_writer(path)
                db = sqlite3.connect(path, isolation_level=None, timeout=60)
                db.execute("PRAGMA journal_mode=WAL")
                db.execute("PRAGMA synchronous=FULL")  # a committed batch survives power loss
                db.executescript(_SCHEMA)
                if db.execute("SELECT value FROM meta WHERE key='schema'").fetchone() is None:
                    db.execute("INSERT OR IGNORE INTO meta VALUES ('schema', ?)", (str(SCHEMA_VERSION),))
            db.execute("PRAGMA foreign_keys=OFF")
            version = db.execute("SELECT value FROM meta WHERE key='schema'").fetchone()
        except sqlite3.Error as e:
            _unlock(lock)
            raise LedgerError(f"{path}: cannot open the ledger: {e}") from None
        if version is None or version[0] != str(SCHEMA_VERSION):
            _unlock(lock)
            raise LedgerError(f"{path}: not an archiver ledger of schema {SCHEMA_VERSION}")
        return cls(db, path, readonly, lock)

    def close(self) -> None:
        self.db.close()
        _unlock(self._lock)
        self._lock = None

    def __enter__(self) -> "Ledger":
        return self

    def __exit__(self, *exc) -> None:
        self.close()

    # -- batches and the chain -------------------------------------------------------------
    def begin(self) -> None:
        """Start a batch: one transaction (and one chain extension) for many packages."""
        self._writable()
        self.db.execute("BEGIN IMMEDIATE")  # one writer at a time: the chain stays linear
        self._in_batch = True

    def commit(self) -> None:
        if self._in_batch:
            step(f"commit ledger {self.path}")  # a crash test can stop just before any batch
            self.abandon_unit()  # never half a package (an interrupt caught mid-unit)
            self.db.execute("COMMIT")
            self._in_batch = False

    def rollback(self) -> None:
        if self._in_batch:
            self.db.execute("ROLLBACK")
            self._in_batch = False
            self._in_unit = False

    @contextmanager
    def unit(self):
        """One package's writes inside a batch, all or none: an exception raised inside (a
        Ctrl-C, a SIGTERM, any error) undoes them and leaves the batch's earlier packages,
        so committing the batch afterwards never writes half a package."""
        assert self._in_batch, "a unit is part of a batch"
        self.db.execute("SAVEPOINT package")
        self._in_unit = True
        try:
            yield
        except BaseException:
            self.abandon_unit()
            raise
        # cleared before the release: an interrupt between the two leaves a savepoint
        # holding the whole package, which the batch's commit writes whole
        self._in_unit = False
        self.db.execute("RELEASE package")

    def abandon_unit(self) -> None:
        """Undo the unfinished package's writes, if one is open (twice is harmless)."""
        if self._in_unit:
            self.db.execute("ROLLBACK TO package")
            self._in_unit = False
            self.db.execute("RELEASE package")

    def _writable(self) -> None:
        if self.readonly:
            raise LedgerError(f"{self.path}: opened read-only")

    def head(self) -> tuple[int, str]:
        row = self.db.execute("SELECT seq, hash FROM records ORDER BY seq DESC LIMIT 1").fetchone()
        return (row[0], row[1]) if row else (0, GENESIS)

    def _append(self, kind: str, package: int | None, body: dict, time: str | None = None) -> int:
        assert self._in_batch, "ledger writes happen inside begin()/commit()"
        seq, prev = self.head()
        seq += 1
        time = time or now()
        text = canonical(body)
        self.db.execute("INSERT INTO records VALUES (?, ?, ?, ?, ?, ?, ?)",
                        (seq, time, kind, package, text, prev,
                         chain_hash(prev, seq, time, kind, package, text)))
        return seq

    # -- packages ---------------------------------------------------------------------------
    def find(self, location: str) -> int | None:
        row = self.db.execute("SELECT id FROM packages WHERE location=?", (location,)).fetchone()
        return row[0] if row else None

    def add_package(self, location: str, identifier: str, kind: str, baseline: dict,
                    time: str) -> int:
        """A package seen for the first time: its record and its first baseline."""
        cur = self.db.execute("INSERT INTO packages (location, identifier, kind, first_seen) "
                              "VALUES (?, ?, ?, ?)", (location, identifier, kind, time))
        key = cur.lastrowid
        self._append("package", key, {"location": location, "identifier": identifier,
                                      "kind": kind}, time)
        self.set_baseline(key, baseline, time)
        return key

    def set_baseline(self, key: int, baseline: dict, time: str | None = None) -> None:
        seq = self._append("baseline", key, {"files": baseline}, time)
        self.db.execute("UPDATE packages SET baseline=? WHERE id=?", (seq, key))

    def baseline(self, key: int) -> dict:
        row = self.db.execute("SELECT r.body FROM packages p JOIN records r ON r.seq = p.baseline "
                              "WHERE p.id=?", (key,)).fetchone()
        return json.loads(row[0])["files"] if row else {}

    def first_baseline(self, key: int) -> dict:
        row = self.db.execute("SELECT body FROM records WHERE package=? AND kind='baseline' "
                              "ORDER BY seq LIMIT 1", (key,)).fetchone()
        return json.loads(row[0])["files"] if row else {}

    def move(self, key: int, location: str, time: str) -> None:
        old = self.db.execute("SELECT location FROM packages WHERE id=?", (key,)).fetchone()[0]
        self._append("moved", key, {"from": old, "to": location}, time)
        self.db.execute("UPDATE packages SET location=?, gone=0 WHERE id=?", (location, key))

    def missing_copies(self, identifier: str) -> list[int]:
        """Copies of `identifier` the ledger knows whose location no longer exists."""
        rows = self.db.execute("SELECT id, location FROM packages WHERE identifier=?",
                               (identifier,)).fetchall()
        return [key for key, location in rows if not os.path.lexists(location)]

    def record_audit(self, key: int, round_id: int | None, agent: str, outcome: str,
                     findings: list[dict], files: int, nbytes: int, time: str) -> None:
        self._append("audit", key, {"round": round_id, "agent": agent, "outcome": outcome,
                                    "files": files, "bytes": nbytes, "findings": findings}, time)
        self.db.execute("UPDATE packages SET last_audit=?, last_outcome=?, findings=?, bytes=?, "
                        "last_round=?, gone=? WHERE id=?",
                        (time, outcome, len(findings), nbytes, round_id, int(outcome == "gone"), key))

    def known_under(self, prefix: str) -> Iterator[tuple[int, str]]:
        """(key, location) of every copy at `prefix` or beneath it, gone ones included."""
        like = prefix.rstrip(os.sep).replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
        yield from self.db.execute(
            "SELECT id, location FROM packages WHERE location=? OR location LIKE ? ESCAPE '\\'",
            (prefix, like + os.sep + "%"))

    def schedule_facts(self, key: int) -> tuple[str | None, int, int | None]:
        row = self.db.execute("SELECT last_audit, bytes, last_round FROM packages WHERE id=?",
                              (key,)).fetchone()
        return row[0], row[1], row[2]

    # -- intents (audit --record) -------------------------------------------------------------
    def set_pending(self, key: int, body: dict) -> None:
        self._append("pending", key, body)
        self.db.execute("INSERT OR REPLACE INTO pending VALUES (?, ?)", (key, canonical(body)))

    def pending(self, key: int) -> dict | None:
        row = self.db.execute("SELECT body FROM pending WHERE package=?", (key,)).fetchone()
        return json.loads(row[0]) if row else None

    def settle(self, key: int, outcome: str) -> None:
        self._append("settled", key, {"outcome": outcome})
        self.db.execute("DELETE FROM pending WHERE package=?", (key,))

    # -- rounds -------------------------------------------------------------------------------
    def open_round(self, locations: list[str], agent: str) -> tuple[int, bool]:
        """The unfinished round over the same locations (resumed), else a new one."""
        key = canonical({"locations": locations})
        row = self.db.execute("SELECT id FROM rounds WHERE finished IS NULL AND locations=? "
                              "ORDER BY id DESC LIMIT 1", (key,)).fetchone()
        if row:
            return row[0], True
        time = now()
        cur = self.db.execute("INSERT INTO rounds (started, agent, locations) VALUES (?, ?, ?)",
                              (time, agent, key))
        self._append("round", None, {"round": cur.lastrowid, "agent": agent,
                                     "locations": locations}, time)
        return cur.lastrowid, False

    def count_round(self, round_id: int, outcome: str, findings: int, nbytes: int) -> None:
        self.db.execute("UPDATE rounds SET packages=packages+1, ok=ok+?, found=found+?, "
                        "findings=findings+?, bytes=bytes+? WHERE id=?",
                        (int(outcome == "ok"), int(outcome != "ok"), findings, nbytes, round_id))

    def finish_round(self, round_id: int) -> str:
        """Close the round; returns the chain head it ends with (what a seal would cover)."""
        time = now()
        row = self.db.execute("SELECT packages, ok, found, findings, bytes FROM rounds WHERE id=?",
                              (round_id,)).fetchone()
        counts = dict(zip(("packages", "ok", "found", "findings", "bytes"), row))
        seq = self._append("round-end", None, {"round": round_id, **counts}, time)
        head = self.db.execute("SELECT hash FROM records WHERE seq=?", (seq,)).fetchone()[0]
        self.db.execute("UPDATE rounds SET finished=?, head=? WHERE id=?", (time, head, round_id))
        return head

    def set_seal(self, round_id: int, seal: str) -> None:
        self._append("seal", None, {"round": round_id, "seal": seal})
        self.db.execute("UPDATE rounds SET seal=? WHERE id=?", (seal, round_id))

    # -- reading (the web view uses these, read-only) -------------------------------------------
    _STATE = ("SELECT identifier, location, kind, first_seen, last_audit, last_outcome, findings, "
              "bytes, gone, id FROM packages")

    def packages(self) -> Iterator[PackageState]:
        for row in self.db.execute(self._STATE + " ORDER BY identifier, location"):
            yield PackageState(*row[:8], bool(row[8]), row[9])

    def package(self, identifier: str) -> PackageState | None:
        """The package with this identifier (or at this location). With several copies (a
        store's and an OCFL root's), the one audited most recently."""
        row = self.db.execute(self._STATE + " WHERE identifier=? OR location=? "
                              "ORDER BY last_audit IS NULL, last_audit DESC, id LIMIT 1",
                              (identifier, identifier)).fetchone()
        return PackageState(*row[:8], bool(row[8]), row[9]) if row else None

    def copies(self, identifier: str) -> list[PackageState]:
        rows = self.db.execute(self._STATE + " WHERE identifier=? OR location=? ORDER BY id",
                               (identifier, identifier)).fetchall()
        return [PackageState(*r[:8], bool(r[8]), r[9]) for r in rows]

    def copy_at(self, location: str) -> PackageState | None:
        """The copy the ledger knows at this location (a path, never an identifier)."""
        row = self.db.execute(self._STATE + " WHERE location=?", (location,)).fetchone()
        return PackageState(*row[:8], bool(row[8]), row[9]) if row else None

    def copy_of(self, key: int) -> PackageState | None:
        row = self.db.execute(self._STATE + " WHERE id=?", (key,)).fetchone()
        return PackageState(*row[:8], bool(row[8]), row[9]) if row else None

    def _keys(self, identifier: str, key: int | None) -> dict[int, str]:
        if key is not None:
            row = self.db.execute("SELECT location FROM packages WHERE id=?", (key,)).fetchone()
            return {key: row[0]} if row else {}
        return {s.key: s.location for s in self.copies(identifier)}

    def audits(self, identifier: str, key: int | None = None) -> list[AuditRecord]:
        """Every audit of the package (all its copies, or the copy `key` only), oldest first."""
        out = []
        for key, location in self._keys(identifier, key).items():
            for time, body in self.db.execute("SELECT time, body FROM records WHERE package=? "
                                              "AND kind='audit' ORDER BY seq", (key,)):
                b = json.loads(body)
                out.append(AuditRecord(time, b["agent"], b["outcome"], b["round"], location,
                                       b["files"], b["bytes"], b["findings"]))
        return sorted(out, key=lambda a: a.time)

    def events(self, identifier: str, key: int | None = None) -> list[tuple[str, str, dict]]:
        """(time, kind, body) of every record about the package's copies (or the copy `key`
        only), oldest first."""
        rows = []
        for key in self._keys(identifier, key):
            rows += self.db.execute("SELECT seq, time, kind, body FROM records WHERE package=? "
                                    "ORDER BY seq", (key,)).fetchall()
        return [(t, k, json.loads(b)) for _, t, k, b in sorted(rows)]

    def all_audits(self) -> Iterator[tuple[PackageState, AuditRecord]]:
        """Every audit in the ledger, in the order written (for exports)."""
        states = {}
        for time, key, body in self.db.execute("SELECT time, package, body FROM records "
                                               "WHERE kind='audit' ORDER BY seq"):
            if key not in states:
                row = self.db.execute(self._STATE + " WHERE id=?", (key,)).fetchone()
                states = {key: PackageState(*row[:8], bool(row[8]), row[9])}
            b = json.loads(body)
            state = states[key]
            yield state, AuditRecord(time, b["agent"], b["outcome"], b["round"], state.location,
                                     b["files"], b["bytes"], b["findings"])

    def round_seals(self) -> dict[int, list[dict]]:
        """{round: [{authority, genTime}]} of every sealed round, as its seal record says (what
        it proves is for audit.seal.check_seals to say)."""
        import base64

        out = {}
        for body, in self.db.execute("SELECT body FROM records WHERE kind='seal' ORDER BY seq"):
            try:
                b = json.loads(body)
                proof = json.loads(base64.b64decode(b["seal"]))
                out[b["round"]] = [{"authority": t.get("authority"), "genTime": t.get("genTime")}
                                   for t in proof["tokens"]]
            except (KeyError, TypeError, ValueError):
                continue  # check_seals names it
        return out

    def rounds(self, limit: int = 10) -> list[RoundState]:
        rows = self.db.execute("SELECT id, started, finished, agent, locations, packages, ok, found, "
                               "findings, bytes, head, seal FROM rounds ORDER BY id DESC LIMIT ?",
                               (limit,)).fetchall()
        return [RoundState(r[0], r[1], r[2], r[3], json.loads(r[4])["locations"], *r[5:]) for r in rows]

    # -- verification --------------------------------------------------------------------------
    def check(self) -> list:
        """Verify the chain record by record, then the summaries against the records.

        Returns Problems (AUDIT-LEDGER-* codes); none means every record is as written and
        every summary agrees with them. The chain head is what a seal protects: an editor
        who recomputes every later hash is caught only by a sealed (or copied) head."""
        from archiver.audit.findings import ledger_problem

        problems = []
        prev, expected_seq = GENESIS, 1
        state: dict[int, dict] = {}  # package key -> what the records say
        first: dict[int, dict] = {}  # package key -> its first baseline
        rounds: dict[int, dict] = {}
        for seq, time, kind, package, body, prev_field, digest in self.db.execute(
                "SELECT seq, time, kind, package, body, prev, hash FROM records ORDER BY seq"):
            where = f"record {seq}"
            if seq != expected_seq:
                problems.append(ledger_problem("AUDIT-LEDGER-CHAIN", where,
                                               f"records {expected_seq}..{seq - 1} are missing"))
            if prev_field != prev:
                problems.append(ledger_problem("AUDIT-LEDGER-CHAIN", where,
                                               "does not hold the digest of the record before it"))
            if chain_hash(prev_field, seq, time, kind, package, body) != digest:
                problems.append(ledger_problem("AUDIT-LEDGER-CHAIN", where,
                                               f"its content ({kind}) was changed after it was written"))
            prev, expected_seq = digest, seq + 1
            try:
                b = json.loads(body)
            except ValueError:
                problems.append(ledger_problem("AUDIT-LEDGER-CHAIN", where, "body is not JSON"))
                continue
            _replay(state, first, rounds, seq, time, kind, package, b, problems, digest)
        problems += _compare_summaries(self, state, rounds)
        return problems


def lock_path(path: Path) -> Path:
    return path.with_name(path.name + ".lock")


def _lock_writer(path: Path) -> int:
    """One writer per ledger for a whole run (SQLite's own lock is per transaction: two
    audits would interleave their batches, and one resume the other's round). A lock file
    beside the ledger, flock'ed: the kernel releases it when the holder dies, however it
    dies, so a crash never leaves the ledger locked. The file itself stays (removing it
    would let two runs lock two different files)."""
    import fcntl

    target = lock_path(path)
    try:
        fd = os.open(target, os.O_RDWR | os.O_CREAT | getattr(os, "O_CLOEXEC", 0), 0o666)
    except OSError as e:
        raise LedgerError(f"{target}: cannot open the ledger's lock file: {e.strerror}") from None
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        holder = os.pread(fd, 64, 0).decode("ascii", "replace").strip()
        os.close(fd)
        raise LedgerError(f"{path}: another audit is using this ledger"
                          + (f" (process {holder})" if holder.isdigit() else "")
                          + "; run this one when it has finished") from None
    except OSError as e:
        os.close(fd)
        raise LedgerError(f"{target}: cannot lock the ledger: {e.strerror}") from None
    os.ftruncate(fd, 0)
    os.pwrite(fd, f"{os.getpid()}\n".encode("ascii"), 0)  # who holds it, for the message above
    return fd


def _unlock(fd: int | None) -> None:
    if fd is not None:
        os.close(fd)  # closing the descriptor releases the flock


def _replay(state, first, rounds, seq, time, kind, package, b, problems, digest=None) -> None:
    """What the record at `seq` makes of the summaries: `state` (package key -> its packages
    row and "pending", as the records say), `rounds` (round -> its rounds row, "tally" of
    the round's audit records, "end" the counts its round-end record states)."""
    from archiver.audit.findings import ledger_problem

    if kind == "package":
        state[package] = {"location": b["location"], "identifier": b["identifier"],
                          "kind": b["kind"], "first_seen": time, "baseline": None,
                          "last_audit": None, "last_outcome": None, "findings": 0, "bytes": 0,
                          "last_round": None, "gone": 0, "pending": None}
    elif package is not None and package not in state:
        problems.append(ledger_problem("AUDIT-LEDGER-CHAIN", f"record {seq}",
                                       f"{kind} record of package {package} before its first record"))
        return
    elif kind == "baseline":
        files = b.get("files", {})
        if package not in first:
            first[package] = files
        else:
            for path, entry in first[package].items():
                later = files.get(path)
                if later is not None and not entry.get("grows") and \
                        later.get("digests") != entry.get("digests"):
                    problems.append(ledger_problem(
                        "AUDIT-LEDGER-CHAIN", f"record {seq}",
                        f"the baseline changes the first-seen digests of {path} "
                        f"of {state[package]['location']}"))
        state[package]["baseline"] = seq
    elif kind == "audit":
        state[package].update(last_audit=time, last_outcome=b["outcome"],
                              findings=len(b["findings"]), bytes=b["bytes"],
                              last_round=b["round"], gone=int(b["outcome"] == "gone"))
        if b["round"] is not None:
            tally = rounds.setdefault(b["round"], {}).setdefault("tally", dict.fromkeys(_COUNTS, 0))
            tally["packages"] += 1
            tally["ok" if b["outcome"] == "ok" else "found"] += 1
            tally["findings"] += len(b["findings"])
            tally["bytes"] += b["bytes"]
    elif kind == "moved":
        state[package].update(location=b["to"], gone=0)
    elif kind == "pending":
        state[package]["pending"] = canonical(b)
    elif kind == "settled":
        state[package]["pending"] = None
    elif kind == "round":
        rounds.setdefault(b["round"], {})["row"] = {
            "started": time, "finished": None, "agent": b["agent"],
            "locations": canonical({"locations": b["locations"]}), "head": None, "seal": None}
    elif kind == "round-end":
        row = rounds.setdefault(b["round"], {}).setdefault("row", {})
        row.update(finished=time, head=digest)
        rounds[b["round"]]["end"] = {k: b.get(k) for k in _COUNTS}
    elif kind == "seal":
        rounds.setdefault(b["round"], {}).setdefault("row", {})["seal"] = b.get("seal")


_COUNTS = ("packages", "ok", "found", "findings", "bytes")
_PACKAGE_COLUMNS = ("location", "identifier", "kind", "first_seen", "baseline", "last_audit",
                    "last_outcome", "findings", "bytes", "last_round", "gone")
_ROUND_COLUMNS = ("started", "finished", "agent", "locations", "head", "seal")


def _compare_summaries(ledger: Ledger, state: dict, rounds: dict) -> list:
    """Every column of the summary tables against what the records say (README: "the
    summary tables agree with the records")."""
    from archiver.audit.findings import ledger_problem

    problems = []

    def differs(where, table, column, value, expected):
        problems.append(ledger_problem("AUDIT-LEDGER-TABLE", where,
                                       f"{table}.{column} is {value!r}; the records say {expected!r}"))

    seen = set()
    for row in ledger.db.execute(f"SELECT id, {', '.join(_PACKAGE_COLUMNS)} FROM packages"):
        key, values = row[0], dict(zip(_PACKAGE_COLUMNS, row[1:]))
        seen.add(key)
        expected = state.get(key)
        if expected is None:
            problems.append(ledger_problem("AUDIT-LEDGER-TABLE", values["location"],
                                           "a package no record introduces"))
            continue
        for column in _PACKAGE_COLUMNS:
            if values[column] != expected[column]:
                differs(expected["location"], "packages", column, values[column], expected[column])
    for key in state.keys() - seen:
        problems.append(ledger_problem("AUDIT-LEDGER-TABLE", state[key]["location"],
                                       "recorded package missing from the packages table"))

    pending = dict(ledger.db.execute("SELECT package, body FROM pending"))
    for key in pending.keys() | {k for k, s in state.items() if s["pending"]}:
        expected = state[key]["pending"] if key in state else None
        if pending.get(key) != expected:
            where = state[key]["location"] if key in state else f"package {key}"
            differs(where, "pending", "body", pending.get(key), expected)

    found = set()
    for row in ledger.db.execute(f"SELECT id, {', '.join(_ROUND_COLUMNS + _COUNTS)} FROM rounds"):
        number, values = row[0], dict(zip(_ROUND_COLUMNS + _COUNTS, row[1:]))
        found.add(number)
        where = f"round {number}"
        said = rounds.get(number, {})
        if "row" not in said:
            problems.append(ledger_problem("AUDIT-LEDGER-TABLE", where, "a round no record starts"))
            continue
        tally = said.get("tally") or dict.fromkeys(_COUNTS, 0)
        expected = {**said["row"], **tally}
        for column in _ROUND_COLUMNS + _COUNTS:
            if values[column] != expected.get(column):
                differs(where, "rounds", column, values[column], expected.get(column))
    for number, said in rounds.items():
        if number not in found:
            problems.append(ledger_problem("AUDIT-LEDGER-TABLE", f"round {number}",
                                           "recorded round missing from the rounds table"))
        end, tally = said.get("end"), said.get("tally") or dict.fromkeys(_COUNTS, 0)
        if end is not None and end != tally:
            problems.append(ledger_problem(
                "AUDIT-LEDGER-CHAIN", f"round {number}",
                f"its end record counts {end}, its audit records {tally}"))
    return problems
