"""The package metadata rules: dc.xml, premis.xml and report.json of an archiver package are
checked against the project's schemas and against the bag itself. Each case edits a copy of a
real built package and refreshes its tag manifests, so only the metadata rule can fire."""
from __future__ import annotations

import hashlib
import json
import shutil
from pathlib import Path

import pytest

from archiver.bagit.bag import rewrite_tag_manifests
from bagmaker import errors, found

EXAMPLES = Path(__file__).resolve().parents[2] / "examples" / "reports"


@pytest.fixture(scope="module")
def built(tmp_path_factory):
    from archiver import build
    out = tmp_path_factory.mktemp("packages")
    (result,) = build([EXAMPLES / "000_5ed87340bfc4ba71.txt"], out, durable=False, jobs=1)
    assert result.status == "built", result.message
    return Path(result.path)


@pytest.fixture
def package(built, tmp_path) -> Path:
    copy = tmp_path / built.name
    shutil.copytree(built, copy)
    return copy


def edit(package: Path, rel: str, old: str, new: str) -> None:
    path = package / rel
    text = path.read_text(encoding="utf-8")
    assert old in text, f"{old!r} not in {rel}"
    path.write_text(text.replace(old, new, 1), encoding="utf-8")
    rewrite_tag_manifests(package)


def test_built_package_has_no_metadata_problem(built, check):
    report = check(built)
    assert "package-metadata" in report.checked
    assert found(report) == set()


def test_dc_without_title(package, check):
    text = (package / "metadata/dc.xml").read_text(encoding="utf-8")
    start = text.index("<dcterms:title")
    end = text.index("</dcterms:title>") + len("</dcterms:title>")
    edit(package, "metadata/dc.xml", text[start:end], "")
    report = check(package)
    assert not report.valid
    assert ("PACKAGE-DC-INVALID", "metadata/dc.xml") in errors(report)
    assert any("no dcterms:title" in p.message for p in report.errors)


def test_dc_with_an_element_outside_the_schema(package, check):
    edit(package, "metadata/dc.xml", "<dcterms:identifier>",
         "<dcterms:mood>cheerful</dcterms:mood><dcterms:identifier>")
    report = check(package)
    messages = [p.message for p in report.errors if p.code == "PACKAGE-DC-INVALID"]
    assert messages and "mood" in messages[0] and "schemas/archiver-dc.xsd" in messages[0]


def test_dc_encoding_scheme_is_checked(package, check):
    edit(package, "metadata/dc.xml", '<dcterms:type xsi:type="dcterms:DCMIType">Text<',
         '<dcterms:type xsi:type="dcterms:DCMIType">Article<')
    assert ("PACKAGE-DC-INVALID", "metadata/dc.xml") in errors(check(package))


def test_dc_malformed(package, check):
    edit(package, "metadata/dc.xml", "</qualifieddc>", "</qualified>")
    report = check(package)
    assert errors(report) == {("PACKAGE-XML-MALFORMED", "metadata/dc.xml")}


def test_dc_identifier_must_be_the_external_identifier(package, check):
    edit(package, "metadata/dc.xml", f"<dcterms:identifier>{package.name}<",
         "<dcterms:identifier>rpt-00000000000000000000<")
    report = check(package)
    assert errors(report) == {("PACKAGE-IDENTIFIER-MISMATCH", "metadata/dc.xml")}


def _payload_with_sha256(package):
    payload = next((package / "data").iterdir())
    return payload, hashlib.sha256(payload.read_bytes()).hexdigest()


def test_premis_fixity_must_equal_the_manifest(package, check):
    payload, sha256 = _payload_with_sha256(package)
    edit(package, "metadata/premis.xml", f">{sha256}<", f">{'0' * 64}<")
    report = check(package)
    assert errors(report) == {("PACKAGE-PREMIS-FIXITY-MISMATCH", "metadata/premis.xml")}
    (problem,) = report.errors
    assert problem.message.startswith(f"data/{payload.name}: SHA-256 in PREMIS is 000000000000")


def test_payload_file_without_premis_object(package, check):
    (package / "data" / "late.txt").write_bytes(b"added after packaging\n")
    for alg in ("sha256", "sha512"):
        digest = hashlib.new(alg, b"added after packaging\n").hexdigest()
        with open(package / f"manifest-{alg}.txt", "a", encoding="utf-8") as f:
            f.write(f"{digest}  data/late.txt\n")
    oxum = package / "bag-info.txt"
    text = oxum.read_text(encoding="utf-8")
    size, count = next(l for l in text.splitlines() if l.startswith("Payload-Oxum")).split(": ")[1].split(".")
    oxum.write_text(text.replace(f"Payload-Oxum: {size}.{count}",
                                 f"Payload-Oxum: {int(size) + 22}.{int(count) + 1}"), encoding="utf-8")
    rewrite_tag_manifests(package)
    report = check(package)
    assert errors(report) == {("PACKAGE-PREMIS-OBJECT-MISSING", "metadata/premis.xml"),
                              ("PACKAGE-METS-FILE", "metadata/mets.xml")}
    assert {p.message for p in report.errors} == {
        "data/late.txt: payload file has no PREMIS object",
        "data/late.txt: payload file missing from the fileSec"}


def test_premis_against_its_schema(package, check):
    edit(package, "metadata/premis.xml", "<premis:size>", "<premis:size>-")
    report = check(package)
    assert ("PACKAGE-PREMIS-INVALID", "metadata/premis.xml") in errors(report)


def test_premis_entities_are_not_expanded(package, check):
    path = package / "metadata/premis.xml"
    text = path.read_text(encoding="utf-8")
    bomb = ('<!DOCTYPE premis:premis [<!ENTITY a "aaaaaaaaaa"><!ENTITY b "&a;&a;&a;&a;&a;&a;&a;&a;">'
            '<!ENTITY c "&b;&b;&b;&b;&b;&b;&b;&b;&b;&b;">]>')
    text = text.replace("?>\n", "?>\n" + bomb, 1).replace("<premis:agentName>archiver<",
                                                           "<premis:agentName>&c;<", 1)
    path.write_text(text, encoding="utf-8")
    rewrite_tag_manifests(package)
    report = check(package)
    assert errors(report) == {("PACKAGE-XML-MALFORMED", "metadata/premis.xml")}
    assert "DOCTYPE" in report.errors[0].message
    assert "aaaaaaaaaa" * 8 not in str(report.to_dict())


def test_report_json_against_its_schema(package, check):
    path = package / "metadata/report.json"
    document = json.loads(path.read_text(encoding="utf-8"))
    document["comments"][0]["number"] = "one"
    path.write_text(json.dumps(document), encoding="utf-8")
    rewrite_tag_manifests(package)
    report = check(package)
    assert errors(report) == {("PACKAGE-REPORT-JSON-INVALID", "metadata/report.json")}
    assert report.errors[0].message.startswith("comments/0/number: ")


def test_report_json_not_json(package, check):
    (package / "metadata/report.json").write_bytes(b"{not json")
    rewrite_tag_manifests(package)
    assert errors(check(package)) == {("PACKAGE-REPORT-JSON-INVALID", "metadata/report.json")}


def test_missing_metadata_file(package, check):
    (package / "metadata/premis.xml").unlink()
    rewrite_tag_manifests(package)
    report = check(package)
    assert ("PACKAGE-METADATA-MISSING", "metadata/premis.xml") in errors(report)


def test_metadata_link_out_of_the_bag_is_not_read(package, tmp_path, check):
    secret = tmp_path / "secret.xml"
    secret.write_text("<qualifieddc><secret>do not read</secret></qualifieddc>", encoding="utf-8")
    (package / "metadata/dc.xml").unlink()
    (package / "metadata/dc.xml").symlink_to(secret)
    report = check(package)
    assert ("BAGIT-SYMLINK-OUTSIDE", "metadata/dc.xml") in errors(report)
    assert ("PACKAGE-METADATA-MISSING", "metadata/dc.xml") in errors(report)
    assert "secret" not in str(report.to_dict()).replace(str(tmp_path), "")


def test_mets_lists_the_payload_with_its_sha256(package, check):
    payload, sha256 = _payload_with_sha256(package)
    edit(package, "metadata/mets.xml", f'CHECKSUM="{sha256}"', f'CHECKSUM="{"1" * 64}"')
    report = check(package)
    assert errors(report) == {("PACKAGE-METS-FILE", "metadata/mets.xml")}
    assert report.errors[0].message.startswith(f"data/{payload.name}: SHA-256 in METS is 111111111111")


def test_mets_file_pointing_elsewhere(package, check):
    payload = next((package / "data").iterdir())
    edit(package, "metadata/mets.xml", f'xlink:href="../data/{payload.name}"', 'xlink:href="../data/gone.txt"')
    messages = {p.message for p in check(package).errors if p.code == "PACKAGE-METS-FILE"}
    assert messages == {f"data/{payload.name}: payload file missing from the fileSec",
                        "data/gone.txt: listed in the fileSec but not in the payload"}


def test_mets_against_its_schema(package, check):
    edit(package, "metadata/mets.xml", 'CHECKSUMTYPE="SHA-256"', 'CHECKSUMTYPE="SHA-3"')
    assert errors(check(package)) == {("PACKAGE-METS-INVALID", "metadata/mets.xml")}


def test_mets_is_optional(package, check):
    (package / "metadata/mets.xml").unlink()
    rewrite_tag_manifests(package)
    assert found(check(package)) == set()
