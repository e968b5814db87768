"""Archiver packages: built packages conform to the report-package profile; --record appends a
PREMIS event, rewrites the tag manifests and never touches the payload."""
from __future__ import annotations

import hashlib
import shutil
from pathlib import Path

import pytest

from archiver.validate.profile import report_package_profile
from bagmaker import errors, found, make_bag

EXAMPLES = Path(__file__).resolve().parents[2] / "examples" / "reports"
PROFILE_ID = "https://archiver.example.org/profiles/report-package/v1.json"


@pytest.fixture(scope="module")
def built(tmp_path_factory):
    from archiver import build as build_api
    out = tmp_path_factory.mktemp("packages")
    results = build_api([str(EXAMPLES)], str(out), durable=False, jobs=1)
    bags = [Path(r.path) for r in results if r.status == "built"]
    assert bags, [r.message for r in results]
    return bags


@pytest.fixture
def package(built, tmp_path) -> Path:
    copy = tmp_path / built[0].name
    shutil.copytree(built[0], copy, symlinks=True)
    return copy


@pytest.fixture
def record_event():
    from archiver.package.record import record_event
    return record_event


def _payload_digests(bag: Path) -> dict[str, str]:
    return {p.relative_to(bag).as_posix(): hashlib.sha256(p.read_bytes()).hexdigest()
            for p in sorted((bag / "data").rglob("*")) if p.is_file()}


def test_built_packages_conform(built, check):
    for bag in built:
        report = check(bag)
        assert report.valid, report.problems
        assert report.archiver_package and "report-package-profile" in report.checked
        assert errors(report) == set()
        assert found(report) == set()
        assert "package-metadata" in report.checked


def test_built_package_against_the_shipped_profile_explicitly(built, check):
    report = check(built[0], profile=report_package_profile())
    assert report.valid and report.profile == PROFILE_ID
    assert "report-package-profile" not in report.checked  # not checked twice


def test_package_breaking_the_profile(package, check):
    (package / "manifest-sha256.txt").unlink()
    (package / "metadata" / "report.json").unlink()
    from archiver.bagit.bag import rewrite_tag_manifests
    rewrite_tag_manifests(package)
    report = check(package)
    assert {("PROFILE-MANIFEST-REQUIRED", "manifest-sha256.txt"),
            ("PROFILE-TAG-FILE-REQUIRED", "metadata/report.json")} <= errors(report)


def test_tampered_metadata_is_caught_by_tag_manifests(package, check):
    with open(package / "metadata" / "dc.xml", "ab") as f:
        f.write(b"<!-- edited -->")
    assert ("BAGIT-CHECKSUM-MISMATCH", "metadata/dc.xml") in errors(check(package))


def test_record_appends_an_event_and_keeps_the_payload(package, check, record_event):
    before = _payload_digests(package)
    premis_before = (package / "metadata" / "premis.xml").read_bytes()
    report = check(package, record=True)
    assert report.valid and report.recorded
    premis = (package / "metadata" / "premis.xml").read_bytes()
    assert premis != premis_before and report.recorded.encode() in premis
    assert b"fix" in premis and b"success" in premis
    assert _payload_digests(package) == before
    again = check(package)  # tag manifests were rewritten with the new premis.xml
    assert again.valid and errors(again) == set()


def test_record_of_a_failed_validation(package, check, record_event):
    (package / "data").joinpath("stray.txt").write_bytes(b"not in the manifest")
    report = check(package, mode="fast", record=True)
    assert not report.valid and report.recorded
    premis = (package / "metadata" / "premis.xml").read_bytes()
    assert b"failure" in premis and b"BAGIT-MANIFEST-UNLISTED-FILE" in premis
    assert (package / "data" / "stray.txt").read_bytes() == b"not in the manifest"


def test_record_refused_for_other_bags(tmp_path, check):
    report = check(make_bag(tmp_path / "bag"), record=True)
    assert report.valid and report.recorded is None
    assert found(report) == {("VALIDATE-NOT-RECORDED", "")}


def test_package_without_profile_identifier_is_not_treated_as_ours(package, check):
    text = (package / "bag-info.txt").read_text(encoding="utf-8")
    lines = [ln for ln in text.splitlines(keepends=True) if not ln.startswith("BagIt-Profile-Identifier")]
    (package / "bag-info.txt").write_text("".join(lines), encoding="utf-8")
    from archiver.bagit.bag import rewrite_tag_manifests
    rewrite_tag_manifests(package)
    report = check(package)
    assert not report.archiver_package and report.valid
    assert ("PROFILE-IDENTIFIER-MISSING", "bag-info.txt") in errors(check(package, profile=report_package_profile()))


def test_record_interrupted_before_the_renames_leaves_the_package_as_it_was(package, check, monkeypatch):
    import os
    before = {p.relative_to(package).as_posix(): p.read_bytes() for p in package.rglob("*") if p.is_file()}

    def interrupted(*args, **kwargs):
        raise KeyboardInterrupt
    monkeypatch.setattr(os, "replace", interrupted)
    with pytest.raises(KeyboardInterrupt):
        from archiver.metadata.provenance import SOFTWARE, event, now
        from archiver.package.record import record_event
        record_event(package, event("val", now(), [], []), [SOFTWARE],
                     extra_files={"metadata/deposits/x.xml": b"<receipt/>"})
    monkeypatch.undo()
    after = {p.relative_to(package).as_posix(): p.read_bytes() for p in package.rglob("*") if p.is_file()}
    assert after == before  # no staged file left behind, nothing replaced
    assert check(package).valid


def test_record_writes_receipt_premis_and_tag_manifests_together(package, check):
    from archiver.metadata.provenance import SOFTWARE, event, now
    from archiver.package.record import record_event
    recorded = event("val", now(), [(SOFTWARE.identifier, "executing program")], [])
    record_event(package, recorded, [SOFTWARE], extra_files={"metadata/deposits/x.xml": b"<receipt/>"})
    assert (package / "metadata/deposits/x.xml").read_bytes() == b"<receipt/>"
    assert recorded.identifier.encode() in (package / "metadata/premis.xml").read_bytes()
    assert "metadata/deposits/x.xml" in (package / "tagmanifest-sha256.txt").read_text()
    report = check(package)
    assert report.valid and report.errors == []
