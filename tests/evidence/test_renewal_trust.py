"""What a renewal may vouch for (nothing new), what validate calls metadata changed after
a seal (growth a warning, a rewrite an error), and files slipped into a record."""
from __future__ import annotations

import hashlib
import importlib
import json
import subprocess
import sys
from pathlib import Path

from archiver.evidence import seal, verify_package
from archiver.validate import validate_bag

SEAL_MODULE = importlib.import_module("archiver.evidence.seal")  # the package's `seal` is the function
EXAMPLES = Path(__file__).resolve().parents[2] / "examples" / "reports"


def _forge_title(bag):
    """What someone without the key can do: rewrite dc.xml and regenerate the tag manifests
    (every tag file then agrees with them; bagit calls the bag valid)."""
    dc = bag / "metadata" / "dc.xml"
    title = b'<dcterms:title xml:lang="en">'
    dc.write_bytes(dc.read_bytes().replace(title, title + b"FORGED ", 1))
    for manifest in bag.glob("tagmanifest-*.txt"):
        alg = manifest.name[len("tagmanifest-"):-4]
        lines = [line.split("  ", 1)[1] for line in manifest.read_text().splitlines()]
        manifest.write_text("".join(f"{hashlib.new(alg, (bag / n).read_bytes()).hexdigest()}  {n}\n" for n in lines))


def _found(report):
    return {(p.code, p.path) for p in report.problems if p.severity == "error"}


def _outside_evidence(bag):
    return {str(p.relative_to(bag)): p.read_bytes() for p in bag.rglob("*")
            if p.is_file() and p.relative_to(bag).parts[0] != "evidence"}


def test_a_renewal_refuses_rewritten_metadata_and_verify_does_not_call_it_proven(store, signing_key,
                                                                                 key_files, two_authorities, tsa):
    bag = sorted(store.iterdir())[0]
    seal([bag], key=signing_key, authorities=two_authorities)
    _forge_title(bag)
    assert validate_bag(bag, mode="fast").valid is False
    renewed = seal([bag], key=None, authorities=two_authorities[:1], renew=True)[0]
    assert renewed.status == "failed" and renewed.record is None
    assert ("EVIDENCE-METADATA-CHANGED", "metadata/dc.xml") in {(p.code, p.path) for p in renewed.problems}
    assert sorted(p.name for p in (bag / "evidence").iterdir()) == ["0001"]  # nothing written
    report = verify_package(bag, trust=[tsa.root_pem], signers=[key_files[1]])
    assert not report.proven and ("EVIDENCE-METADATA-CHANGED", "metadata/dc.xml") in _found(report)
    assert not any(s.startswith("metadata unchanged") for s in report.statements)


def test_an_unsigned_renewal_pinning_forged_metadata_proves_nothing_about_it(store, signing_key, key_files,
                                                                             two_authorities, tsa, monkeypatch):
    """A renewal made by a tool that does not refuse (an earlier archiver, or by hand, with
    any authority: no key is needed) pins the forged dc.xml; the signed seal still decides."""
    bag = sorted(store.iterdir())[0]
    seal([bag], key=signing_key, authorities=two_authorities)
    _forge_title(bag)
    monkeypatch.setattr(SEAL_MODULE, "_beyond_growth", lambda bag, records: None, raising=False)
    assert seal([bag], key=None, authorities=two_authorities[:1], renew=True)[0].status == "renewed"
    report = verify_package(bag, trust=[tsa.root_pem], signers=[key_files[1]])
    assert not report.proven
    assert ("EVIDENCE-METADATA-CHANGED", "metadata/dc.xml") in _found(report)
    changed = next(p for p in report.problems if p.code == "EVIDENCE-METADATA-CHANGED")
    assert "evidence/0001" in changed.message and "evidence/0002" in changed.message
    assert not any(s.startswith("metadata unchanged") for s in report.statements)
    assert any(s.startswith("payload unchanged") for s in report.statements)  # still true
    checked = validate_bag(bag)
    assert ("EVIDENCE-METADATA-CHANGED", "metadata/dc.xml") in {(p.code, p.path) for p in checked.errors}


def test_an_unsigned_renewal_changes_nothing_outside_evidence_and_stays_proven(store, signing_key, key_files,
                                                                               two_authorities, tsa):
    bag = sorted(store.iterdir())[0]
    seal([bag], key=signing_key, authorities=two_authorities)
    before = _outside_evidence(bag)
    renewed = seal([bag], key=None, authorities=two_authorities[:1], renew=True)[0]
    assert renewed.status == "renewed" and renewed.record == "evidence/0002"
    assert _outside_evidence(bag) == before  # no event nobody's signature covers
    report = verify_package(bag, trust=[tsa.root_pem], signers=[key_files[1]])
    assert report.proven and report.problems == [], [str(p) for p in report.problems]
    assert any(s.startswith("metadata unchanged") and s.endswith("seal evidence/0001)") for s in report.statements)
    assert any(s.startswith("evidence renewed at") for s in report.statements)


def test_a_renewal_after_growth_is_made_and_the_growth_stays_named(store, signing_key, key_files, two_authorities,
                                                                   tsa):
    bag = sorted(store.iterdir())[0]
    seal([bag], key=signing_key, authorities=two_authorities)
    recorded = validate_bag(bag, record=True)  # an appended event: growth
    assert recorded.recorded
    assert seal([bag], key=None, authorities=two_authorities[:1], renew=True)[0].status == "renewed"
    report = verify_package(bag, trust=[tsa.root_pem], signers=[key_files[1]])
    changed = [p for p in report.problems if p.code == "EVIDENCE-METADATA-CHANGED"]
    assert changed and changed[0].path == "metadata/premis.xml" and recorded.recorded in changed[0].message
    assert report.metadata_grown and not report.proven
    checked = validate_bag(bag)
    assert checked.valid and "EVIDENCE-METADATA-CHANGED" in {p.code for p in checked.warnings}
    # signed, the renewal vouches for what it pins
    again = seal([bag], key=signing_key, authorities=two_authorities[:1], renew=True)[0]
    assert again.status == "renewed" and again.record == "evidence/0003"
    report = verify_package(bag, trust=[tsa.root_pem], signers=[key_files[1]])
    assert report.proven, [str(p) for p in report.problems]
    assert any(s.endswith("signed renewal evidence/0003)") for s in report.statements)


def test_validate_calls_rewritten_metadata_an_error_and_growth_a_warning(store, signing_key, two_authorities):
    grown, rewritten, gone = sorted(store.iterdir())
    seal([grown, rewritten, gone], key=signing_key, authorities=two_authorities)
    validate_bag(grown, record=True)
    checked = validate_bag(grown)
    assert checked.valid and [p.path for p in checked.warnings if p.code == "EVIDENCE-METADATA-CHANGED"]
    _forge_title(rewritten)
    for mode in ("full", "fast"):
        checked = validate_bag(rewritten, mode=mode)
        assert not checked.valid, mode
        assert ("EVIDENCE-METADATA-CHANGED", "metadata/dc.xml") in {(p.code, p.path) for p in checked.errors}
    # a tag file the seal pinned, removed and unlisted: no growth either
    (gone / "metadata" / "mets.xml").unlink()
    for manifest in gone.glob("tagmanifest-*.txt"):
        manifest.write_text("".join(line + "\n" for line in manifest.read_text().splitlines()
                                    if not line.endswith(" metadata/mets.xml")))
    checked = validate_bag(gone)
    assert "EVIDENCE-METADATA-CHANGED" in {p.code for p in checked.errors}


def test_a_file_slipped_into_a_record_is_reported_and_not_sealed_over(store, signing_key, two_authorities, tsa):
    bag = sorted(store.iterdir())[0]
    seal([bag], key=signing_key, authorities=two_authorities)
    (bag / "evidence" / "0001" / "tsa-9.tsr").write_text("x\n")
    report = verify_package(bag, trust=[tsa.root_pem])
    assert ("EVIDENCE-STRAY-FILE", "evidence/0001/tsa-9.tsr") in {(p.code, p.path) for p in report.problems}
    checked = validate_bag(bag)
    assert ("EVIDENCE-STRAY-FILE", "evidence/0001/tsa-9.tsr") in {(p.code, p.path) for p in checked.problems}
    for key, renew in ((signing_key, False), (None, True)):
        result = seal([bag], key=key, authorities=two_authorities[:1], renew=renew)[0]
        assert result.status == "failed"
        assert ("EVIDENCE-STRAY-FILE", "evidence/0001/tsa-9.tsr") in {(p.code, p.path) for p in result.problems}
    assert sorted(p.name for p in (bag / "evidence").iterdir()) == ["0001"]
    # what the record lists is no stray: the first seal's payload manifest copies, every token
    (bag / "evidence" / "0001" / "tsa-9.tsr").unlink()
    stamps = json.loads((bag / "evidence" / "0001" / "timestamps.json").read_bytes())
    assert len(stamps["tokens"]) == 2 and (bag / "evidence" / "0001" / "manifest-sha256.txt").is_file()
    assert not [p for p in verify_package(bag, trust=[tsa.root_pem]).problems if p.code == "EVIDENCE-STRAY-FILE"]


def test_cli_renewal_without_key_of_forged_metadata(tmp_path, key_files, tsa):
    """The reviewer's reproducer: rewrite dc.xml, renew with no key, verify."""
    run = lambda *args: subprocess.run([sys.executable, "-m", "archiver", *args], cwd=tmp_path,  # noqa: E731
                                       capture_output=True, text=True, timeout=300)
    url = tsa.tsas["chained"].url
    assert run("build", str(EXAMPLES), "--out", "store", "--no-fsync", "-q").returncode == 0
    assert run("seal", "store", "--key", str(key_files[0]), "--tsa", url, "-q").returncode == 0
    bag = sorted((tmp_path / "store").iterdir())[0]
    _forge_title(bag)
    renewed = run("seal", "store", "--renew", "--tsa", url)
    assert renewed.returncode == 1 and "EVIDENCE-METADATA-CHANGED" in renewed.stdout
    assert [line.split()[0] for line in renewed.stdout.splitlines() if not line.startswith(" ")] == [
        "failed", "renewed", "renewed"]  # the two untouched packages are renewed
    verified = run("verify", str(bag), "--trust", str(tsa.root_pem), "--signer", str(key_files[1]))
    assert verified.returncode == 1 and "metadata unchanged" not in verified.stdout
    assert "EVIDENCE-METADATA-CHANGED" in verified.stdout
