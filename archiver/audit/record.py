"""audit --record: the outcome as a PREMIS fixity-check event in the package itself.

Decades of nightly audits must not bury a package's history under thousands of "success"
events. The package keeps its first audit event, every failure, and the latest; a success
that is neither first nor a failure is dropped when the next one is written (the ledger
keeps every audit, and the latest event says how many lie between).
"""
from __future__ import annotations

import hashlib
from dataclasses import dataclass
from pathlib import Path

from lxml import etree

from archiver.bagit.bag import SEAL_DIRECTORY
from archiver.metadata.premis import P

DETAIL_PREFIX = "archiver audit"


@dataclass
class AuditEvent:
    identifier: str
    outcome: str
    digest: str  # of the element in canonical form (what the ledger keeps of premis.xml)


def premis_events(document: bytes):
    """(element, eventType code, detail, outcome) of each PREMIS event, in document order."""
    parser = etree.XMLParser(remove_blank_text=True, resolve_entities=False, no_network=True)
    root = etree.fromstring(document, parser)
    for el in root.iterfind(P + "event"):
        kind = el.find(P + "eventType")
        code = (kind.get("valueURI") or "").rsplit("/", 1)[-1] if kind is not None else ""
        yield (el, code, el.findtext(f"{P}eventDetailInformation/{P}eventDetail") or "",
               el.findtext(f"{P}eventOutcomeInformation/{P}eventOutcome") or "")


def audit_events(document: bytes) -> list[AuditEvent]:
    """The fixity-check events archiver audit wrote, in document order."""
    return [AuditEvent(el.findtext(f"{P}eventIdentifier/{P}eventIdentifierValue") or "", outcome,
                       hashlib.sha256(etree.tostring(el, method="c14n")).hexdigest())
            for el, code, detail, outcome in premis_events(document)
            if code == "fix" and detail.startswith(DETAIL_PREFIX)]


def superseded(events: list[AuditEvent], pinned: set[str] = frozenset()) -> list[AuditEvent]:
    """Events to drop when a new audit event is added: successes other than the first, and
    never one a seal pinned (its removal would be a rewrite of sealed metadata)."""
    return [e for i, e in enumerate(events) if i > 0 and e.outcome == "success"
            and e.identifier not in pinned]


def sealed_events(bag: Path) -> set[str]:
    """The PREMIS event identifiers the package's seal records pin. Only a sealed package
    loads archiver.evidence (its seals were verified just before, so it is loaded anyway);
    an unreadable record pins nothing here, and verification reports it."""
    if not (bag / SEAL_DIRECTORY).is_dir():
        return set()
    from archiver.evidence.layout import read_records

    records, _ = read_records(bag)
    return {e for r in records if r.error is None for e in r.statement.get("events", []) if isinstance(e, str)}


def outcome_event(findings: list, files: int, nbytes: int, first_seen: str, earlier: int,
                  since: str | None):
    """The PREMIS event for one audit (LoC eventType `fix`, fixity check)."""
    from archiver.metadata.provenance import SOFTWARE, event, now

    detail = (f"{DETAIL_PREFIX}: {files} file(s), {nbytes} bytes checked against the bag's "
              f"manifests and the ledger's record of the package as first seen on {first_seen}")
    if findings:
        codes = sorted({f.code for f in findings})
        note = (f"{len(findings)} finding(s): {', '.join(codes)}; "
                + "; ".join(f"{f.path}: {f.code}" for f in findings[:10]))
    else:
        note = "no change since first seen"
    if earlier:
        note += (f"; {earlier} earlier audit(s) since {since} are kept in the ledger, "
                 "not here (this package keeps its first audit, every failure and the latest)")
    return event("fix", now(), [(SOFTWARE.identifier, "executing program")], [],
                 detail=detail, outcome_detail=note,
                 outcome="failure" if findings else "success")
