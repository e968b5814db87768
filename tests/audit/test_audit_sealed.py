"""Audits of sealed packages (archiver.evidence), with the real local time-stamping authority:
evidence/ is no "new" file, records may only be added, and the seals are verified from the
digests the audit computed."""
from __future__ import annotations

import shutil
import zipfile

import bagit
import pytest

from archiver.audit import Ledger, history
from archiver.audit.inventory import read_bag_dir
from archiver.evidence import keygen, load_signing_key, seal, verify_package
from archiver.validate import validate_bag

from auditkit import cli, findings, payload_file, run_audit


@pytest.fixture
def trusting(tsa, key_files):
    """[evidence] as an institution would set it: the authorities' root and its own key."""
    return {"evidence": {"trust": [str(tsa.root_pem)], "signers": [str(key_files[1])]}}


def _seal(where, signing_key, authorities, renew=False):
    results = seal([where], key=None if renew else signing_key, authorities=authorities, renew=renew)
    assert {r.status for r in results} == {"renewed" if renew else "sealed"}, [r.problems for r in results]


def _codes(run):
    return {code for _, code, _ in findings(run)}


def test_a_sealed_store_audits_clean_and_says_what_the_seals_prove(store, ledger, signing_key,
                                                                  two_authorities, trusting):
    _seal(store, signing_key, two_authorities)
    first = run_audit(store, ledger=ledger, config=trusting)
    assert not first.found, findings(first)
    again = run_audit(store, ledger=ledger, config=trusting)
    assert not again.found and all(not r.accepted for r in again.results)
    notes = " ".join(again.results[0].notes)
    assert "payload unchanged since" in notes and "(2 of 2 time-stamping authorities" in notes
    assert f"sealed by key {signing_key.id}" in notes and "unknown" not in notes


def test_sealed_and_renewed_after_the_first_audit_is_accepted_as_grown(store, ledger, signing_key,
                                                                       two_authorities, trusting):
    assert not run_audit(store, ledger=ledger, config=trusting).found
    _seal(store, signing_key, two_authorities)
    sealed = run_audit(store, ledger=ledger, config=trusting)
    assert not sealed.found, findings(sealed)
    assert "evidence/0001: seal record added (12 file(s))" in sealed.results[0].accepted
    _seal(store, signing_key, two_authorities[:1], renew=True)
    renewed = run_audit(store, ledger=ledger, config=trusting)
    assert not renewed.found, findings(renewed)
    assert "evidence/0002: seal record added (5 file(s))" in renewed.results[0].accepted
    assert any("evidence renewed at" in n for n in renewed.results[0].notes)


def test_an_event_after_the_seal_is_growth_to_the_audit(store, ledger, signing_key, two_authorities,
                                                        trusting):
    _seal(store, signing_key, two_authorities)
    run_audit(store, ledger=ledger, config=trusting)
    package = sorted(store.iterdir())[0]
    assert validate_bag(package, record=True).recorded  # premis.xml and tag manifests change
    run = run_audit(store, ledger=ledger, config=trusting, record=True)
    assert not run.found, findings(run)
    notes = " ".join(next(r for r in run.results if r.location == str(package)).notes)
    assert "metadata grew after the last seal" in notes and "metadata/premis.xml changed" in notes
    # the audit's own --record events are growth too
    assert not run_audit(store, ledger=ledger, config=trusting).found


def test_a_record_changed_added_to_or_removed_later_is_found(store, ledger, signing_key,
                                                             two_authorities, trusting):
    _seal(store, signing_key, two_authorities)
    _seal(store, signing_key, two_authorities[:1], renew=True)
    assert not run_audit(store, ledger=ledger, config=trusting).found
    a, b, c = sorted(store.iterdir())
    token = a / "evidence" / "0002" / "tsa-1.tsr"
    token.write_bytes(token.read_bytes()[:-1] + bytes([token.read_bytes()[-1] ^ 1]))
    (b / "evidence" / "0001" / "note.txt").write_text("slipped into a record\n")
    shutil.rmtree(c / "evidence" / "0002")
    run = run_audit(store, ledger=ledger, config=trusting)
    found = findings(run)
    assert (a.name, "AUDIT-EVIDENCE-CHANGED", "evidence/0002/tsa-1.tsr") in found
    assert (b.name, "AUDIT-EVIDENCE-CHANGED", "evidence/0001/note.txt") in found
    assert (c.name, "AUDIT-EVIDENCE-REMOVED", "evidence/0002") in found
    assert {r.outcome for r in run.results} == {"found"}
    # nothing of it was taken into the record: the next audit finds the same
    assert findings(run_audit(store, ledger=ledger, config=trusting)) >= {
        (a.name, "AUDIT-EVIDENCE-CHANGED", "evidence/0002/tsa-1.tsr"),
        (c.name, "AUDIT-EVIDENCE-REMOVED", "evidence/0002")}


def test_a_package_rewritten_and_resealed_by_another_key_is_caught_by_the_ledger(
        store, ledger, signing_key, two_authorities, trusting, tmp_path):
    """The forger's package verifies by itself (their key is merely unknown); the ledger
    remembers the first payload and the first seal."""
    _seal(store, signing_key, two_authorities)
    assert not run_audit(store, ledger=ledger, config=trusting).found
    package = sorted(store.iterdir())[0]
    target = payload_file(package)
    target.write_bytes(target.read_bytes().replace(b"e", b"3", 1))
    shutil.rmtree(package / "evidence")
    bagit.Bag(str(package)).save(manifests=True)
    forger = load_signing_key(keygen(tmp_path / "forger.key")[0])
    _seal(package, forger, two_authorities)
    alone = verify_package(package, trust=[trusting["evidence"]["trust"][0]])
    assert alone.proven  # the seal itself holds: only the key is unknown
    found = findings(run_audit(store, ledger=ledger, config=trusting))
    assert (package.name, "AUDIT-REWRITTEN", f"data/{target.name}") in found
    assert (package.name, "AUDIT-EVIDENCE-CHANGED", "evidence/0001/statement.json") in found
    assert (package.name, "EVIDENCE-SIGNER-UNKNOWN", "evidence/0001") in found


def test_consistent_rewrite_of_a_sealed_package_is_reported_by_its_seal_even_when_first_seen(
        store, ledger, signing_key, two_authorities, trusting):
    _seal(store, signing_key, two_authorities)
    package = sorted(store.iterdir())[0]
    target = payload_file(package)
    target.write_bytes(target.read_bytes().replace(b"a", b"4", 1))
    bagit.Bag(str(package)).save(manifests=True)
    assert bagit.Bag(str(package)).is_valid()
    run = run_audit(store, ledger=ledger, config=trusting)  # no baseline yet: the seal alone says it
    result = next(r for r in run.results if r.location == str(package))
    assert result.first and result.outcome == "found"
    assert ("EVIDENCE-PAYLOAD-CHANGED", f"data/{target.name}") in {(f.code, f.path) for f in result.findings}
    assert {r.outcome for r in run.results if r is not result} == {"ok"}


def test_untrusted_authorities_interrupted_seals_and_strays_are_findings(store, ledger, signing_key,
                                                                        two_authorities, trusting):
    _seal(store, signing_key, two_authorities)
    untrusted = run_audit(store, ledger=ledger, config={})  # the system's store knows no test root
    assert "EVIDENCE-TSA-UNTRUSTED" in _codes(untrusted)
    a, b, _ = sorted(store.iterdir())
    (a / "evidence" / "README").write_text("a stray\n")
    staged = b / "evidence" / ".0002.tmp"
    staged.mkdir()
    (staged / "timestamps.json").write_text("{}")
    found = findings(run_audit(store, ledger=ledger, config=trusting))
    assert found == {(a.name, "EVIDENCE-STRAY-FILE", "evidence/README"),
                     (b.name, "EVIDENCE-INTERRUPTED", "evidence/.0002.tmp")}
    shutil.rmtree(staged)
    (a / "evidence" / "README").unlink()
    assert not run_audit(store, ledger=ledger, config=trusting).found  # strays were never recorded


def test_a_zipped_sealed_package_keeps_the_ledgers_rule(store, ledger, signing_key, two_authorities,
                                                        trusting, tmp_path):
    package = sorted(store.iterdir())[0]
    _seal(package, signing_key, two_authorities)
    archive = tmp_path / "zipped" / f"{package.name}.zip"
    archive.parent.mkdir()

    def zip_it():
        with zipfile.ZipFile(archive, "w") as zf:
            for f in sorted(package.rglob("*")):
                if f.is_file():
                    zf.write(f, f"{package.name}/{f.relative_to(package)}")

    zip_it()
    first = run_audit(archive, ledger=ledger, config=trusting)
    assert not first.found and "not in a zip package" in " ".join(first.results[0].notes)
    (package / "evidence" / "0001" / "tsa-1.tsr").write_bytes(b"not a token")
    zip_it()
    found = findings(run_audit(archive, ledger=ledger, config=trusting))
    assert found == {(archive.name, "AUDIT-EVIDENCE-CHANGED", "evidence/0001/tsa-1.tsr")}


def test_verification_takes_the_audits_digests_instead_of_reading_again(store, signing_key,
                                                                       two_authorities, tsa):
    """With `digests`, verify_package judges the payload and tag files by them: the bytes
    on disk are not read again (here they changed after the digests were taken)."""
    package = sorted(store.iterdir())[0]
    _seal(package, signing_key, two_authorities)
    inv = read_bag_dir(str(package))
    digests = {rel: d for rel, (_, d) in inv.files.items()}
    target = payload_file(package)
    target.write_bytes(b"changed after the audit read it\n")
    by_digests = verify_package(package, trust=[tsa.root_pem], digests=digests)
    assert by_digests.proven, [str(p) for p in by_digests.problems]
    read_again = verify_package(package, trust=[tsa.root_pem])
    assert ("EVIDENCE-PAYLOAD-CHANGED", f"data/{target.name}") in {(p.code, p.path) for p in read_again.problems}
    # and digests that disagree with the seal are reported as such
    digests[f"data/{target.name}"] = {a: "0" * len(v) for a, v in digests[f"data/{target.name}"].items()}
    wrong = verify_package(package, trust=[tsa.root_pem], digests=digests)
    assert ("EVIDENCE-PAYLOAD-CHANGED", f"data/{target.name}") in {(p.code, p.path) for p in wrong.problems}


def test_history_shows_seals_renewals_and_sealed_rounds(store, ledger, signing_key, two_authorities,
                                                        trusting, tsa, tmp_path):
    sealing = {**trusting, "audit": {"seal": True},
               "evidence": {**trusting["evidence"], "tsa": [{"url": tsa.tsas["chained"].url, "name": "chained"}]}}
    package = sorted(store.iterdir())[0]
    run_audit(store, ledger=ledger, config=sealing)
    _seal(store, signing_key, two_authorities)
    # a signed renewal: one without a key writes no PREMIS event (its record is its account)
    renewed = seal([store], key=signing_key, authorities=two_authorities[:1], renew=True)
    assert {r.status for r in renewed} == {"renewed"}
    run = run_audit(store, ledger=ledger, config=sealing)
    assert not run.found and run.sealing.proof
    with Ledger.open(ledger, readonly=True) as db:
        h = history(str(package), db)
    kinds = [e.kind for e in h.entries]
    assert kinds.count("seal") == 1 and kinds.count("renewal") == 1
    assert "digital signature generation" not in kinds  # the records stand for their PREMIS events
    seal_entry = next(e for e in h.entries if e.kind == "seal")
    assert seal_entry.summary.startswith("evidence/0001: payload and metadata pinned")
    assert signing_key.id in seal_entry.summary
    assert seal_entry.details[0].startswith(f"time-stamped by chained at {seal_entry.time}, plain at ")
    audits = [e for e in h.entries if e.kind == "audit"]
    assert f"round {run.round} sealed by chained at" in audits[-1].summary
    done = cli("history", package, "--ledger", ledger, env={"XDG_DATA_HOME": str(tmp_path / "unused")})
    assert done.returncode == 0 and "renewal" in done.stdout and "evidence/0002" in done.stdout
    # a record gone: its PREMIS event still tells what was sealed
    shutil.rmtree(package / "evidence" / "0002")
    with Ledger.open(ledger, readonly=True) as db:
        kinds = [e.kind for e in history(str(package), db).entries]
    assert "renewal" not in kinds and "digital signature generation" in kinds
