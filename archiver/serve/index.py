"""The catalogue of a store: one SQLite row per package, kept outside the store.

A page of the list, a search and the health counts are each one query here, never a walk of
the store, so 100,000 packages list as fast as ten. The catalogue is a cache of what the
packages say: it is rebuilt from them at will (delete the file), and refreshed incrementally:
a package is read again only when the modification time of its folder or of its metadata/
folder changed, which every change archiver makes to a package causes (recording an event
renames new tag files and tag manifests into both). Nothing here writes to the store.
"""
from __future__ import annotations

import hashlib
import itertools
import json
import os
import sqlite3
import stat
import threading
import time
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from pathlib import Path

from archiver.bagit.bag import SEAL_DIRECTORY
from archiver.config import cache_dir
from archiver.package.store import SERIALIZED
from archiver.serve import describe
from archiver.serve.standing import instant, with_ledger

SCHEMA_VERSION = "2"  # 2: the checks whose failure stands (standing)
BATCH = 500                        # packages written per transaction while indexing
PARALLEL_FROM = 5000               # packages to read before a pool of processes pays
WATCHED = ("", "metadata", SEAL_DIRECTORY)  # folders whose mtimes say a package changed
PAGE_SIZES = (25, 50, 100, 200)
STATES = ("failed", "unreadable", "unchecked", "passed")  # also the sort order: worst first

_SCHEMA = """
CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT);
CREATE TABLE IF NOT EXISTS packages (
    id INTEGER PRIMARY KEY,
    name TEXT NOT NULL UNIQUE,
    stamp TEXT NOT NULL,
    kind TEXT NOT NULL,                 -- bag | serialized
    identifier TEXT, title TEXT, title_key TEXT, source_url TEXT, publisher TEXT,
    issued TEXT, captured TEXT, language TEXT, size INTEGER, files INTEGER, built TEXT,
    archiver_package INTEGER,
    check_type TEXT, check_time TEXT, check_outcome TEXT, check_detail TEXT,
    standing TEXT,                      -- JSON: the package's failed checks no later one cleared
    deposits INTEGER, deposit_targets TEXT, last_deposit TEXT,
    problems TEXT, problem_count INTEGER,
    audit_time TEXT, audit_outcome TEXT, audit_findings INTEGER,
    sealed INTEGER,
    state TEXT, state_rank INTEGER, checked TEXT
);
CREATE INDEX IF NOT EXISTS by_state ON packages (state_rank, title_key);
CREATE INDEX IF NOT EXISTS by_title ON packages (title_key);
CREATE INDEX IF NOT EXISTS by_issued ON packages (issued);
CREATE INDEX IF NOT EXISTS by_captured ON packages (captured);
CREATE INDEX IF NOT EXISTS by_size ON packages (size);
CREATE INDEX IF NOT EXISTS by_checked ON packages (checked);
CREATE INDEX IF NOT EXISTS by_built ON packages (built);
CREATE INDEX IF NOT EXISTS by_identifier ON packages (identifier);
CREATE INDEX IF NOT EXISTS by_language ON packages (language);
CREATE INDEX IF NOT EXISTS by_sealed ON packages (sealed);
CREATE VIRTUAL TABLE IF NOT EXISTS search USING fts5 (
    identifier, title, text, source_url, tokenize = 'unicode61 remove_diacritics 2'
);
"""

# the list's sort keys, each an SQL ordering (never built from what a request says)
SORTS = {
    "state": "state_rank {dir}, title_key {dir}",
    "title": "title_key {dir}",
    "issued": "issued IS NULL, issued {dir}, title_key",
    "captured": "captured IS NULL, captured {dir}, title_key",
    "size": "size IS NULL, size {dir}, title_key",
    "checked": "checked IS NULL, checked {dir}, title_key",
    "built": "built IS NULL, built {dir}, title_key",
}
COLUMNS = ("name, kind, identifier, title, source_url, publisher, issued, captured, language, "
           "size, files, built, archiver_package, check_type, check_time, check_outcome, "
           "check_detail, standing, deposits, deposit_targets, last_deposit, problems, "
           "problem_count, audit_time, audit_outcome, audit_findings, sealed, state, checked")


def default_index_path(store: str | os.PathLike) -> Path:
    """`$XDG_CACHE_HOME/archiver/serve/<digest of the store's real path>.sqlite3`."""
    real = os.path.realpath(store)
    return cache_dir() / "serve" / f"{hashlib.sha256(real.encode()).hexdigest()[:20]}.sqlite3"


def _stamp(path: Path) -> str | None:
    """The mtimes of a package's watched folders; None when `path` is no package to list."""
    parts = []
    for rel in WATCHED:
        try:
            st = os.lstat(path / rel) if rel else os.lstat(path)
        except OSError:
            parts.append("-")
            continue
        if not rel and stat.S_ISLNK(st.st_mode):
            return None  # a link in the store is never followed out of it
        parts.append(f"{st.st_mtime_ns}.{st.st_ino}")
    return ":".join(parts)


def _entries(store: Path) -> Iterator[tuple[str, str, str]]:
    """(name, kind, stamp) for each package of the store: every visible folder, and every
    serialized bag. Hidden entries (a build's temporary packages) are not packages yet."""
    with os.scandir(store) as it:
        for entry in it:
            if entry.name.startswith("."):
                continue
            try:
                if entry.is_symlink():
                    continue
                if entry.is_dir(follow_symlinks=False):
                    stamp = _stamp(Path(entry.path))
                    if stamp is not None:
                        yield entry.name, "bag", stamp
                elif entry.is_file(follow_symlinks=False) and entry.name.lower().endswith(SERIALIZED):
                    st = entry.stat(follow_symlinks=False)
                    yield entry.name, "serialized", f"{st.st_mtime_ns}.{st.st_size}"
            except OSError:
                continue


def _row(name: str, kind: str, stamp: str, store: Path) -> tuple[dict, str]:
    """The row of one package and its search text."""
    if kind == "serialized":
        path = store / name
        try:
            size = os.lstat(path).st_size
        except OSError:
            size = None
        s = {"name": name, "identifier": name, "title": name, "size": size,
             "problems": [], "archiver_package": False, "deposits": 0, "deposit_targets": []}
        return s, ""
    s = describe.summary(describe.read(store / name))
    return s, s.pop("text")


def _read_batch(store: Path, items: list[tuple[str, str, str]]) -> list[tuple]:
    return [(*item, *_row(*item, store)) for item in items]


def _read_all(store: Path, todo: list[tuple[str, str, str]]) -> Iterator[list[tuple]]:
    """The rows of `todo`, BATCH at a time; many packages (a first indexing) are read by a
    pool of processes, one per core, in order."""
    batches = [todo[i:i + BATCH] for i in range(0, len(todo), BATCH)]
    workers = min(os.cpu_count() or 1, len(batches))
    if len(todo) < PARALLEL_FROM or workers < 2:
        for batch in batches:
            yield _read_batch(store, batch)
        return
    import multiprocessing
    from concurrent.futures import ProcessPoolExecutor
    from concurrent.futures.process import BrokenProcessPool

    done = 0
    try:
        # forkserver: the server has threads running, which a fork would copy mid-flight
        with ProcessPoolExecutor(workers, mp_context=multiprocessing.get_context("forkserver")) as pool:
            for rows in pool.map(_read_batch, [store] * len(batches), batches):
                yield rows
                done += 1
    except (BrokenProcessPool, OSError):  # no processes to be had: read here, more slowly
        for batch in batches[done:]:
            yield _read_batch(store, batch)


def state_of(row: dict) -> tuple[str, str | None]:
    """(state, time of the latest check) from the package's own record and the ledger's:
    "failed" while any failure stands (archiver.serve.standing says which do), not when the
    latest check failed; "passed" when checks were made and none of their failures stands."""
    times = [t for t in (row.get("check_time"), row.get("audit_time")) if t]
    latest = max(times, key=lambda t: (instant(t) is not None, instant(t) or t), default=None)
    if row.get("problems"):
        return "unreadable", latest
    if latest is None:
        return "unchecked", None
    failures = with_ledger(row.get("standing") or [], row.get("audit_time"),
                           row.get("audit_outcome"))
    return ("failed" if failures else "passed"), latest


@dataclass
class Progress:
    """What the indexer is doing, for the pages' banner."""
    running: bool = False
    done: int = 0
    total: int = 0
    last_refresh: float | None = None     # time.time() of the last finished refresh
    last_seconds: float | None = None
    error: str | None = None


class Catalogue:
    """The SQLite catalogue of one store. One writer (the indexer thread), readers per thread."""

    def __init__(self, store: str | os.PathLike, path: str | os.PathLike | None = None):
        self.store = Path(store).resolve()
        self.path = Path(path) if path else default_index_path(self.store)
        real_index = os.path.realpath(self.path)
        if real_index == str(self.store) or real_index.startswith(str(self.store) + os.sep):
            raise ValueError(f"the index {self.path} would be inside the store {self.store}: "
                             "the web view writes nothing into the store")
        # the catalogue holds the reports' text: readable by its owner only
        self.path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
        self.path.touch(mode=0o600, exist_ok=True)
        self.progress = Progress()
        self._local = threading.local()
        self._store_mtime: int | None = None
        self._writer = self._open_writer()
        # annotations from elsewhere (the audit ledger, seals), merged into each row
        self.annotators: list[Callable[[Catalogue], None]] = []

    # -- connections ------------------------------------------------------------------------
    def _open_writer(self) -> sqlite3.Connection:
        for attempt in (1, 2):
            db = sqlite3.connect(self.path, check_same_thread=False, isolation_level=None)
            try:
                db.execute("PRAGMA journal_mode=WAL")
                db.execute("PRAGMA synchronous=NORMAL")  # a cache: losing the last commit is fine
                db.executescript(_SCHEMA)
                version = db.execute("SELECT value FROM meta WHERE key='schema'").fetchone()
                store = db.execute("SELECT value FROM meta WHERE key='store'").fetchone()
                if version is None:
                    db.execute("INSERT OR REPLACE INTO meta VALUES ('schema', ?), ('store', ?)",
                               (SCHEMA_VERSION, str(self.store)))
                elif version[0] != SCHEMA_VERSION or (store and store[0] != str(self.store)):
                    raise sqlite3.DatabaseError("an index of another version or store")
                return db
            except sqlite3.DatabaseError:
                db.close()
                if attempt == 2:
                    raise
                # a cache of another version, or damaged: start it again
                for suffix in ("", "-wal", "-shm"):
                    Path(f"{self.path}{suffix}").unlink(missing_ok=True)
                self.path.touch(mode=0o600)
        raise AssertionError("unreachable")

    def reader(self) -> sqlite3.Connection:
        db = getattr(self._local, "db", None)
        if db is None:
            db = sqlite3.connect(f"file:{self.path}?mode=ro", uri=True, check_same_thread=False)
            db.row_factory = sqlite3.Row
            self._local.db = db
        return db

    # -- refreshing -------------------------------------------------------------------------
    def store_changed(self) -> bool:
        """Whether packages came or went since the last refresh (one stat of the store)."""
        try:
            return os.stat(self.store).st_mtime_ns != self._store_mtime
        except OSError:
            return True

    def refresh(self) -> dict:
        """Bring the catalogue up to date with the store; returns counts of what changed."""
        started = time.monotonic()
        db = self._writer
        self.progress.running, self.progress.error = True, None
        try:
            self._store_mtime = os.stat(self.store).st_mtime_ns
            known = dict(db.execute("SELECT name, stamp FROM packages"))
            seen, todo = set(), []
            for name, kind, stamp in _entries(self.store):
                seen.add(name)
                if known.get(name) != stamp:
                    todo.append((name, kind, stamp))
            gone = [n for n in known if n not in seen]
            self.progress.done, self.progress.total = 0, len(todo)
            for rows in _read_all(self.store, todo):
                with _transaction(db):
                    for name, kind, stamp, row, text in rows:
                        self._upsert(db, name, kind, stamp, row, text)
                self.progress.done += len(rows)
            with _transaction(db):
                for name in gone:
                    self._delete(db, name)
            for annotate in self.annotators:
                annotate(self)
            if todo or gone:
                db.execute("PRAGMA wal_checkpoint(TRUNCATE)")  # keep the -wal file small
            return {"read": len(todo), "removed": len(gone), "packages": len(seen)}
        except Exception as e:
            self.progress.error = f"{type(e).__name__}: {e}"
            raise
        finally:
            self.progress.running = False
            self.progress.last_refresh = time.time()
            self.progress.last_seconds = time.monotonic() - started

    def _upsert(self, db: sqlite3.Connection, name: str, kind: str, stamp: str, row: dict,
                text: str) -> None:
        old = db.execute("SELECT id, audit_time, audit_outcome, audit_findings "
                         "FROM packages WHERE name=?", (name,)).fetchone()
        if old:  # the ledger's columns stay until the ledger says otherwise
            row.update(audit_time=old[1], audit_outcome=old[2], audit_findings=old[3])
        state, checked = state_of(row)
        values = (
            name, stamp, kind, row.get("identifier"), row.get("title"),
            (row.get("title") or "").casefold(), row.get("source_url"), row.get("publisher"),
            row.get("issued"), row.get("captured"), row.get("language"), row.get("size"),
            row.get("files"), row.get("built"), int(bool(row.get("archiver_package"))),
            row.get("check_type"), row.get("check_time"), row.get("check_outcome"),
            row.get("check_detail"), json.dumps(row.get("standing", []), ensure_ascii=False),
            row.get("deposits", 0),
            json.dumps(row.get("deposit_targets", [])), row.get("last_deposit"),
            json.dumps(row.get("problems", []), ensure_ascii=False), len(row.get("problems", [])),
            row.get("audit_time"), row.get("audit_outcome"), row.get("audit_findings"),
            row.get("sealed"), state, STATES.index(state), checked)
        if old:
            db.execute("DELETE FROM search WHERE rowid=?", (old[0],))
            db.execute("""UPDATE packages SET name=?, stamp=?, kind=?, identifier=?, title=?,
                title_key=?, source_url=?, publisher=?, issued=?, captured=?, language=?, size=?,
                files=?, built=?, archiver_package=?, check_type=?, check_time=?, check_outcome=?,
                check_detail=?, standing=?, deposits=?, deposit_targets=?, last_deposit=?,
                problems=?, problem_count=?, audit_time=?, audit_outcome=?, audit_findings=?, sealed=?,
                state=?, state_rank=?, checked=? WHERE id=?""", (*values, old[0]))
            rowid = old[0]
        else:
            rowid = db.execute(f"INSERT INTO packages (name, stamp, kind, identifier, title, "
                               f"title_key, source_url, publisher, issued, captured, language, "
                               f"size, files, built, archiver_package, check_type, check_time, "
                               f"check_outcome, check_detail, standing, deposits, deposit_targets, "
                               f"last_deposit, problems, problem_count, audit_time, "
                               f"audit_outcome, audit_findings, sealed, state, state_rank, "
                               f"checked) VALUES ({', '.join('?' * len(values))})",
                               values).lastrowid
        db.execute("INSERT INTO search (rowid, identifier, title, text, source_url) "
                   "VALUES (?, ?, ?, ?, ?)",
                   (rowid, f"{row.get('identifier') or ''} {name}", row.get("title") or "", text,
                    row.get("source_url") or ""))

    def _delete(self, db: sqlite3.Connection, name: str) -> None:
        found = db.execute("SELECT id FROM packages WHERE name=?", (name,)).fetchone()
        if found:
            db.execute("DELETE FROM search WHERE rowid=?", found)
            db.execute("DELETE FROM packages WHERE id=?", found)

    def annotate(self, values: Iterable[tuple[str, dict]], by: str = "name") -> None:
        """Set the ledger's columns (audit_time, audit_outcome, audit_findings) on the packages
        named (by directory name or identifier), and their states with them. `values` is
        read BATCH at a time, and only rows that change are written: a ledger of 100,000
        packages that says what the catalogue already holds costs no write, and memory does
        not grow with the store."""
        db = self._writer
        column = {"name": "name", "identifier": "identifier"}[by]
        values = iter(values)
        while batch := dict(itertools.islice(values, BATCH)):
            changes = []
            for key, rowid, problems, check_time, standing, *audit in db.execute(
                    f"SELECT {column}, id, problems, check_time, standing, audit_time, "
                    f"audit_outcome, audit_findings FROM packages WHERE {column} IN "
                    f"({', '.join('?' * len(batch))})", list(batch)).fetchall():
                cols = batch[key]
                new = [cols["audit_time"], cols["audit_outcome"], cols["audit_findings"]]
                if new == audit:
                    continue
                state, checked = state_of({"problems": json.loads(problems or "[]"),
                                           "check_time": check_time,
                                           "standing": json.loads(standing or "[]"),
                                           "audit_time": new[0], "audit_outcome": new[1]})
                changes.append((*new, state, STATES.index(state), checked, rowid))
            if changes:
                with _transaction(db):
                    db.executemany("UPDATE packages SET audit_time=?, audit_outcome=?, "
                                   "audit_findings=?, state=?, state_rank=?, checked=? WHERE id=?",
                                   changes)

    # -- queries ----------------------------------------------------------------------------
    def page(self, q: str = "", sort: str = "", order: str = "", state: str = "",
             language: str = "", page: int = 1, per_page: int = 50,
             due_before: str | None = None) -> dict:
        """One page of the list: {"total", "page", "per_page", "packages": [...]}."""
        db = self.reader()
        where, args = [], []
        match = search_expression(q)
        if state == "due":
            where.append("(checked IS NULL OR checked < ?)")
            args.append(due_before or "")
        elif state in STATES:
            where.append("state_rank = ?")
            args.append(STATES.index(state))
        if language:
            where.append("language = ?")
            args.append(language)
        sort = sort if sort in SORTS else ("relevance" if match else "state")
        direction = "DESC" if order == "desc" else "ASC"
        per_page = per_page if per_page in PAGE_SIZES else 50
        page = max(1, page)
        if match:
            source = ("packages JOIN (SELECT rowid AS hit, rank FROM search WHERE search MATCH ?) "
                      "ON hit = packages.id")
            args.insert(0, match)
        else:
            source = "packages"
        clause = f" WHERE {' AND '.join(where)}" if where else ""
        ordering = "rank, title_key" if sort == "relevance" else SORTS[sort].format(dir=direction)
        total = db.execute(f"SELECT count(*) FROM {source}{clause}", args).fetchone()[0]
        rows = db.execute(f"SELECT {COLUMNS} FROM {source}{clause} ORDER BY {ordering} "
                          f"LIMIT ? OFFSET ?", [*args, per_page, (page - 1) * per_page]).fetchall()
        return {"total": total, "page": page, "per_page": per_page, "sort": sort,
                "order": "desc" if direction == "DESC" else "asc",
                "packages": [_public(r) for r in rows]}

    def get(self, name: str) -> dict | None:
        row = self.reader().execute(f"SELECT {COLUMNS} FROM packages WHERE name=?",
                                    (name,)).fetchone()
        return _public(row) if row else None

    def counts(self, due_before: str) -> dict:
        db = self.reader()
        counts = dict.fromkeys(STATES, 0)
        counts.update((STATES[rank], n) for rank, n in db.execute(
            "SELECT state_rank, count(*) FROM packages GROUP BY state_rank"))
        counts["due"] = db.execute("SELECT count(*) FROM packages WHERE checked IS NULL OR checked < ?",
                                   (due_before,)).fetchone()[0]
        counts["total"] = sum(counts[s] for s in STATES)
        counts["sealed"] = db.execute("SELECT count(*) FROM packages WHERE sealed=1").fetchone()[0]
        return counts

    def with_problems(self, limit: int = 200) -> list[dict]:
        """Packages with a failure that stands, or that cannot be read, worst first."""
        rows = self.reader().execute(
            f"SELECT {COLUMNS} FROM packages WHERE state_rank < 2 "  # failed, unreadable
            f"ORDER BY state_rank, checked DESC, title_key LIMIT ?", (limit,)).fetchall()
        return [_public(r) for r in rows]

    def languages(self) -> list[str]:
        return [r[0] for r in self.reader().execute(
            "SELECT DISTINCT language FROM packages WHERE language IS NOT NULL ORDER BY language")]

    def close(self) -> None:
        self._writer.close()


class _transaction:
    def __init__(self, db: sqlite3.Connection):
        self.db = db

    def __enter__(self):
        self.db.execute("BEGIN IMMEDIATE")

    def __exit__(self, kind, value, tb):
        self.db.execute("COMMIT" if kind is None else "ROLLBACK")


def _public(row: sqlite3.Row) -> dict:
    out = dict(row)
    out["deposit_targets"] = json.loads(out["deposit_targets"] or "[]")
    out["problems"] = json.loads(out["problems"] or "[]")
    out["standing"] = with_ledger(json.loads(out["standing"] or "[]"), out["audit_time"],
                                  out["audit_outcome"])  # every failure that stands
    out["archiver_package"] = bool(out["archiver_package"])
    out["sealed"] = None if out["sealed"] is None else bool(out["sealed"])
    return out


def search_expression(q: str) -> str | None:
    """An FTS5 query from what a person typed: every word must occur (as a prefix), in any
    field; words are quoted, so nothing typed is read as FTS5 syntax."""
    words = q.split()
    if not words:
        return None
    return " AND ".join('"' + w.replace('"', '""') + '"*' for w in words[:20])


@dataclass
class Indexer:
    """Refreshes a catalogue in a thread of its own: at start, whenever packages come or go
    (poked by requests), and every `interval` seconds for changes inside packages."""
    catalogue: Catalogue
    interval: float = 30.0
    _wake: threading.Event = field(default_factory=threading.Event)
    _stop: threading.Event = field(default_factory=threading.Event)
    _thread: threading.Thread | None = None

    def start(self) -> None:
        self._thread = threading.Thread(target=self._run, name="archiver-serve-index", daemon=True)
        self._thread.start()

    def poke(self) -> None:
        if self.catalogue.store_changed() and not self.catalogue.progress.running:
            self._wake.set()

    def _run(self) -> None:
        while not self._stop.is_set():
            try:
                self.catalogue.refresh()
            except Exception:  # recorded in progress.error, shown on the pages; try again later
                pass
            # a sweep of a large store costs seconds of stats: never more than a tenth of the time
            self._wake.wait(max(self.interval, 10 * (self.catalogue.progress.last_seconds or 0)))
            self._wake.clear()

    def stop(self) -> None:
        self._stop.set()
        self._wake.set()
        if self._thread:
            self._thread.join(timeout=10)
