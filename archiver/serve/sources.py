"""What the web view shows from outside a package's own files: the audit ledger.

The ledger is opened read-only, through its interface only (archiver.audit.ledger). After
each refresh of the catalogue, the ledger's latest audit of each package (its time, outcome
and count of findings) is copied onto the package's row, when the ledger file changed since;
so the list sorts and filters on audits without a query of the ledger per request. A package
page and the health page ask the ledger directly.
"""
from __future__ import annotations

import os
import threading
from pathlib import Path

from archiver.audit.history import fold, ledger_entries
from archiver.audit.ledger import Ledger
from archiver.audit.record import DETAIL_PREFIX

ROUNDS_SHOWN = 10
OUTCOMES = {"ok": "success"}  # anything else the ledger says ("found", "gone") is a failure


def outcome(value: str | None) -> str | None:
    """success / failure as PREMIS says it; None for an entry without an outcome."""
    return OUTCOMES.get(value, "failure") if value else None


class LedgerSource:
    def __init__(self, path: str | os.PathLike, store: Path):
        self.path = Path(path)
        self.store = store
        self._stamp: tuple | None = None
        self._local = threading.local()
        Ledger.open(self.path, readonly=True).close()  # fails now, with a message, if it is not a ledger

    def ledger(self) -> Ledger:
        """A read-only connection of this thread's own."""
        db = getattr(self._local, "ledger", None)
        if db is None:
            db = Ledger.open(self.path, readonly=True)
            self._local.ledger = db
        return db

    def _file_stamp(self) -> tuple:
        out = []
        for suffix in ("", "-wal"):
            try:
                st = os.stat(f"{self.path}{suffix}")
                out.append((st.st_mtime_ns, st.st_size))
            except OSError:
                out.append(None)
        return tuple(out)

    def _name_in_store(self, location: str, parents: dict) -> str | None:
        parent, name = os.path.split(os.path.normpath(location))
        if parent not in parents:  # one realpath per folder, not per package
            parents[parent] = os.path.realpath(parent) == os.path.realpath(self.store)
        return name if parents[parent] else None

    def annotate(self, catalogue) -> None:
        """Copy each package's latest audit onto its catalogue row (when the ledger changed,
        or packages were read anew). The store's own copy has the word; a copy elsewhere (an
        OCFL root) speaks for a package only when the ledger knows no copy in this store."""
        stamp = self._file_stamp()
        if stamp == self._stamp and not catalogue.progress.done:
            return
        elsewhere, here, parents = [], set(), {}

        def in_store():
            for state in self.ledger().packages():
                cols = {"audit_time": state.last_audit, "audit_outcome": outcome(state.last_outcome),
                        "audit_findings": state.findings if state.last_audit else None}
                name = self._name_in_store(state.location, parents)
                if name:
                    here.add(state.identifier)
                    yield name, cols
                elif not state.gone:
                    elsewhere.append((state.identifier, cols))

        catalogue.annotate(in_store(), by="name")
        catalogue.annotate([(i, c) for i, c in elsewhere if i not in here], by="identifier")
        self._stamp = stamp

    def _copy(self, name: str, identifier: str):
        """(the ledger's copy, True) of the store's own package; else (the copy elsewhere
        audited last, False), whose entries then name their copies; else (None, False)."""
        ledger = self.ledger()
        state = ledger.copy_at(str(self.store / name))
        if state is not None:
            return state, True
        return ledger.package(identifier), False

    def package(self, name: str, identifier: str) -> dict:
        """The ledger's timeline entries and latest findings for one package: the audits of
        the store's own copy (another copy's, an OCFL root's, are not this one's)."""
        ledger = self.ledger()
        state, own = self._copy(name, identifier)
        if state is None:
            return {"ledger": {"known": False}}
        entries = fold(ledger_entries(ledger, state.identifier, state.key if own else None))
        timeline = [{"time": e.time, "type": "audit" if e.kind == "audit" else "ledger",
                     "label": e.kind if e.count == 1 else f"{e.kind} × {e.count} (until {e.until})",
                     "outcome": outcome(e.outcome) or "", "detail": e.summary,
                     "outcome_detail": None, "agents": [], "details": e.details, "source": "ledger"}
                    for e in entries]
        audits = ledger.audits(state.identifier, key=state.key)
        return {"ledger": {"known": True, "first_seen": state.first_seen,
                           "last_audit": state.last_audit, "last_outcome": outcome(state.last_outcome),
                           "findings": audits[-1].findings if audits else []},
                "ledger_timeline": timeline}

    def health(self, failed: list[dict]) -> dict:
        ledger = self.ledger()
        findings = {}
        for row in failed:
            state, _ = self._copy(row["name"], row["identifier"])
            audits = ledger.audits(state.identifier, key=state.key) if state else []
            if audits and audits[-1].findings:
                findings[row["name"]] = audits[-1].findings
        return {"ledger": str(self.path),
                "rounds": [r.to_dict() for r in ledger.rounds(ROUNDS_SHOWN)],
                "findings_by_package": findings}


def merge_timeline(page: dict) -> None:
    """The package's PREMIS events and the ledger's entries in one timeline. Audits the
    ledger holds and that were also recorded into PREMIS (audit --record) are shown once,
    from the ledger, which has every one of them."""
    extra = page.pop("ledger_timeline", None)
    if not extra:
        return
    kept = [e for e in page["timeline"]
            if not (e["type"] == "fix" and (e.get("detail") or "").startswith(DETAIL_PREFIX))]
    page["timeline"] = sorted(kept + extra, key=lambda e: (e.get("time") or "", e["source"] != "premis"))
