"""Seal, verify, renew: what a user checks, by problem codes and paths."""
from __future__ import annotations

import json
import shutil
import subprocess
import sys
from pathlib import Path

import bagit

from archiver.evidence import is_sealed, seal, verify_package
from archiver.validate import validate_bag

EXAMPLES = Path(__file__).resolve().parents[2] / "examples" / "reports"


def _codes(report, severity="error"):
    return {p.code for p in report.problems if p.severity == severity}


def test_seal_then_verify_says_what_is_proven(store, signing_key, key_files, two_authorities, anchors, tsa):
    bags = sorted(store.iterdir())
    before = tsa.requests
    results = seal([store], key=signing_key, authorities=two_authorities, anchors=anchors)
    assert [r.status for r in results] == ["sealed"] * 3
    assert all(not r.problems for r in results), [str(p) for r in results for p in r.problems]
    assert tsa.requests - before == 2  # one token per authority for the whole batch
    for bag in bags:
        assert is_sealed(bag)
        report = verify_package(bag, trust=[tsa.root_pem], signers=[key_files[1]])
        assert report.proven, [str(p) for p in report.problems]
        assert report.problems == []
        text = " | ".join(report.statements)
        assert "payload unchanged since" in text and "(2 of 2 time-stamping authorities" in text
        assert "metadata unchanged since" in text
        assert f"sealed by key {signing_key.id}" in text and "unknown" not in text
        assert "archiver Test Root CA" in text
        assert bagit.Bag(str(bag)).is_valid()
        checked = validate_bag(bag)
        assert checked.valid and "evidence" in checked.checked
        assert not [p for p in checked.problems if p.path.startswith("evidence/")
                    and p.code.startswith("BAGIT-")]


def test_each_package_of_a_batch_verifies_alone(store, signing_key, two_authorities, tsa, tmp_path):
    seal([store], key=signing_key, authorities=two_authorities)
    alone = tmp_path / "elsewhere" / "pkg"
    shutil.copytree(sorted(store.iterdir())[1], alone)
    shutil.rmtree(store)
    report = verify_package(alone, trust=[tsa.root_pem])
    assert report.proven and report.records[0]["tokens"][0]["proven"]
    stamps = json.loads((alone / "evidence" / "0001" / "timestamps.json").read_bytes())
    assert stamps["inclusion"]["size"] == 3 and len(stamps["inclusion"]["path"]) == 2


def test_tamper_bagit_says_valid_archiver_says_payload_changed(store, signing_key, two_authorities, tsa):
    bag = sorted(store.iterdir())[0]
    seal([bag], key=signing_key, authorities=two_authorities)
    victim = sorted((bag / "data").iterdir())[0]
    victim.write_bytes(victim.read_bytes().replace(b"the", b"THE", 1) + b"\nforged line\n")
    forged = bagit.Bag(str(bag))
    forged.save(manifests=True)  # every manifest and tag manifest regenerated
    assert bagit.Bag(str(bag)).is_valid()
    rel = f"data/{victim.name}"
    report = verify_package(bag, trust=[tsa.root_pem])
    assert not report.proven
    assert ("EVIDENCE-PAYLOAD-CHANGED", rel) in {(p.code, p.path) for p in report.problems}
    assert not any(s.startswith("payload unchanged") for s in report.statements)
    checked = validate_bag(bag)
    assert not checked.valid
    assert ("EVIDENCE-PAYLOAD-CHANGED", rel) in {(p.code, p.path) for p in checked.errors}


def test_payload_rewritten_without_touching_manifests_is_caught_by_verify(store, signing_key, two_authorities, tsa):
    bag = sorted(store.iterdir())[0]
    seal([bag], key=signing_key, authorities=two_authorities)
    victim = sorted((bag / "data").iterdir())[0]
    victim.write_bytes(b"x" + victim.read_bytes()[1:])
    report = verify_package(bag, trust=[tsa.root_pem])
    assert ("EVIDENCE-PAYLOAD-CHANGED", f"data/{victim.name}") in {(p.code, p.path) for p in report.problems}


def test_metadata_changed_after_seal_names_the_events_then_a_new_seal_chains(store, signing_key, two_authorities, tsa):
    bag = sorted(store.iterdir())[0]
    seal([bag], key=signing_key, authorities=two_authorities)
    recorded = validate_bag(bag, record=True)
    assert recorded.valid and recorded.recorded
    report = verify_package(bag, trust=[tsa.root_pem])
    changed = [p for p in report.problems if p.code == "EVIDENCE-METADATA-CHANGED"]
    assert changed and recorded.recorded in changed[0].message and "metadata/premis.xml" in changed[0].message
    assert any(s.startswith("payload unchanged") for s in report.statements)
    checked = validate_bag(bag)  # validate: a warning, the package itself is valid
    assert checked.valid and "EVIDENCE-METADATA-CHANGED" in {p.code for p in checked.warnings}
    again = seal([bag], key=signing_key, authorities=two_authorities)
    assert again[0].record == "evidence/0002"
    report = verify_package(bag, trust=[tsa.root_pem])
    assert report.proven, [str(p) for p in report.problems]
    statement = json.loads((bag / "evidence" / "0002" / "statement.json").read_bytes())
    assert "0001/tsa-1.tsr" in statement["evidence"] and recorded.recorded in statement["events"]


def test_renewal_timestamps_the_whole_chain_with_sha512(store, signing_key, two_authorities, tsa):
    bag = sorted(store.iterdir())[0]
    seal([bag], key=signing_key, authorities=two_authorities)
    renewed = seal([bag], key=None, authorities=two_authorities[:1], renew=True)
    assert renewed[0].status == "renewed" and renewed[0].record == "evidence/0002"
    statement = json.loads((bag / "evidence" / "0002" / "statement.json").read_bytes())
    assert statement["kind"] == "renewal" and statement["algorithm"] == "sha512"
    assert set(statement["evidence"]) >= {"0001/statement.json", "0001/signature", "0001/tsa-2.tsr"}
    report = verify_package(bag, trust=[tsa.root_pem])
    assert report.proven, [str(p) for p in report.problems]
    assert any(s.startswith("evidence renewed at") for s in report.statements)
    # the chain is walked: an earlier record altered after the renewal breaks it
    (bag / "evidence" / "0001" / "tsa-1.chain.pem").write_bytes(b"")
    report = verify_package(bag, trust=[tsa.root_pem])
    assert ("EVIDENCE-CHAIN-BROKEN", "evidence/0002") in {(p.code, p.path) for p in report.problems}


def test_signer_named_or_unknown(store, signing_key, two_authorities, tsa, tmp_path):
    from archiver.evidence import keygen
    bag = sorted(store.iterdir())[0]
    seal([bag], key=signing_key, authorities=two_authorities)
    _, other, _ = keygen(tmp_path / "other.key")
    report = verify_package(bag, trust=[tsa.root_pem], signers=[other])
    assert "EVIDENCE-SIGNER-UNKNOWN" in _codes(report) and not report.proven
    report = verify_package(bag, trust=[tsa.root_pem])
    assert "EVIDENCE-SIGNER-UNKNOWN" in _codes(report, "warning") and report.proven
    assert any("unknown to this verifier" in s for s in report.statements)


def test_forged_statement_breaks_the_signature(store, signing_key, two_authorities, tsa):
    bag = sorted(store.iterdir())[0]
    seal([bag], key=signing_key, authorities=two_authorities)
    path = bag / "evidence" / "0001" / "statement.json"
    path.write_bytes(path.read_bytes().replace(b'"kind": "seal"', b'"kind":  "seal"'))
    report = verify_package(bag, trust=[tsa.root_pem])
    assert {"EVIDENCE-SIGNATURE-INVALID", "EVIDENCE-TOKEN-WRONG-DIGEST"} <= _codes(report)


def test_token_for_another_digest(store, signing_key, two_authorities, tsa):
    first, second = sorted(store.iterdir())[:2]
    seal([first], key=signing_key, authorities=two_authorities)
    seal([second], key=signing_key, authorities=two_authorities)  # another batch, another root
    shutil.copy(second / "evidence" / "0001" / "tsa-1.tsr", first / "evidence" / "0001" / "tsa-1.tsr")
    report = verify_package(first, trust=[tsa.root_pem])
    assert ("EVIDENCE-TOKEN-WRONG-DIGEST", "evidence/0001/tsa-1.tsr") in {(p.code, p.path) for p in report.problems}
    assert report.records[0]["authorities"] == "1 of 2 time-stamping authorities"


def test_a_damaged_package_is_not_sealed(store, signing_key, two_authorities):
    bag = sorted(store.iterdir())[0]
    victim = sorted((bag / "data").iterdir())[0]
    victim.write_bytes(b"damaged")
    result = seal([bag], key=signing_key, authorities=two_authorities)[0]
    assert result.status == "failed" and {p.code for p in result.problems} == {"EVIDENCE-PACKAGE-DAMAGED"}
    assert not is_sealed(bag)


def test_seal_records_a_premis_event_linked_to_the_key(store, signing_key, two_authorities):
    from archiver.metadata.premis import event_list
    bag = sorted(store.iterdir())[0]
    seal([bag], key=signing_key, authorities=two_authorities)
    premis = (bag / "metadata" / "premis.xml").read_bytes()
    assert [t for _, t, _ in event_list(premis)][-1] == "digital signature generation"
    assert f"key-{signing_key.id}".encode() in premis
    assert b"eventType/dsg" in premis


def test_cli_build_seal_then_verify(tmp_path, key_files, tsa):
    config = tmp_path / "archiver.toml"
    config.write_text(f'''[evidence]
key = "{key_files[0]}"
tsa = ["{tsa.tsas['chained'].url}", {{url = "{tsa.tsas['plain'].url}", name = "plain", certificates = "{tsa.chain_file('plain')}"}}]
trust = ["{tsa.root_pem}"]
signers = ["{key_files[1]}"]
''')
    run = lambda *args: subprocess.run([sys.executable, "-m", "archiver", *args], cwd=tmp_path,  # noqa: E731
                                       capture_output=True, text=True, timeout=300)
    built = run("build", str(EXAMPLES), "--out", "store", "--seal", "--no-fsync")
    assert built.returncode == 0, built.stdout + built.stderr
    assert built.stdout.count("sealed ") == 3
    verified = run("verify", "store")
    assert verified.returncode == 0, verified.stdout + verified.stderr
    assert verified.stdout.count("payload unchanged since") == 3
    doc = json.loads(run("verify", "store", "--json").stdout)
    assert doc["summary"] == {"proven": 3, "not_proven": 0}
    private = key_files[0].read_text()
    assert private.split("\n")[1] not in built.stdout + built.stderr + verified.stdout
    for path in (tmp_path / "store").rglob("*"):
        if path.is_file():
            assert private.split("\n")[1].encode() not in path.read_bytes()
    bag = sorted((tmp_path / "store").iterdir())[0]
    recorded = run("verify", str(bag), "--record")
    assert recorded.returncode == 0 and b"digital signature validation" in (bag / "metadata" / "premis.xml").read_bytes()
    assert run("verify", str(bag)).returncode == 1  # the recorded verification came after the seal
    assert run("verify", str(bag), "--trust", str(tsa.folder / "chained" / "chain.pem"),
               "--signer", "/nonexistent.pub").returncode == 2
    missing = run("verify", "no/such/package")  # a typo: a usage error, not "not sealed"
    assert missing.returncode == 2 and "no/such/package: no such file or directory" in missing.stderr


def test_an_unlisted_payload_file_is_damage_a_seal_refuses(store, signing_key, two_authorities):
    bag = sorted(store.iterdir())[0]
    (bag / "data" / "slipped-in.txt").write_text("not in any manifest\n")
    result = seal([bag], key=signing_key, authorities=two_authorities)[0]
    assert result.status == "failed" and not is_sealed(bag)
    assert ("EVIDENCE-PACKAGE-DAMAGED", "data/slipped-in.txt") in {(p.code, p.path) for p in result.problems}
