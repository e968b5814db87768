"""Sealing each audit round's chain head with time-stamping authorities, and checking those
seals offline (`archiver audit --check-ledger`).

A hash-chained ledger proves nothing against someone who rewrites it whole and recomputes
every hash; a time-stamp token over the head at the end of each round does (RFC 3161: the
authority attests that the head existed then, and the head digests every record before
it). With `[audit] seal = true` in archiver.toml, the head is time-stamped by the
authorities of `[evidence] tsa` (archiver.evidence.timestamp_digests: one token per
authority) and the proof (the token, the authority's chain and CRLs) is kept in a `seal`
record after the round's end. Checking needs only the ledger and the verifier's trust
anchors (`[evidence] trust`, else the system's store).
"""
from __future__ import annotations

import base64
import json
from dataclasses import dataclass, field
from datetime import datetime, timedelta, timezone

from archiver.problem_codes import problem
from archiver.problems import ArchiverError, Problem

# a round's head is sealed as it ends: a proof made much later proves the head only from then
LATEST_SEAL = timedelta(days=1)


@dataclass
class RoundSeal:
    proof: str | None  # base64 of the proof's canonical JSON (archiver.evidence.DigestProof)
    failures: list[str] = field(default_factory=list)  # authorities that did not answer
    tokens: list[dict] = field(default_factory=list)  # authority, genTime


class RoundSealer:
    """`[audit] seal` and the authorities, checked when the audit starts (a seal asked for
    with no authority to give it is a configuration error, not a silently unsealed round)."""

    def __init__(self, config: dict):
        self.enabled = bool((config.get("audit") or {}).get("seal"))
        self.authorities = []
        if not self.enabled:
            return
        from archiver.evidence.timestamps import authorities_from

        try:
            self.authorities = authorities_from([], config.get("evidence") or {})
        except ValueError as e:
            raise ArchiverError("archiver.toml", str(e), "EVIDENCE-CONFIG") from None
        if not self.authorities:
            raise ArchiverError("archiver.toml", "[audit] seal = true needs time-stamping "
                                "authorities: tsa in [evidence]", "EVIDENCE-CONFIG")

    def seal(self, head: str) -> RoundSeal | None:
        """The proof over the chain head; None when sealing is not set up."""
        if not self.enabled:
            return None
        from archiver.evidence import timestamp_digests
        from archiver.evidence.layout import canonical_json

        proofs, failures = timestamp_digests([bytes.fromhex(head)], self.authorities)
        if not proofs:
            return RoundSeal(None, failures)  # no authority answered: the round stays unsealed
        # the proof, not the bare token: the token covers the batch root, and the proof carries
        # the path from the head to it, the authorities' chains and CRLs (check_digest_proof)
        return RoundSeal(base64.b64encode(canonical_json(proofs[0].to_dict())).decode("ascii"), failures,
                         [{"authority": t["authority"], "genTime": t["genTime"]} for t in proofs[0].tokens])


def seal_round_head(head: str, config: dict) -> str | None:
    """The proof over `head` (see RoundSealer.seal), or None."""
    sealed = RoundSealer(config).seal(head)
    return sealed.proof if sealed else None


@dataclass
class SealsCheck:
    problems: list[Problem] = field(default_factory=list)  # AUDIT-LEDGER-SEAL
    statements: list[str] = field(default_factory=list)  # what is proven, in words
    sealed: int = 0  # rounds whose seal holds
    unsealed_after: int = 0  # records after the last head a seal proves


def _time(text: str) -> datetime:
    return datetime.fromisoformat(text.replace("Z", "+00:00")).astimezone(timezone.utc)


def check_seals(ledger, anchors) -> SealsCheck:
    """Every round seal of the ledger against the chain as its records give it now: the
    sealed head must be the hash of the round's end record, and a token of the proof must
    verify by `anchors` (archiver.evidence.trust.Anchors) at its genTime."""
    from archiver.evidence.digests import DigestProof, check_digest_proof
    from archiver.evidence.timestamps import gen_time_text

    out = SealsCheck()
    ends: dict[int, tuple[int, str, str]] = {}  # round -> (seq, hash, time) of its end record
    last_proven, last_seq = 0, 0
    for seq, time, kind, body, digest in ledger.db.execute(
            "SELECT seq, time, kind, body, hash FROM records WHERE kind IN ('round-end', 'seal') ORDER BY seq"):
        where = f"record {seq}"
        try:
            b = json.loads(body)
        except ValueError:
            continue  # the chain check names it
        if kind == "round-end":
            ends[b.get("round")] = (seq, digest, time)
            continue
        r = b.get("round")
        if r not in ends:
            out.problems.append(problem("AUDIT-LEDGER-SEAL", where, f"seals round {r}, which no "
                                        "earlier record ends"))
            continue
        end_seq, head, ended = ends[r]
        try:
            proof = DigestProof.from_dict(json.loads(base64.b64decode(b["seal"], validate=True)))
        except (KeyError, TypeError, ValueError) as e:
            out.problems.append(problem("AUDIT-LEDGER-SEAL", where, f"round {r}: the seal is "
                                        f"unreadable ({type(e).__name__})"))
            continue
        if proof.inclusion.digest != bytes.fromhex(head):
            out.problems.append(problem(
                "AUDIT-LEDGER-SEAL", f"record {end_seq}",
                f"round {r} was sealed with head {proof.inclusion.digest.hex()[:16]}…, but its end "
                f"record's hash is now {head[:16]}…: the records up to it were rewritten after the seal"))
            continue
        checks = check_digest_proof(proof, bytes.fromhex(head), anchors)
        good = [c for _, c in checks if c.ok]
        if not good:
            why = "; ".join(f"{a}: {m}" for a, c in checks for _, m in c.problems) or "no token"
            out.problems.append(problem("AUDIT-LEDGER-SEAL", where, f"round {r}: no time-stamp of "
                                        f"its head verifies: {why}"))
            continue
        when = min(c.gen_time for c in good)
        if when - _time(ended) > LATEST_SEAL:
            out.problems.append(problem(
                "AUDIT-LEDGER-SEAL", where, f"round {r} ended {ended} but its head was time-stamped "
                f"only at {gen_time_text(when)}: the seal proves the records from then, not from the round"))
            continue
        out.sealed += 1
        last_proven, last_seq = end_seq, seq
        out.statements.append(f"round {r}: records 1..{end_seq} existed as they are at "
                              f"{gen_time_text(when)} ({len(good)} of {len(checks)} time-stamping "
                              f"authorities; {sorted({c.anchor for c in good})[0]})")
    total = ledger.head()[0]
    if last_proven:
        # the seal record itself and what follows it are proven by the next sealed head only
        out.unsealed_after = total - last_proven
        if total > last_seq:
            out.statements.append(f"records {last_seq + 1}..{total}: after the last sealed head, "
                                  "proven by the chain alone until the next sealed round")
    return out
