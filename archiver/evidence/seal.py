"""Sealing: sign each package's state, timestamp the whole batch with one token per
authority, write each package's record (archiver.evidence.layout).

For every package: finish or undo an interrupted seal, refuse a damaged package (a seal must
never pin damage, a renewal never metadata rewritten since the last signed record: it
vouches for no new content), prepare the PREMIS event of the seal (`dsg`, digital signature
generation; none for a renewal without a key) and the tag files it changes, pin it all in a
statement, sign it. Then one Merkle tree over
every record's digest and one request per authority for its root, whatever the number of
packages; the authorities' certificates and CRLs are fetched once. Nothing is written before
at least one authority answered; then each record is staged, the store synced once, and the
records moved into place.
"""
from __future__ import annotations

import os
from collections.abc import Callable, Iterable, Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path

from archiver import durable
from archiver.bagit.bag import SEAL_DIRECTORY, bag_info_value
from archiver.evidence import layout, merkle
from archiver.evidence.keys import SigningKey, signature_method
from archiver.evidence.layout import canonical_json, digest, record_digest
from archiver.evidence.statement import (chain_digests, changes, current_tag_files, listed_tag_files,
                                         manifest_entries, payload_differences, payload_manifests)
from archiver.evidence.timestamps import (Authority, TimestampError, Token, check_token,
                                          complete_trust_material, gen_time_text, request_token)
from archiver.evidence.trust import Anchors
from archiver.metadata import growth
from archiver.metadata.premis import event_list
from archiver.metadata.provenance import SOFTWARE, event, now
from archiver.model import Agent
from archiver.package.record import event_files
from archiver.package.store import expand_bags
from archiver.problem_codes import problem
from archiver.problems import ERROR, WARNING, ArchiverError, Problem

RENEWAL_ALGORITHM = "sha512"  # a renewal re-pins everything with a stronger hash (RFC 4998 §5.2)


@dataclass
class SealResult:
    path: str
    status: str  # "sealed", "renewed" or "failed"
    record: str | None = None  # evidence/NNNN
    package_id: str | None = None
    tokens: list[dict] = field(default_factory=list)  # authority, genTime
    problems: list[Problem] = field(default_factory=list)
    recovered: list[str] = field(default_factory=list)

    def to_dict(self) -> dict:
        d = asdict(self)
        d["problems"] = [p.to_dict() for p in self.problems]
        return d


@dataclass
class _Prepared:
    bag: Path
    result: SealResult
    number: int
    statement: bytes
    signature: bytes | None
    pending: dict[str, bytes]
    extra: dict[str, bytes]  # files of the record besides statement, signature, tokens
    staged: Path | None = None


def key_agent(key: SigningKey) -> Agent:
    """The signing key as a PREMIS agent: the organisation that holds it."""
    holder = f" ({key.certificates[0].subject.rfc4514_string()})" if key.certificates else ""
    return Agent(identifier=f"key-{key.id}", name=f"holder of signing key {key.id}{holder}",
                 type="organization")


def _damage(bag: Path) -> list[str]:
    """Payload files that disagree with manifest-sha256.txt (or are missing or unlisted), and
    tag files that disagree with tagmanifest-sha256.txt: what a seal must not pin."""
    listed = manifest_entries((bag / "manifest-sha256.txt").read_bytes())
    bad = [rel for rel, _ in payload_differences(bag, listed, "sha256")]
    tag_path = bag / "tagmanifest-sha256.txt"
    if tag_path.exists():
        for rel, value in manifest_entries(tag_path.read_bytes()).items():
            p = bag / rel
            if not p.is_file() or digest("sha256", p.read_bytes()) != value:
                bad.append(rel)
    return bad


def _unexpected(record: layout.Record, first: bool) -> list[str]:
    try:
        return record.unexpected_files(first)
    except (KeyError, ValueError, TypeError, AttributeError):
        return [layout.TIMESTAMPS]  # unreadable: what it lists cannot be told


def _beyond_growth(bag: Path, records: list[layout.Record]) -> Problem | None:
    """Why a renewal must not be made: the metadata differs from what the last signed record
    pinned beyond growth (archiver.metadata.growth). A renewal timestamps the existing
    evidence again; it must not vouch for content no signature covers."""
    signed = layout.last_signed(records)
    if signed is None:
        return problem("EVIDENCE-SIGNATURE-INVALID", SEAL_DIRECTORY, "no record carries a signature: "
                       "nothing a renewal could extend; not renewed")
    algorithm = signed.statement.get("algorithm", "sha256")
    now = {rel: digest(algorithm, data) for rel, data in current_tag_files(bag).items()}
    changed = changes(signed.statement.get("tag_files", {}), now)
    try:
        present = {eid for eid, _, _ in event_list((bag / "metadata" / "premis.xml").read_bytes())}
    except Exception:  # premis.xml no longer PREMIS: every sealed event counts as gone
        present = set()
    gone = [eid for eid in signed.statement.get("events", []) if eid not in present]
    if growth.grown_only(changed, gone, listed_tag_files(bag)):
        return None
    rewritten = [f"{rel} {how}" for rel, how in sorted(changed.items()) if how != "changed" or not growth.grows(rel)]
    return problem("EVIDENCE-METADATA-CHANGED", next(iter(sorted(changed)), "metadata/premis.xml"),
                   f"metadata changed since the last signed record ({SEAL_DIRECTORY}/{signed.name}) beyond "
                   f"appended events: {', '.join(rewritten + [f'sealed event {e} gone' for e in gone])}. "
                   "A renewal timestamps the existing evidence again and vouches for no new content: "
                   "not renewed (to vouch for this metadata, seal it with the key: archiver seal --key)")


def _prepare(bag: Path, key: SigningKey | None, authorities: Sequence[Authority], renew: bool) -> _Prepared | SealResult:
    result = SealResult(path=str(bag), status="failed")
    if not (bag / "metadata" / "premis.xml").is_file() or not (bag / "manifest-sha256.txt").is_file():
        result.problems.append(problem("EVIDENCE-NOT-A-PACKAGE", "", "not an archiver package "
                                       "(no metadata/premis.xml or manifest-sha256.txt): not sealed"))
        return result
    result.recovered = [f"{how}: {msg}" for how, msg in layout.recover(bag)]
    if any(r.startswith("conflict") for r in result.recovered):
        result.problems.append(problem("EVIDENCE-INTERRUPTED", SEAL_DIRECTORY, result.recovered[-1]))
        return result
    result.package_id = bag_info_value(bag, "External-Identifier")
    records, _ = layout.read_records(bag) if layout.evidence_dir(bag).is_dir() else ([], [])
    unreadable = [r for r in records if r.error]
    if unreadable:
        result.problems.append(problem("EVIDENCE-RECORD-UNREADABLE", f"{SEAL_DIRECTORY}/{unreadable[0].name}",
                                       f"{unreadable[0].error}: not sealed again"))
        return result
    if renew and not records:
        result.problems.append(problem("EVIDENCE-NOT-SEALED", "", "not sealed: nothing to renew"))
        return result
    for i, record in enumerate(records):
        strays = _unexpected(record, first=i == 0)
        if strays:  # the next record would pin it into the chain for ever
            result.problems.append(problem("EVIDENCE-STRAY-FILE", f"{SEAL_DIRECTORY}/{record.name}/{strays[0]}",
                                           f"no part of seal record {SEAL_DIRECTORY}/{record.name} "
                                           "(a record holds only what it lists): not sealed again",
                                           ERROR))
            return result
    damaged = _damage(bag)
    if damaged:
        result.problems.append(problem("EVIDENCE-PACKAGE-DAMAGED", damaged[0], "the package does not "
                                       f"agree with its manifests ({', '.join(damaged[:5])}): a seal "
                                       "would pin the damage; not sealed"))
        return result
    manifests = payload_manifests(bag)
    if records:
        first = records[0]
        pinned = {n: d for n, d in first.statement.get("payload_manifests", {}).items()}
        if pinned != {n: digest(first.statement["algorithm"], b) for n, b in manifests.items()}:
            result.problems.append(problem("EVIDENCE-PAYLOAD-CHANGED", "manifest-sha256.txt",
                                           "the payload manifests are not those the first seal pinned: not sealed"))
            return result
    if renew:
        refusal = _beyond_growth(bag, records)
        if refusal:
            result.problems.append(refusal)
            return result
    algorithm = RENEWAL_ALGORITHM if renew else "sha256"
    number = (records[-1].number if records else 0) + 1
    name = layout.record_name(number)
    agents = [SOFTWARE] + ([key_agent(key)] if key else [])
    roles = [(SOFTWARE.identifier, "executing program")] + ([(agents[1].identifier, "authorizer")] if key else [])
    labels = ", ".join(a.label for a in authorities)
    if renew:
        detail = (f"evidence renewed (RFC 4998 style): {SEAL_DIRECTORY}/{name} pins every earlier record, "
                  f"the tag files and the payload manifests with {algorithm.upper()}; RFC 3161 "
                  f"timestamps requested from {labels}")
    else:
        detail = (f"package sealed: {SEAL_DIRECTORY}/{name}/statement.json "
                  + (f"signed ({signature_method(key.public)}) by key {key.id}" if key else "unsigned")
                  + f"; RFC 3161 timestamps requested from {labels}")
    sealed_event = event("dsg", now(), roles, [], detail=detail)
    # a renewal without a key writes nothing outside evidence/: an event no signature covers
    # would be metadata nobody vouches for (its record says what it did, and when)
    pending = event_files(bag, sealed_event, agents) if key else {}
    tags = current_tag_files(bag, pending)
    statement = {
        "format": layout.FORMAT, "kind": "renewal" if renew else "seal", "record": number,
        "package": result.package_id, "created": sealed_event.date_time, "algorithm": algorithm,
        "payload_manifests": {n: digest(algorithm, b) for n, b in manifests.items()},
        "tag_files": {rel: digest(algorithm, b) for rel, b in tags.items()},
        "events": [eid for eid, _, _ in event_list(tags["metadata/premis.xml"])],
        "evidence": chain_digests(records, algorithm),
        "signer": key.id if key else None,
    }
    data = canonical_json(statement)
    extra = {} if records else {n: b for n, b in manifests.items()}  # the first seal keeps copies
    if key:
        extra[layout.SIGNER] = key.public_file()
    signature = key.sign(data) if key else None
    return _Prepared(bag, result, number, data, signature, pending, extra)


def _tokens(authorities: Sequence[Authority], message: bytes, algorithm: str) -> tuple[list[Token], list[Problem]]:
    tokens, problems = [], []
    for a in authorities:
        try:
            tokens.append(request_token(a, message, algorithm))
        except TimestampError as e:
            problems.append(problem(e.code if e.code != "EVIDENCE-TOKEN-UNREADABLE" else "EVIDENCE-TSA-FAILED",
                                    "", e.message))
    if tokens:
        complete_trust_material(tokens)
    return tokens, problems


def seal(packages: Iterable[str | os.PathLike], *, key: SigningKey | None, authorities: Sequence[Authority],
         renew: bool = False, anchors: Anchors | None = None,
         progress: Callable[[SealResult], None] | None = None) -> list[SealResult]:
    """Seal (or, with `renew`, renew the evidence of) every package; a folder of packages
    stands for each. `anchors`, when given, judge the new tokens at once, so a token from a
    revoked or untrusted authority is reported now, not years later."""
    if not authorities:
        raise ArchiverError("[evidence]", "no time-stamping authority: give --tsa URL or tsa in "
                            "[evidence] of archiver.toml", "EVIDENCE-CONFIG")
    if key is None and not renew:
        raise ArchiverError("[evidence]", "no signing key: give --key KEYFILE or key in [evidence]",
                            "EVIDENCE-CONFIG")
    results: list[SealResult] = []
    prepared: list[_Prepared] = []
    for bag in expand_bags(packages):
        try:
            p = _prepare(Path(bag), key, authorities, renew)
        except (OSError, ValueError, ArchiverError) as e:
            p = SealResult(str(bag), "failed", problems=[problem(
                "EVIDENCE-NOT-A-PACKAGE", getattr(e, "path", ""), getattr(e, "message", None) or str(e))])
        (prepared.append(p) if isinstance(p, _Prepared) else results.append(p))
    algorithm = RENEWAL_ALGORITHM if renew else "sha256"
    if prepared:
        leaves = [record_digest(algorithm, p.statement, p.signature) for p in prepared]
        inclusions = merkle.batch(algorithm, leaves)
        tokens, failures = _tokens(authorities, inclusions[0].root, algorithm)
        for p, inclusion in zip(prepared, inclusions):
            if not tokens:
                p.result.problems += failures + [problem("EVIDENCE-TSA-FAILED", "", "no time-stamping "
                                                         "authority answered: nothing written")]
                continue
            # sealed all the same: the other authorities answered
            p.result.problems += [Problem(x.code, x.path, x.message, WARNING) for x in failures]
            files = {layout.STATEMENT: p.statement, **p.extra}
            if p.signature is not None:
                files[layout.SIGNATURE] = p.signature
            listing = []
            for i, t in enumerate(tokens, 1):
                stem = f"tsa-{i}"
                files[f"{stem}.tsr"] = t.response
                files[f"{stem}.chain.pem"] = t.chain_pem()
                files[f"{stem}.crls.pem"] = t.crls_pem()
                listing.append({"authority": t.authority.label, "url": t.authority.url,
                                "response": f"{stem}.tsr", "chain": f"{stem}.chain.pem",
                                "crls": f"{stem}.crls.pem", "notes": t.notes})
                p.result.tokens.append({"authority": t.authority.label, "genTime": gen_time_text(t.gen_time)})
            files[layout.TIMESTAMPS] = canonical_json({"inclusion": inclusion.to_dict(), "tokens": listing})
            p.staged = layout.stage(p.bag, p.number, files, p.pending)
        staged = [p for p in prepared if p.staged]
        for folder in {p.bag.parent for p in staged}:
            durable.sync_filesystem(folder)
        for p in staged:
            layout.finish(p.bag, p.staged, durable_now=False)
            p.result.status = "renewed" if renew else "sealed"
            p.result.record = f"{SEAL_DIRECTORY}/{layout.record_name(p.number)}"
        for folder in {p.bag.parent for p in staged}:
            durable.sync_filesystem(folder)  # the renames of every package, made durable at once
        for p in staged:
            if anchors is not None:
                root = inclusions[0].root
                for t in tokens:
                    check = check_token(t.response, root, t.chain_pem(), t.crls_pem(), anchors)
                    for code, message in check.problems:
                        # whom to trust is the verifier's decision; anything else is wrong now
                        severity = WARNING if code == "EVIDENCE-TSA-UNTRUSTED" else None
                        p.result.problems.append(problem(code, p.result.record,
                                                         f"{t.authority.label}: {message}", severity))
        results += [p.result for p in prepared]
    if progress:
        for r in results:
            progress(r)
    return sorted(results, key=lambda r: r.path)
