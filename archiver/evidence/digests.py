"""Timestamping arbitrary digests (the audit ledger's round heads): one Merkle batch, one
token per authority, and for each digest a proof that verifies alone."""
from __future__ import annotations

import base64
from collections.abc import Sequence
from dataclasses import dataclass

from archiver.evidence import merkle
from archiver.evidence.timestamps import Authority, TimestampError, check_token, request_token
from archiver.evidence.timestamps import authorities_from, complete_trust_material, gen_time_text
from archiver.evidence.trust import Anchors


@dataclass
class DigestProof:
    inclusion: merkle.Inclusion
    tokens: list[dict]  # authority, url, response/chain/crls (bytes), genTime

    def to_dict(self) -> dict:
        """JSON-ready: the token, chain and CRLs in base64."""
        enc = lambda b: base64.b64encode(b).decode("ascii")  # noqa: E731
        return {"inclusion": self.inclusion.to_dict(),
                "tokens": [{**{k: v for k, v in t.items() if not isinstance(v, bytes)},
                            **{k: enc(v) for k, v in t.items() if isinstance(v, bytes)}} for t in self.tokens]}

    @classmethod
    def from_dict(cls, d: dict) -> "DigestProof":
        dec = base64.b64decode
        return cls(merkle.Inclusion.from_dict(d["inclusion"]),
                   [{**t, "response": dec(t["response"]), "chain": dec(t["chain"]), "crls": dec(t["crls"])}
                    for t in d["tokens"]])


def timestamp_digests(digests: Sequence[bytes], authorities: Sequence,
                      algorithm: str = "sha256") -> tuple[list[DigestProof], list[str]]:
    """A proof per digest (in order) and the authorities' failures; no proofs when none answered.
    `authorities`: Authority objects, or `tsa` entries of [evidence] (URLs or tables)."""
    authorities = [a if isinstance(a, Authority) else authorities_from([a], {})[0] for a in authorities]
    inclusions = merkle.batch(algorithm, list(digests))
    if not inclusions:
        return [], []
    tokens, failures = [], []
    for a in authorities:
        try:
            tokens.append(request_token(a, inclusions[0].root, algorithm))
        except TimestampError as e:
            failures.append(e.message)
    if not tokens:
        return [], failures
    complete_trust_material(tokens)
    listed = [{"authority": t.authority.label, "url": t.authority.url, "genTime": gen_time_text(t.gen_time),
               "response": t.response, "chain": t.chain_pem(), "crls": t.crls_pem()} for t in tokens]
    return [DigestProof(i, listed) for i in inclusions], failures


def check_digest_proof(proof: DigestProof, digest: bytes, anchors: Anchors) -> list[tuple[str, object]]:
    """(authority, TokenCheck) for each token of a proof that `digest` is in its batch; an
    empty list when the path does not lead from `digest` to the root."""
    if proof.inclusion.digest != digest or merkle.root_of(proof.inclusion) != proof.inclusion.root:
        return []
    return [(t["authority"], check_token(t["response"], proof.inclusion.root, t["chain"], t["crls"], anchors))
            for t in proof.tokens]
