"""The seam for sealing a round's chain head with a time-stamping authority.

A hash-chained ledger proves nothing against someone who rewrites it whole and recomputes
every hash; a time-stamp token over the head at the end of each round does (RFC 3161: the
authority attests that the head existed then). The tokens come from the evidence feature
(`archiver.evidence`, issue 15): when it is installed and `[audit] seal = true` is set in
archiver.toml, the head is time-stamped with the authorities of `[evidence]` and the token
is kept in the round's record. Without it, rounds are simply not sealed.
"""
from __future__ import annotations

import base64


def seal_round_head(head: str, config: dict) -> str | None:
    """A time-stamp proof over the chain head (base64 of its JSON: archiver.evidence.DigestProof),
    or None when sealing is not set up or no authority answered."""
    if not (config.get("audit") or {}).get("seal"):
        return None
    try:
        from archiver.evidence import timestamp_digests  # issue 15; absent until it lands
    except ImportError:
        return None
    proofs, _failures = timestamp_digests([bytes.fromhex(head)], (config.get("evidence") or {}).get("tsa", []))
    if not proofs:
        return None  # no authority answered: the round stays unsealed
    # the proof, not the bare token: the token covers the batch root, and the proof carries
    # the path from the head to it, the authorities' chains and CRLs (check_digest_proof)
    from archiver.evidence.layout import canonical_json
    return base64.b64encode(canonical_json(proofs[0].to_dict())).decode("ascii")
