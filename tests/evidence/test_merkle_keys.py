"""Merkle batching, keys, and timestamping arbitrary digests (the audit ledger's heads)."""
from __future__ import annotations

import hashlib
import os
import stat

import pytest

from archiver.evidence import check_digest_proof, keygen, load_signing_key, timestamp_digests
from archiver.evidence.keys import verify_signature
from archiver.evidence.merkle import Inclusion, batch, root_of
from archiver.problems import ArchiverError


@pytest.mark.parametrize("n", [1, 2, 3, 4, 5, 7, 8, 9, 33])
def test_every_inclusion_leads_to_the_one_root(n):
    digests = [hashlib.sha256(str(i).encode()).digest() for i in range(n)]
    inclusions = batch("sha256", digests)
    assert len({i.root for i in inclusions}) == 1
    for inc in inclusions:
        assert root_of(Inclusion.from_dict(inc.to_dict())) == inc.root
    if n > 1:
        swapped = Inclusion("sha256", digests[0], inclusions[1].path, inclusions[0].root, n)
        assert root_of(swapped) != inclusions[0].root


def test_keygen_makes_a_private_file_0600_and_never_overwrites(tmp_path):
    private, public, kid = keygen(tmp_path / "k")
    assert stat.S_IMODE(os.stat(private).st_mode) == 0o600
    assert public.name == "k.pub" and b"PUBLIC KEY" in public.read_bytes()
    key = load_signing_key(private)
    assert key.id == kid and kid.startswith("ed25519:") and kid not in repr(key.private)
    assert verify_signature(key.public, key.sign(b"statement"), b"statement")
    assert not verify_signature(key.public, key.sign(b"statement"), b"statemenT")
    with pytest.raises(ArchiverError):
        keygen(tmp_path / "k")


def test_a_bad_key_file_is_named_without_its_content(tmp_path):
    bad = tmp_path / "bad.key"
    bad.write_text("-----BEGIN PRIVATE KEY-----\nc2VjcmV0IG1hdGVyaWFs\n-----END PRIVATE KEY-----\n")
    with pytest.raises(ArchiverError) as e:
        load_signing_key(bad)
    assert e.value.path == str(bad) and "c2VjcmV0" not in e.value.message


def test_timestamp_digests_one_token_per_authority_each_proof_alone(two_authorities, anchors, tsa):
    heads = [hashlib.sha256(f"round {i}".encode()).digest() for i in range(5)]
    before = tsa.requests
    proofs, failures = timestamp_digests(heads, two_authorities)
    assert not failures and len(proofs) == 5 and tsa.requests - before == 2
    from archiver.evidence.digests import DigestProof
    again = DigestProof.from_dict(proofs[3].to_dict())
    checks = check_digest_proof(again, heads[3], anchors)
    assert [c.ok for _, c in checks] == [True, True]
    assert check_digest_proof(again, heads[2], anchors) == []


def test_the_audit_ledger_round_head_is_sealed_through_timestamp_digests(tsa, anchors):
    import base64
    import json

    from archiver.audit.seal import seal_round_head
    from archiver.evidence.digests import DigestProof
    head = hashlib.sha256(b"round head").hexdigest()
    config = {"audit": {"seal": True}, "evidence": {"tsa": [tsa.tsas["chained"].url]}}
    proof = DigestProof.from_dict(json.loads(base64.b64decode(seal_round_head(head, config))))
    assert [c.ok for _, c in check_digest_proof(proof, bytes.fromhex(head), anchors)] == [True]
    assert seal_round_head(head, {"audit": {}}) is None
