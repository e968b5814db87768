"""Evidence: seals that prove when a package existed and who sealed it, verifiable offline.

- `seal(packages, key=..., authorities=[...])`: sign each package's state and timestamp it
  (RFC 3161), one token per authority for the whole batch (Merkle tree); `renew=True` adds
  a timestamp over the existing evidence (in the spirit of RFC 4998);
- `verify_package(bag_dir, trust=..., signers=...)`: an EvidenceReport with `.sealed`,
  `.proven`, `.problems` (EVIDENCE-... codes), `.statements` (what is proven, in words);
- `is_sealed(bag_dir)`: cheap, only looks for the evidence directory;
- `timestamp_digests(digests, authorities)`: the same batching for any digests (the audit
  ledger's round heads), each with its inclusion path and the tokens; `check_digest_proof`.

Layout of the evidence directory: archiver.evidence.layout. Never imports validate/.
"""
from __future__ import annotations

from archiver.evidence.digests import DigestProof, check_digest_proof, timestamp_digests
from archiver.evidence.keys import SigningKey, keygen, load_signing_key
from archiver.evidence.seal import SealResult, seal
from archiver.evidence.timestamps import Authority
from archiver.evidence.verify import EvidenceReport, is_sealed, verify_package

__all__ = ["Authority", "DigestProof", "EvidenceReport", "SealResult", "SigningKey",
           "check_digest_proof", "is_sealed", "keygen", "load_signing_key", "seal",
           "timestamp_digests", "verify_package"]
