"""A package's timeline: what its own PREMIS says (build, capture, validations, deposits,
recorded audits), its seals and renewals as its evidence/ records hold them (dated by the
authorities' tokens), and what the ledger kept (first seen, every audit with its round's
seal, moves, losses). What is shown is what is recorded: `archiver verify` proves the
seals, `archiver audit --check-ledger` the rounds'.

Long runs of successful audits are folded into one line ("ok × 37, from ... to ..."), so
decades of nightly checks stay readable; every failure keeps its own line.
"""
from __future__ import annotations

import os
import re
import tarfile
import zipfile
from dataclasses import dataclass, field
from pathlib import Path

from lxml import etree

from archiver.audit.inventory import PREMIS
from archiver.audit.record import DETAIL_PREFIX, premis_events
from archiver.bagit.bag import SEAL_DIRECTORY
from archiver.metadata.premis import P
from archiver.metadata.vocabulary import EVENT_TYPES

SEAL_EVENT = EVENT_TYPES["dsg"]  # the PREMIS event of a seal or renewal (digital signature generation)


@dataclass
class Entry:
    time: str
    source: str  # "package" (its PREMIS) or "ledger"
    kind: str  # e.g. "creation", "replication", "audit"
    outcome: str
    summary: str
    details: list[str] = field(default_factory=list)
    count: int = 1
    until: str | None = None
    location: str | None = None  # the copy a ledger entry is about

    def to_dict(self) -> dict:
        return dict(self.__dict__)


@dataclass
class History:
    identifier: str
    locations: list[str]
    entries: list[Entry]

    def to_dict(self) -> dict:
        return {"identifier": self.identifier, "locations": self.locations,
                "entries": [e.to_dict() for e in self.entries]}


def premis_of(location: str) -> bytes | None:
    """metadata/premis.xml of a package directory, serialized bag or OCFL object (head)."""
    if os.path.isdir(location):
        inventory = os.path.join(location, "inventory.json")
        if os.path.isfile(inventory):
            import json
            data = json.load(open(inventory, encoding="utf-8"))
            state = data["versions"][data["head"]]["state"]
            for digest, paths in state.items():
                if PREMIS in paths:
                    content = data["manifest"][digest][0]
                    return open(os.path.join(location, *content.split("/")), "rb").read()
            return None
        path = os.path.join(location, *PREMIS.split("/"))
        return open(path, "rb").read() if os.path.isfile(path) else None
    if not os.path.isfile(location):
        return None
    if location.lower().endswith(".zip"):
        with zipfile.ZipFile(location) as zf:
            for info in zf.infolist():
                if info.filename.split("/", 1)[-1] == PREMIS:
                    return zf.read(info)
        return None
    with tarfile.open(location, "r|*") as tf:
        for info in tf:
            if info.isreg() and info.name.removeprefix("./").split("/", 1)[-1] == PREMIS:
                return tf.extractfile(info).read()
    return None


def premis_entries(document: bytes) -> list[Entry]:
    out = []
    for el, code, detail, outcome in premis_events(document):
        kind = el.find(P + "eventType")
        label = EVENT_TYPES.get(code, (kind.text if kind is not None else "") or "event")
        note = el.findtext(f"{P}eventOutcomeInformation/{P}eventOutcomeDetail/"
                           f"{P}eventOutcomeDetailNote")
        out.append(Entry(el.findtext(P + "eventDateTime") or "", "package",
                         "audit (recorded)" if detail.startswith(DETAIL_PREFIX) else label,
                         outcome, detail, [note] if note else []))
    return out


def evidence_entries(location: str) -> list[Entry]:
    """One entry per seal or renewal record of a package directory, at the earliest genTime
    of its tokens (the authorities' clock, not the sealer's)."""
    from archiver.evidence import layout
    from archiver.evidence.timestamps import TimestampError, gen_time_text, parse

    if not os.path.isdir(os.path.join(location, SEAL_DIRECTORY)):
        return []
    bag = Path(location)
    out = [Entry("", "package", "seal (interrupted)", "failure", f"{SEAL_DIRECTORY}/{folder.name}: an "
                 "interrupted seal; `archiver seal` completes or undoes it") for folder in layout.staged_records(bag)]
    records, _ = layout.read_records(bag)
    for record in records:
        where = f"{SEAL_DIRECTORY}/{record.name}"
        if record.error:
            out.append(Entry("", "package", "seal", "failure", f"{where}: unreadable ({record.error})"))
            continue
        st = record.statement
        stamps, when = [], []
        try:
            for t in record.timestamps().get("tokens", []):
                gen = parse(record.files[t["response"]]).tst_info.gen_time
                when.append(gen_time_text(gen))
                stamps.append(f"{t.get('authority')} at {when[-1]}")
        except (KeyError, ValueError, TypeError, TimestampError) as e:
            stamps.append(f"tokens unreadable ({type(e).__name__})")
        renewal = record.kind == "renewal"
        what = (f"every earlier record, the tag files and the payload manifests pinned again with "
                f"{str(st.get('algorithm', '')).upper()}" if renewal else
                "payload and metadata pinned" if record.number == 1 else "metadata pinned, chained to the records before")
        signer = f"; signed by key {st['signer']}" if st.get("signer") else ""
        out.append(Entry(min(when) if when else str(st.get("created") or ""), "package",
                         "renewal" if renewal else "seal", "", f"{where}: {what}{signer}",
                         ["time-stamped by " + ", ".join(stamps)]))
    return out


def ledger_entries(ledger, identifier: str, key: int | None = None) -> list[Entry]:
    """The ledger's entries about one copy (`key`), or about every copy of `identifier`:
    then, with several copies, each entry names the copy it is about (a damaged copy's
    audits are never read as another's)."""
    out = []
    seals = ledger.round_seals()
    copies = [ledger.copy_of(key)] if key is not None else ledger.copies(identifier)
    label = len(copies) > 1
    for copy in copies:
        at = f"at {copy.location}: " if label else ""
        for time, kind, body in ledger.events(identifier, key=copy.key):
            entry = _ledger_entry(time, kind, body, seals)
            if entry is not None:
                if entry.kind != "first seen":  # which names its location already
                    entry.summary = at + entry.summary
                entry.location = copy.location
                out.append(entry)
    return sorted(out, key=lambda e: e.time)


def _ledger_entry(time: str, kind: str, body: dict, seals: dict) -> Entry | None:
    if kind == "package":
        return Entry(time, "ledger", "first seen", "", f"first audited at {body['location']}: "
                     "its files' digests recorded as the baseline")
    if kind == "audit":
        findings = body["findings"]
        summary = (f"{body['files']} file(s), {body['bytes']} bytes checked by {body['agent']}"
                   if body["outcome"] != "gone" else "package gone")
        if body.get("round") in seals:
            summary += f"; round {body['round']} sealed by " + ", ".join(
                f"{t['authority']} at {t['genTime']}" for t in seals[body["round"]])
        return Entry(time, "ledger", "audit", body["outcome"], summary,
                     [f"{f['code']} {f['path']}: {f['message']}".replace(" : ", ": ")
                      for f in findings])
    if kind == "moved":
        return Entry(time, "ledger", "moved", "", f"from {body['from']} to {body['to']}")
    return None


def _with_seals(entries: list[Entry], seals: list[Entry]) -> list[Entry]:
    """The records' entries in place of the PREMIS events of the same seals (kept when the
    record is gone: the event then says what was sealed)."""
    shown = {e.summary.split(":", 1)[0] for e in seals}
    kept = [e for e in entries if not (e.source == "package" and e.kind == SEAL_EVENT and
                                       (m := re.search(rf"\b{SEAL_DIRECTORY}/\d{{4}}\b", e.summary))
                                       and m.group(0) in shown)]
    return kept + seals


def fold(entries: list[Entry]) -> list[Entry]:
    """Consecutive successful ledger audits become one entry with a count and a span."""
    out: list[Entry] = []
    for e in entries:
        last = out[-1] if out else None
        if (last and e.kind == "audit" and last.kind == "audit" and e.outcome == "ok"
                and last.outcome == "ok" and e.source == last.source == "ledger"
                and e.location == last.location):
            last.count += 1
            last.until, last.summary = e.time, e.summary
            continue
        out.append(Entry(**{**e.__dict__, "details": list(e.details)}))
    return out


def history(package: str, ledger=None) -> History:
    """The timeline of a package named by path (that copy's own audits) or by identifier
    (with a ledger: the audits of every copy, each entry naming its copy)."""
    location = os.path.abspath(package) if os.path.exists(package) else None
    identifier = None
    copies, key = [], None
    if ledger is not None:
        # a path names one copy (one gone since included); else an identifier, all copies
        state = ledger.copy_at(location or os.path.abspath(package))
        if state is not None:
            identifier, key, copies = state.identifier, state.key, [state.location]
        elif location is None and (state := ledger.package(package)) is not None:
            identifier = state.identifier
            copies = [c.location for c in ledger.copies(identifier)]
    entries: list[Entry] = []
    documents_from = [location] if location else [c for c in copies if os.path.exists(c)][:1]
    for where in documents_from:
        try:
            document = premis_of(where)
        except (OSError, ValueError, KeyError, tarfile.TarError, zipfile.BadZipFile):
            document = None
        if document:
            try:
                entries += premis_entries(document)
            except etree.XMLSyntaxError:
                entries.append(Entry("", "package", "premis", "failure",
                                     "metadata/premis.xml is not well-formed XML"))
        entries = _with_seals(entries, evidence_entries(where))
    if identifier and ledger is not None:
        # audits recorded into PREMIS are in the ledger too: show the ledger's (all of them)
        entries = [e for e in entries if e.kind != "audit (recorded)"] + \
            ledger_entries(ledger, identifier, key)
    if identifier is None:
        identifier = os.path.basename(os.path.normpath(package))
    entries.sort(key=lambda e: (e.time, e.source != "package"))
    return History(identifier, copies or ([location] if location else []), fold(entries))


def render(h: History) -> str:
    lines = [f"{h.identifier}" + (f"  ({', '.join(h.locations)})" if h.locations else "")]
    if not h.entries:
        lines.append("  no history: not a package, and unknown to the ledger")
    for e in h.entries:
        outcome = {"ok": "ok", "found": "FOUND", "gone": "GONE", "failure": "FAILURE"}.get(e.outcome, "")
        what = e.summary
        if e.count > 1:
            what = f"× {e.count} until {e.until}: {what} (the latest)"
        lines.append(f"{e.time or '(no date)':20}  {e.kind:28} {outcome:7} {what}")
        for d in e.details[:20]:
            lines.append(f"{'':44}{d}")
        if len(e.details) > 20:
            lines.append(f"{'':44}... and {len(e.details) - 20} more")
    return "\n".join(lines)
