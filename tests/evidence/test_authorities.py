"""Authorities as they are in the wild: expiring, revoked, with and without their chain,
and roots the verifier does not trust."""
from __future__ import annotations

import datetime as dt
import time

import pytest
from rfc3161_client import decode_timestamp_response

from archiver.evidence import Authority, seal, verify_package
from archiver.evidence.trust import anchors_from


def _codes(report):
    return {(p.code, p.severity) for p in report.problems}


def test_openssl_chain_token_is_accepted_though_its_certificate_set_is_out_of_der_order(store, signing_key,
                                                                                        two_authorities, tsa):
    bag = sorted(store.iterdir())[0]
    seal([bag], key=signing_key, authorities=two_authorities)
    chained = (bag / "evidence" / "0001" / "tsa-1.tsr").read_bytes()
    with pytest.raises(ValueError, match="InvalidSetOrdering"):
        decode_timestamp_response(chained)  # what rfc3161-client does with OpenSSL 3.0's token
    plain = decode_timestamp_response((bag / "evidence" / "0001" / "tsa-2.tsr").read_bytes())
    assert len(plain.signed_data.certificates) == 1  # the signing certificate only
    report = verify_package(bag, trust=[tsa.root_pem])
    assert report.proven and all(t["proven"] for t in report.records[0]["tokens"])


def test_authority_whose_certificate_expired_after_issuing_still_verifies_at_gentime(store, signing_key, tsa):
    expiring = tsa.add("expiring", lifetime=dt.timedelta(seconds=4))
    bag = sorted(store.iterdir())[0]
    result = seal([bag], key=signing_key, authorities=[Authority(expiring.url, "expiring")])[0]
    assert result.status == "sealed", [str(p) for p in result.problems]
    expiry = expiring.authority.cert.not_valid_after_utc
    time.sleep(max(0.0, (expiry - dt.datetime.now(dt.timezone.utc)).total_seconds()) + 1.5)
    assert dt.datetime.now(dt.timezone.utc) > expiry  # expired today
    report = verify_package(bag, trust=[tsa.root_pem])
    assert report.proven, [str(p) for p in report.problems]
    assert report.records[0]["tokens"][0]["genTime"] < expiry.strftime("%Y-%m-%dT%H:%M:%SZ")


def test_authority_revoked_before_issuing_fails(store, signing_key, tsa):
    revoked = tsa.add("revoked", revoked_ago=dt.timedelta(hours=2))
    bag = sorted(store.iterdir())[0]
    result = seal([bag], key=signing_key, authorities=[Authority(revoked.url, "revoked")],
                  anchors=anchors_from([tsa.root_pem]))[0]
    assert ("EVIDENCE-TSA-REVOKED", "error") in {(p.code, p.severity) for p in result.problems}
    crls = (bag / "evidence" / "0001" / "tsa-1.crls.pem").read_bytes()
    assert crls.count(b"BEGIN X509 CRL") == 2  # the intermediate's and the root's, fetched at sealing
    report = verify_package(bag, trust=[tsa.root_pem])
    assert not report.proven
    assert ("EVIDENCE-TSA-REVOKED", "error") in _codes(report)
    assert not any(s.startswith("payload unchanged") for s in report.statements)


def test_one_revoked_authority_of_two_is_said_but_the_other_proves(store, signing_key, two_authorities, tsa):
    revoked = tsa.tsas.get("revoked") or tsa.add("revoked", revoked_ago=dt.timedelta(hours=2))
    bag = sorted(store.iterdir())[0]
    seal([bag], key=signing_key, authorities=[two_authorities[0], Authority(revoked.url, "revoked")])
    report = verify_package(bag, trust=[tsa.root_pem])
    assert ("EVIDENCE-TSA-REVOKED", "warning") in _codes(report)
    assert report.records[0]["authorities"] == "1 of 2 time-stamping authorities"


def test_a_root_the_verifier_does_not_trust_proves_nothing(store, signing_key, two_authorities, tsa, tmp_path):
    from pki import pem, root_authority
    bag = sorted(store.iterdir())[0]
    seal([bag], key=signing_key, authorities=two_authorities)
    other = tmp_path / "other-root.pem"
    other.write_bytes(pem(root_authority("Somebody else's root").cert))
    report = verify_package(bag, trust=[other])
    assert not report.proven
    assert ("EVIDENCE-TSA-UNTRUSTED", "error") in _codes(report)
    # the package carries the authority's root, but a root is never trusted for being there
    assert (bag / "evidence" / "0001" / "tsa-1.chain.pem").read_bytes().count(b"BEGIN CERTIFICATE") == 3


def test_token_without_its_chain_and_none_configured(store, signing_key, tsa):
    bag = sorted(store.iterdir())[0]
    seal([bag], key=signing_key, authorities=[Authority(tsa.tsas["plain"].url, "plain")])
    report = verify_package(bag, trust=[tsa.root_pem])
    assert ("EVIDENCE-CERT-CHAIN-INCOMPLETE", "error") in _codes(report)


def test_no_authority_answering_writes_nothing(store, signing_key):
    bag = sorted(store.iterdir())[0]
    before = (bag / "metadata" / "premis.xml").read_bytes()
    result = seal([bag], key=signing_key, authorities=[Authority("http://127.0.0.1:9/tsr", "down", timeout=2)])[0]
    assert result.status == "failed" and "EVIDENCE-TSA-FAILED" in {p.code for p in result.problems}
    assert not (bag / "evidence").exists() and (bag / "metadata" / "premis.xml").read_bytes() == before
