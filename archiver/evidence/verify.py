"""Verifying a sealed package offline: with only what the package holds, and the verifier's
own choice of trust anchors and signer keys.

Each record's chain link, signature and tokens are checked; the first record's copies of the
payload manifests are compared with the payload (every file hashed, unless the caller has
just checked the payload against its manifests, as validate does); the last signed record's
tag files with the tag files now (an unsigned renewal re-timestamps the records before it and
vouches for no content); files a record does not list are named. What holds becomes a
sentence in `statements`; what does not is a Problem with an EVIDENCE-... code.
"""
from __future__ import annotations

import functools
import os
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path

from archiver.bagit.bag import SEAL_DIRECTORY, bag_info_value
from archiver.evidence import layout
from archiver.evidence.keys import key_id, load_public_keys, signer_file_keys, verify_signature
from archiver.evidence.layout import Record, digest, record_digest
from archiver.evidence.merkle import Inclusion, root_of
from archiver.evidence.statement import (chain_digests, changes, current_tag_files, differing,
                                         listed_tag_files, listing_differences, manifest_entries,
                                         payload_differences, payload_manifests)
from archiver.evidence.timestamps import check_token, gen_time_text
from archiver.evidence.trust import Anchors, anchors_from
from archiver.metadata import growth
from archiver.metadata.premis import event_list
from archiver.problem_codes import problem
from archiver.problems import ERROR, WARNING, Problem
from archiver.urls import without_userinfo


@dataclass
class EvidenceReport:
    path: str
    sealed: bool = False
    proven: bool = False
    problems: list[Problem] = field(default_factory=list)
    statements: list[str] = field(default_factory=list)
    records: list[dict] = field(default_factory=list)
    anchors: str = ""
    # after the last seal: each tag file "added", "changed" or "removed", and the PREMIS
    # events it pinned that are gone (a caller that judges metadata growth itself: audit)
    metadata_changes: dict[str, str] = field(default_factory=dict)
    events_gone: list[str] = field(default_factory=list)
    # those changes are growth only (archiver.metadata.growth): appended events, the tag
    # manifests that list them, new listed tag files; validate warns of growth, nothing else
    metadata_grown: bool = False

    def to_dict(self) -> dict:
        return {"path": self.path, "sealed": self.sealed, "proven": self.proven,
                "statements": self.statements, "problems": [p.to_dict() for p in self.problems],
                "records": self.records, "anchors": self.anchors,
                "metadata_changes": self.metadata_changes, "events_gone": self.events_gone,
                "metadata_grown": self.metadata_grown}


def is_sealed(bag_dir: str | os.PathLike) -> bool:
    """Cheap: only looks for the evidence directory."""
    return os.path.isdir(os.path.join(bag_dir, SEAL_DIRECTORY))


def _evidence_config() -> tuple[list, list]:
    """`trust` and `signers` of [evidence], read once per process while the file is unchanged
    (validate asks for every package of a store)."""
    from archiver.config import config_path
    path = config_path()
    if path is None:
        return [], []
    absolute = os.path.abspath(path)  # the cache's key: no symlink resolved, one stat per call
    try:
        mtime = os.stat(absolute).st_mtime_ns
    except OSError:
        return [], []
    return _read_evidence_config(absolute, mtime)


@functools.lru_cache(maxsize=4)
def _read_evidence_config(path: str, mtime_ns: int) -> tuple[list, list]:
    from archiver.config import load_config
    try:
        section = load_config(path).get("evidence", {})
    except Exception:  # an unreadable config is the CLI's to report; verification goes on
        return [], []
    return list(section.get("trust", [])), list(section.get("signers", []))


@functools.lru_cache(maxsize=8)
def _anchors(named: tuple, configured: tuple) -> Anchors:
    return anchors_from(list(named), list(configured))


def default_anchors(trust: Sequence[str | os.PathLike] = (), config: tuple[list, list] | None = None) -> Anchors:
    """--trust files, else `trust` in [evidence] of archiver.toml, else the system's store.
    `config`: _evidence_config() when the caller has it already."""
    configured = (config or _evidence_config())[0]
    return _anchors(tuple(map(str, trust)), tuple(map(str, configured)))


def default_signers(signers: Iterable = (), config: tuple[list, list] | None = None) -> list:
    """Public keys named with --signer (files or key objects), else `signers` in [evidence]."""
    named = list(signers) or (config or _evidence_config())[1]
    keys = []
    for s in named:
        keys += signer_file_keys(s) if isinstance(s, (str, os.PathLike)) else [s]
    return keys


def _p(report: EvidenceReport, code: str, path: str, message: str, severity: str | None = None) -> None:
    report.problems.append(problem(code, path, message, severity))


def _check_record(report: EvidenceReport, record: Record, earlier: list[Record], anchors: Anchors,
                  signers: list, package_id: str | None) -> dict:
    where = f"{SEAL_DIRECTORY}/{record.name}"
    st = record.statement
    algorithm = st.get("algorithm", "sha256")
    summary = {"record": record.name, "kind": record.kind, "created": st.get("created"),
               "signer": st.get("signer"), "signer_known": None, "tokens": [], "proven": False}
    if st.get("record") != record.number:
        _p(report, "EVIDENCE-CHAIN-BROKEN", where, f"the statement says it is record {st.get('record')}")
    if package_id and st.get("package") != package_id:
        _p(report, "EVIDENCE-CHAIN-BROKEN", where, f"the statement seals package {st.get('package')}, "
           f"not {package_id}")
    if st.get("evidence", {}) != chain_digests(earlier, algorithm):
        changed = differing(st.get("evidence", {}), chain_digests(earlier, algorithm))
        _p(report, "EVIDENCE-CHAIN-BROKEN", where, "earlier evidence is not what this record pinned: "
           + ", ".join(f"{SEAL_DIRECTORY}/{c}" for c in changed[:10]))
    signature = record.files.get(layout.SIGNATURE)
    signed_ok = True
    if record.kind == "seal" or signature is not None:
        keys = load_public_keys(record.files.get(layout.SIGNER, b""))
        if signature is None or not keys or not verify_signature(keys[0], signature, record.files[layout.STATEMENT]):
            _p(report, "EVIDENCE-SIGNATURE-INVALID", where, "the signature does not verify over "
               "statement.json with the key beside it")
            signed_ok = False
        elif key_id(keys[0]) != st.get("signer"):
            _p(report, "EVIDENCE-SIGNATURE-INVALID", where, f"signed by {key_id(keys[0])}, but the "
               f"statement names {st.get('signer')}")
            signed_ok = False
        else:
            known = any(key_id(k) == key_id(keys[0]) for k in signers)
            summary["signer_known"] = known
            if not known:
                _p(report, "EVIDENCE-SIGNER-UNKNOWN", where, f"signed by key {key_id(keys[0])}, which "
                   + ("is not among the signers named" if signers else "no --signer names: its holder is unknown"),
                   ERROR if signers else WARNING)
    try:
        stamps = record.timestamps()
        inclusion = Inclusion.from_dict(stamps["inclusion"])
    except (KeyError, ValueError, TypeError) as e:
        _p(report, "EVIDENCE-RECORD-UNREADABLE", f"{where}/{layout.TIMESTAMPS}", f"unreadable: {e}")
        return summary
    for name in record.unexpected_files(first=not earlier):
        _p(report, "EVIDENCE-STRAY-FILE", f"{where}/{name}", "in a seal record, but no part of it: "
           "neither its statement, signature, signer, timestamps.json nor a token it lists")
    leaf = record_digest(algorithm, record.files[layout.STATEMENT], signature)
    root = root_of(inclusion)
    if inclusion.digest != leaf or root != inclusion.root or inclusion.algorithm != algorithm:
        _p(report, "EVIDENCE-TOKEN-WRONG-DIGEST", f"{where}/{layout.TIMESTAMPS}", "the batch path does "
           "not lead from this record to the root its tokens cover")
        return summary
    checks = []
    for t in stamps.get("tokens", []):
        response = record.files.get(t.get("response", ""))
        if response is None:
            _p(report, "EVIDENCE-RECORD-UNREADABLE", where, f"{t.get('response')} is missing")
            continue
        check = check_token(response, root, record.files.get(t.get("chain", ""), b""),
                            record.files.get(t.get("crls", ""), b""), anchors)
        # a package sealed before URLs with credentials were refused may name one: never shown
        t = {**t, "authority": without_userinfo(str(t.get("authority")))}
        checks.append((t, check))
        summary["tokens"].append({"authority": t.get("authority"), "response": t.get("response"),
                                  "genTime": gen_time_text(check.gen_time), "signed_by": check.authority,
                                  "anchor": check.anchor, "proven": check.ok,
                                  "problems": [c for c, _ in check.problems]})
    good = [c for _, c in checks if c.ok]
    for t, check in checks:
        for code, message in check.problems:
            severity = WARNING if (code == "EVIDENCE-REVOCATION-UNKNOWN" or good) else ERROR
            _p(report, code, f"{where}/{t.get('response')}", f"{t.get('authority')}: {message}", severity)
    if not checks:
        _p(report, "EVIDENCE-RECORD-UNREADABLE", where, "no timestamp token")
    summary["proven"] = bool(good) and signed_ok
    summary["genTime"] = gen_time_text(min(c.gen_time for c in good)) if good else None
    summary["authorities"] = f"{len(good)} of {len(checks)} time-stamping authorities"
    return summary


Digests = Mapping[str, Mapping[str, str] | None]  # {bag path: {algorithm: hex}, or None: unreadable}


def _known(digests: Digests, rel: str, algorithm: str, bag: Path) -> str | None:
    """A file's digest as the caller computed it, else read now (None: unreadable)."""
    entry = digests.get(rel, {})
    if entry is None:
        return None
    return entry.get(algorithm) or digest(algorithm, (bag / rel).read_bytes())


def _check_payload(report: EvidenceReport, bag: Path, first: Record, payload_checked: bool,
                   digests: Digests | None) -> bool:
    st = first.statement
    algorithm = st.get("algorithm", "sha256")
    pinned = st.get("payload_manifests", {})
    copies = {n: first.files.get(n) for n in pinned}
    ok = True
    for name, value in pinned.items():
        if copies[name] is None or digest(algorithm, copies[name]) != value:
            _p(report, "EVIDENCE-CHAIN-BROKEN", f"{SEAL_DIRECTORY}/{first.name}/{name}", "the first seal's "
               "copy of the payload manifest is missing or altered")
            return False
    if digests is None:
        now = payload_manifests(bag)
        now_digests = {n: digest(algorithm, b) for n, b in now.items()}
    else:  # the manifests are read only when they differ from the pinned ones (to name the paths)
        names = [n for n in digests if "/" not in n and n.startswith("manifest-") and n.endswith(".txt")]
        now_digests = {n: _known(digests, n, algorithm, bag) for n in names}
        now = {n: (bag / n).read_bytes() for n, d in now_digests.items() if d is not None and d != pinned.get(n)}
    for name in sorted(set(pinned) | set(now_digests)):
        if name in now_digests and name in pinned and now_digests[name] == pinned[name]:
            continue
        ok = False
        if name not in now_digests:
            _p(report, "EVIDENCE-PAYLOAD-CHANGED", name, "this payload manifest, pinned by the first seal, is gone")
            continue
        if name not in pinned:
            _p(report, "EVIDENCE-PAYLOAD-CHANGED", name, "a payload manifest added after the first seal")
            continue
        if name not in now:
            _p(report, "EVIDENCE-PAYLOAD-CHANGED", name, "this payload manifest, pinned by the first seal, "
               "cannot be read")
            continue
        for path in differing(manifest_entries(copies[name]), manifest_entries(now[name])):
            _p(report, "EVIDENCE-PAYLOAD-CHANGED", path, f"payload changed after sealing: {name} "
               f"no longer has the digest the first seal pinned for {path}")
    if ok and not payload_checked:
        # the payload against the pinned copy itself (sha256 when pinned, else the first):
        # by the caller's digests when it has them all, else every file hashed here
        name = "manifest-sha256.txt" if "manifest-sha256.txt" in copies else sorted(copies)[0]
        listed, alg = manifest_entries(copies[name]), name[9:-4]
        found = None if digests is None else {
            rel: None if d is None else d.get(alg, "") for rel, d in digests.items() if rel.startswith("data/")}
        if found is not None and "" in found.values():
            found = None  # the caller did not compute this algorithm for some file
        differences = payload_differences(bag, listed, alg) if found is None else listing_differences(listed, found)
        for rel, what in differences:
            ok = False
            _p(report, "EVIDENCE-PAYLOAD-CHANGED", rel, f"payload changed after sealing: {what}")
    return ok


def _check_metadata(report: EvidenceReport, bag: Path, last: Record, unsigned: list[str], tags_checked: bool,
                    digests: Digests | None) -> bool:
    """The tag files now against `last`, the last signed record; `unsigned`: the renewals
    after it (named, never trusted for content)."""
    st = last.statement
    algorithm = st.get("algorithm", "sha256")
    pinned = st.get("tag_files", {})
    if tags_checked:
        # the caller has checked every tag file against the tag manifests: unchanged tag
        # manifests mean unchanged tag files, and only those few need reading here
        manifests = {p.name: p for p in bag.glob("tagmanifest-*.txt")}
        if manifests and set(manifests) == {n for n in pinned if n.startswith("tagmanifest-")} and all(
                digest(algorithm, p.read_bytes()) == pinned[n] for n, p in manifests.items()):
            return True
    if digests is None:
        now = {rel: digest(algorithm, data) for rel, data in current_tag_files(bag).items()}
    else:  # every file outside data/ and evidence/: the tag files and the tag manifests
        now = {rel: _known(digests, rel, algorithm, bag) for rel in digests
               if not rel.startswith(("data/", SEAL_DIRECTORY + "/"))}
    changed = differing(pinned, now)
    if not changed:
        return True
    report.metadata_changes = changes(pinned, now)
    later = []
    sealed_events = list(st.get("events", []))
    try:
        events = event_list((bag / "metadata" / "premis.xml").read_bytes())
        later = [f"{etype} {date} ({eid})" for eid, etype, date in events if eid not in set(sealed_events)]
        present = {eid for eid, _, _ in events}
        report.events_gone = [eid for eid in sealed_events if eid not in present]
    except Exception:  # premis.xml unreadable or gone: the changed files say enough
        report.events_gone = sealed_events
    report.metadata_grown = growth.grown_only(report.metadata_changes, report.events_gone, listed_tag_files(bag))
    _p(report, "EVIDENCE-METADATA-CHANGED", changed[0], f"metadata changed after the last signed seal "
       f"({SEAL_DIRECTORY}/{last.name}): {', '.join(changed)}"
       + (f"; events since: {'; '.join(later)}" if later else "")
       + (f"; sealed events gone: {'; '.join(report.events_gone)}" if report.events_gone else "")
       + (f"; unsigned renewal(s) since ({', '.join(f'{SEAL_DIRECTORY}/{n}' for n in unsigned)}) only "
          "timestamp the evidence again: they vouch for no content" if unsigned else "")
       + ("" if report.metadata_grown else "; more than growth (appended events, the tag manifests that list "
                                           "them): not what was sealed"))
    return False


def verify_package(bag_dir: str | os.PathLike, *, trust: Sequence | Anchors = (), signers: Iterable = (),
                   payload_checked: bool = False, package_id: str | None = None,
                   digests: Digests | None = None) -> EvidenceReport:
    """Verify a package's evidence. `trust`: PEM files of trusted roots (or an Anchors);
    `signers`: public key or certificate files (or key objects) the verifier names.
    `payload_checked`: the caller has just checked the bag against its manifests and tag
    manifests (validate), so only the manifests are compared with the seal; `package_id`: its
    External-Identifier, when the caller has read bag-info.txt already. `digests`: every
    file of the package as the caller has just hashed it ({bag path: {algorithm: hex}, or
    None when unreadable}; audit): the payload and tag files are compared with the seals by
    these, and nothing outside evidence/ is read or hashed again."""
    bag = Path(bag_dir)
    report = EvidenceReport(path=str(bag), sealed=is_sealed(bag))
    if not report.sealed:
        _p(report, "EVIDENCE-NOT-SEALED", "", "not sealed: no evidence/ directory")
        return report
    config = _evidence_config()  # once per package: archiver.toml looked up and stat'ed once
    anchors = trust if isinstance(trust, Anchors) else default_anchors(trust, config)
    report.anchors = anchors.source
    keys = default_signers(signers, config)
    for folder in layout.staged_records(bag):
        _p(report, "EVIDENCE-INTERRUPTED", f"{SEAL_DIRECTORY}/{folder.name}", "an interrupted seal: "
           "`archiver seal` completes or undoes it")
    records, strays = layout.read_records(bag)
    for name in strays:
        _p(report, "EVIDENCE-STRAY-FILE", f"{SEAL_DIRECTORY}/{name}", "neither a record nor an interrupted seal")
    if not records:
        _p(report, "EVIDENCE-NOT-SEALED", SEAL_DIRECTORY, "the evidence directory holds no record")
        return report
    package_id = package_id or bag_info_value(bag, "External-Identifier")
    for i, record in enumerate(records):
        if record.number != i + 1:
            _p(report, "EVIDENCE-CHAIN-BROKEN", f"{SEAL_DIRECTORY}/{record.name}",
               f"record {layout.record_name(i + 1)} is missing")
        if record.error:
            _p(report, "EVIDENCE-RECORD-UNREADABLE", f"{SEAL_DIRECTORY}/{record.name}", record.error)
            report.records.append({"record": record.name, "proven": False})
            continue
        report.records.append(_check_record(report, record, records[:i], anchors, keys, package_id))
    first, signed = records[0], layout.last_signed(records)
    payload_ok = not first.error and first.kind == "seal" and _check_payload(report, bag, first, payload_checked,
                                                                             digests)
    # metadata is judged against what a signature covers: an unsigned renewal after it
    # timestamps the evidence again, and vouches for no content of its own
    later = [r.name for r in records if signed is not None and r.number > signed.number]
    metadata_ok = signed is not None and _check_metadata(report, bag, signed, later, payload_checked, digests)
    _statements(report, payload_ok, signed.name if metadata_ok else None)
    report.proven = not any(p.severity == ERROR for p in report.problems)
    return report


def _statements(report: EvidenceReport, payload_ok: bool, metadata_record: str | None) -> None:
    """`metadata_record`: the signed record the tag files agree with, if they do."""
    recs = report.records
    if not recs or not recs[0].get("proven"):
        return
    first = recs[0]
    if payload_ok:
        report.statements.append(f"payload unchanged since {first['genTime']} ({first['authorities']}; "
                                 f"seal {SEAL_DIRECTORY}/{first['record']})")
    proven_run = all(r.get("proven") for r in recs)
    signed = next((r for r in recs if r["record"] == metadata_record), None)
    if signed is not None and proven_run:
        kind = "seal" if signed["kind"] == "seal" else "signed renewal"
        report.statements.append(f"metadata unchanged since {signed['genTime']} ({signed['authorities']}; "
                                 f"{kind} {SEAL_DIRECTORY}/{signed['record']})")
    for r in recs:
        if r.get("kind") == "renewal" and r.get("proven"):
            report.statements.append(f"evidence renewed at {r['genTime']} ({r['authorities']}): every "
                                     f"earlier record timestamped again ({SEAL_DIRECTORY}/{r['record']})")
    for signer in dict.fromkeys(r.get("signer") for r in recs if r.get("signer")):
        known = any(r.get("signer") == signer and r.get("signer_known") for r in recs)
        report.statements.append(f"sealed by key {signer}" + ("" if known else
                                 " (unknown to this verifier: name it with --signer)"))
    anchors = sorted({t["anchor"] for r in recs for t in r.get("tokens", []) if t.get("proven")})
    if anchors:
        report.statements.append("timestamps rest on " + "; ".join(anchors))


def record_verification(bag_dir: str | os.PathLike, report: EvidenceReport) -> str:
    """Append the verification as a PREMIS event (`dig`, digital signature validation) with
    its outcome; returns the event's identifier. The event is itself metadata that the next
    seal covers."""
    from archiver.metadata.provenance import SOFTWARE, event, now
    from archiver.package.record import record_event

    from archiver.model import Agent

    codes = sorted({p.code for p in report.problems if p.severity == ERROR})
    keys = [Agent(f"key-{k}", f"holder of signing key {k}", "organization")
            for k in dict.fromkeys(r.get("signer") for r in report.records if r.get("signer"))]
    recorded = event("dig", now(), [(SOFTWARE.identifier, "executing program")]
                     + [(k.identifier, "authorizer") for k in keys], [],
                     detail=f"archiver verify: {len(report.records)} evidence record(s); trust: {report.anchors}",
                     outcome_detail="; ".join(report.statements + codes) or None,
                     outcome="success" if report.proven else "failure")
    record_event(bag_dir, recorded, [SOFTWARE, *keys])
    return recorded.identifier
