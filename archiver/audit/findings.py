"""What an audit finds: a package as it is now (an Inventory) judged against its own manifests
and against the ledger's record of what it first was.

The classes, each a stable code in archiver/problem_codes.py, the file named:
changed (bytes differ from the manifest), missing, new (not listed), moved or renamed (same
digest, another path), unreadable, rewritten (the bag agrees with its own manifests but a
file or manifest differs from what the ledger first recorded), and package gone.

What may change after packaging (DESIGN: the payload never does; metadata grows):
- payload files, payload manifests, bagit.txt, bag-info.txt and every other tag file keep
  their first-seen digests for ever;
- metadata/premis.xml may only grow: every element (object, event, agent) first seen stays,
  byte for byte in canonical form; audit --record alone drops its own superseded events,
  and says so in the ledger before it writes;
- tag manifests follow the tag files they list; a new tag file listed in them (a deposit
  receipt) joins the record;
- evidence/ (seals, which no manifest lists: sealed.py) may only grow by whole records: a
  record first seen keeps every file, byte for byte (AUDIT-EVIDENCE-CHANGED, -REMOVED); a new
  record joins the record; an interrupted seal's staged folder or a stray file never does.
A change is accepted into the ledger only when the audit found nothing, the seals' findings
(sealed.SealCheck) included.
"""
from __future__ import annotations

from dataclasses import dataclass, field

from archiver.audit.inventory import LEDGER_ALGORITHM, PREMIS, Inventory
from archiver.audit.sealed import SealCheck, is_evidence, record_of
from archiver.metadata import growth
from archiver.problem_codes import problem
from archiver.problems import Problem

CLASSES = {
    "AUDIT-FILE-CHANGED": "changed", "AUDIT-FILE-MISSING": "missing", "AUDIT-FILE-NEW": "new",
    "AUDIT-FILE-MOVED": "moved", "AUDIT-FILE-UNREADABLE": "unreadable",
    "AUDIT-REWRITTEN": "rewritten", "AUDIT-PACKAGE-GONE": "gone",
    "AUDIT-PACKAGE-MOVED": "moved", "AUDIT-PACKAGE-UNREADABLE": "unreadable",
    "AUDIT-ARCHIVE-DAMAGED": "unreadable", "AUDIT-OCFL-INVENTORY": "changed",
    "AUDIT-EVIDENCE-CHANGED": "rewritten", "AUDIT-EVIDENCE-REMOVED": "missing",
    "EVIDENCE-PAYLOAD-CHANGED": "rewritten", "EVIDENCE-METADATA-CHANGED": "rewritten",
}


def finding_class(code: str) -> str:
    return CLASSES.get(code, "seal" if code.startswith("EVIDENCE-") else "invalid")


def ledger_problem(code: str, where: str, message: str) -> Problem:
    return problem(code, where, message)


grows = growth.grows  # files that change legitimately after packaging (the module's docstring)


def _short(digest: str | None) -> str:
    return (digest or "")[:12] + "…"


@dataclass
class Judgement:
    findings: list[Problem] = field(default_factory=list)
    baseline: dict | None = None  # the new baseline to record, when it changed
    accepted: list[str] = field(default_factory=list)  # changes taken into the record
    notes: list[str] = field(default_factory=list)  # what the seals say (sealed.SealCheck)


def judge(inv: Inventory, baseline: dict | None, time: str, pending: dict | None = None,
          seals: SealCheck | None = None) -> Judgement:
    out = Judgement()
    found = out.findings
    if not inv.readable:
        found += inv.problems or [problem("AUDIT-PACKAGE-UNREADABLE", "", "nothing could be read")]
        return out
    found += inv.problems
    if seals is not None:
        found += seals.findings
        out.notes += seals.notes
        if seals.metadata is not None:
            if _grown_since_seal(seals, inv):
                out.notes.append("seal: metadata grew after the last seal (" + ", ".join(
                    f"{rel} {how}" for rel, how in sorted(seals.metadata_changes.items()))
                    + "): `archiver seal` covers it")
            else:
                found.append(seals.metadata)
    # evidence/ beside the records (a staged seal, a stray file): never recorded; named here
    # unless the seals were verified, which names them (EVIDENCE-INTERRUPTED, -STRAY-FILE)
    loose = {rel for rel in inv.files if is_evidence(rel) and record_of(rel) is None}
    if not (seals and seals.verified):
        found += [problem("AUDIT-FILE-NEW", rel, "in evidence/ but in no seal record (evidence/NNNN/)")
                  for rel in sorted(loose)]
    for rel, why in sorted(inv.unreadable.items()):
        found.append(problem("AUDIT-FILE-UNREADABLE", rel, f"cannot read: {why}"))

    files = inv.files
    changed: set[str] = set()
    listed_absent: set[str] = set()  # listed by a manifest, not in the package
    for manifests in (inv.manifests, inv.tag_manifests):
        for alg, entries in sorted(manifests.items()):
            for path, digest in entries.items():
                if path in files:
                    actual = files[path][1].get(alg)
                    if digest and actual and actual != digest and path not in changed:
                        changed.add(path)
                        found.append(problem("AUDIT-FILE-CHANGED", path,
                                             f"{alg} differs from the manifest: manifest says "
                                             f"{_short(digest)}, file is {_short(actual)}"))
                elif path not in inv.unreadable:
                    listed_absent.add(path)
    unlisted = {}  # payload path -> the manifests that do not list it
    for rel in files:
        if rel.startswith("data/"):
            missing_from = [f"manifest-{a}.txt" for a, e in sorted(inv.manifests.items()) if rel not in e]
            if missing_from or not inv.manifests:
                unlisted[rel] = missing_from
    listed_tags = set().union(*inv.tag_manifests.values()) if inv.tag_manifests else set()

    if baseline is None:
        for path in sorted(listed_absent):
            found.append(_missing(path, inv, None))
        for rel in sorted(unlisted):
            found.append(problem("AUDIT-FILE-NEW", rel, f"not listed in {', '.join(unlisted[rel]) or 'any manifest'}"))
        out.baseline = _first_baseline(inv, time, loose)
        return out

    gone, rewritten, evidence_gone = {}, [], {}
    records = {record_of(path) for path in baseline} - {None}
    for path, entry in baseline.items():
        if path in files:
            if grows(path):
                if path == PREMIS:
                    rewritten += _premis_shrank(inv, entry, pending)
                continue
            if path not in changed and _differs(entry, files[path][1]):
                rewritten.append(_evidence_changed(path, entry) if is_evidence(path)
                                 else _rewritten(path, entry, files[path][1]))
        elif path not in inv.unreadable:
            (evidence_gone if is_evidence(path) else gone)[path] = entry
    found += _evidence_removed(evidence_gone, baseline)
    new = {rel for rel in files if rel not in baseline and rel not in loose}
    by_digest = {}
    for rel in sorted(new):
        by_digest.setdefault(files[rel][1].get(LEDGER_ALGORITHM), rel)
    for path, entry in sorted(gone.items()):
        target = by_digest.pop(entry["digests"].get(LEDGER_ALGORITHM), None)
        if target is not None and not inv.damaged:
            new.discard(target)
            listed_absent.discard(path)
            unlisted.pop(target, None)
            found.append(problem("AUDIT-FILE-MOVED", path,
                                 f"moved or renamed to {target} (same {LEDGER_ALGORITHM}, "
                                 f"first seen {entry['since']})"))
        else:
            listed_absent.discard(path)
            found.append(_missing(path, inv, entry))
    for path in sorted(listed_absent):
        found.append(_missing(path, inv, None))
    found += rewritten
    additions = []
    for rel in sorted(new):
        if rel in unlisted:
            found.append(problem("AUDIT-FILE-NEW", rel,
                                 f"not listed in {', '.join(unlisted[rel]) or 'any manifest'}"))
        elif rel.startswith("data/"):
            found.append(problem("AUDIT-FILE-NEW", rel,
                                 "added since the package was first seen, and listed in the "
                                 "manifests: they were rewritten to include it"))
        elif record_of(rel) in records:
            found.append(problem("AUDIT-EVIDENCE-CHANGED", rel, f"added to {record_of(rel)}, a seal "
                                 "record first seen without it: records may only be added whole"))
        elif rel in listed_tags or grows(rel) or record_of(rel):
            additions.append(rel)  # a receipt, other metadata or a seal added the proper way
        else:
            found.append(problem("AUDIT-FILE-NEW", rel,
                                 "tag file added since the package was first seen, in no tag manifest"))
    if not found:
        out.baseline, out.accepted = _grown_baseline(inv, baseline, additions, time)
    return out


def _grown_since_seal(seals: SealCheck, inv: Inventory) -> bool:
    """Metadata changed after the last seal only as it may grow: PREMIS and the tag
    manifests changed, tag files added and listed; no event the seal pinned gone."""
    listed = set().union(*inv.tag_manifests.values()) if inv.tag_manifests else set()
    return growth.grown_only(seals.metadata_changes, seals.events_gone, listed)


def _differs(entry: dict, digests: dict[str, str]) -> bool:
    common = [a for a in entry["digests"] if a in digests]
    return any(entry["digests"][a] != digests[a] for a in common) or not common


def _rewritten(path: str, entry: dict, digests: dict[str, str]) -> Problem:
    alg = LEDGER_ALGORITHM if LEDGER_ALGORITHM in entry["digests"] else next(iter(entry["digests"]))
    return problem("AUDIT-REWRITTEN", path,
                   f"agrees with the bag's manifests, but differs from what the ledger first "
                   f"recorded on {entry['since']}: {alg} was {_short(entry['digests'][alg])}, "
                   f"is {_short(digests.get(alg))}")


def _evidence_changed(path: str, entry: dict) -> Problem:
    return problem("AUDIT-EVIDENCE-CHANGED", path, f"a file of {record_of(path) or 'evidence/'}, first "
                   f"seen {entry['since']}, differs from what the ledger recorded: seal records "
                   "may only be added, never changed")


def _evidence_removed(gone: dict, baseline: dict) -> list[Problem]:
    """One finding for a record gone whole, else one per file of it gone."""
    out = []
    by_record: dict[str | None, list[str]] = {}
    for path in sorted(gone):
        by_record.setdefault(record_of(path), []).append(path)
    for record, paths in sorted(by_record.items(), key=lambda kv: kv[0] or ""):
        known = [p for p in baseline if record is not None and record_of(p) == record]
        since = gone[paths[0]]["since"]
        if record is not None and len(paths) == len(known):
            out.append(problem("AUDIT-EVIDENCE-REMOVED", record, f"seal record first seen {since} is "
                               f"gone ({len(paths)} file(s)): seal records may only be added"))
            continue
        out += [problem("AUDIT-EVIDENCE-REMOVED", p, f"a file of {record or 'evidence/'}, first seen "
                        f"{gone[p]['since']}, is gone: seal records may only be added") for p in paths]
    return out


def _missing(path: str, inv: Inventory, entry: dict | None) -> Problem:
    if inv.damaged:
        return problem("AUDIT-FILE-UNREADABLE", path, "not reached: the archive is damaged before it")
    listed = any(path in e for e in (*inv.manifests.values(), *inv.tag_manifests.values()))
    if entry is None:
        return problem("AUDIT-FILE-MISSING", path, "listed in the manifests, absent from the package")
    note = "still listed in the manifests" if listed else "and no longer in the manifests either"
    return problem("AUDIT-FILE-MISSING", path, f"first seen {entry['since']}; gone, {note}")


def _premis_shrank(inv: Inventory, entry: dict, pending: dict | None) -> list[Problem]:
    before = entry.get("elements") or {}
    if inv.premis is None:
        return [problem("AUDIT-REWRITTEN", PREMIS, "no longer well-formed PREMIS XML")]
    allowed = set((pending or {}).get("drop", []))
    lost = [label for digest, label in before.items() if digest not in inv.premis and digest not in allowed]
    if not lost:
        return []
    shown = "; ".join(sorted(lost)[:5]) + (f"; and {len(lost) - 5} more" if len(lost) > 5 else "")
    return [problem("AUDIT-REWRITTEN", PREMIS,
                    f"{len(lost)} PREMIS element(s) recorded before are gone or altered "
                    f"(PREMIS may only grow): {shown}")]


def _entry(inv: Inventory, rel: str, time: str) -> dict:
    size, digests = inv.files[rel]
    entry = {"size": size, "digests": dict(sorted(digests.items())), "since": time}
    if grows(rel):
        entry["grows"] = True
        if rel == PREMIS:
            entry["elements"] = inv.premis or {}
    return entry


def _first_baseline(inv: Inventory, time: str, loose: set[str]) -> dict:
    return {rel: _entry(inv, rel, time) for rel in sorted(inv.files) if rel not in loose}


def _grown_baseline(inv: Inventory, baseline: dict, additions: list[str], time: str):
    accepted = []
    grown = dict(baseline)
    for rel, entry in baseline.items():
        if grows(rel) and rel in inv.files:
            now = _entry(inv, rel, entry["since"])
            if now["digests"] != entry["digests"] or now.get("elements") != entry.get("elements"):
                grown[rel] = now
                if rel == PREMIS:
                    added = len(set(now["elements"]) - set(entry.get("elements") or {}))
                    dropped = len(set(entry.get("elements") or {}) - set(now["elements"]))
                    accepted.append(f"{PREMIS}: {added} element(s) added"
                                    + (f", {dropped} superseded audit event(s) dropped" if dropped else ""))
    sealed: dict[str, int] = {}
    for rel in additions:
        grown[rel] = _entry(inv, rel, time)
        if record_of(rel):
            sealed[record_of(rel)] = sealed.get(record_of(rel), 0) + 1
        else:
            accepted.append(f"{rel}: added (listed in the tag manifests)")
    accepted += [f"{record}: seal record added ({n} file(s))" for record, n in sorted(sealed.items())]
    if not accepted:
        return None, []
    return grown, accepted
