"""BagIt Profiles (spec 1.4 and earlier) and DART profiles: conforming bags and each violation."""
from __future__ import annotations

import json
import tarfile

import pytest

from archiver.validate.profile import BAGIT_PROFILES, DART, ProfileError, load_profile
from bagmaker import PROFILES, errors, found, make_bag, refresh_tag_manifests

BTR = PROFILES / "btr-1.0.json"
BTR_DART = PROFILES / "btr-1.0-dart.json"
APT = PROFILES / "aptrust-2.x.json"
APT_DART = PROFILES / "aptrust-2.x-dart.json"

APTRUST_INFO = b"Title: Field notes\nAccess: Institution\nStorage-Option: Standard\n"


def _btr_bag(tmp_path, **kw):
    kw.setdefault("info", [("BagIt-Profile-Identifier", "https://example.org/test-profiles/btr-1.0.json"),
                           ("Organization-Address", "1 Main St"), ("Contact-Email", "a@example.org")])
    return make_bag(tmp_path / "bag", **kw)


def _aptrust_tar(tmp_path, info=APTRUST_INFO, name="example.edu.bag1", dir_name=None, algs=("md5", "sha256"),
                 identifier="https://example.org/test-profiles/aptrust-2.x.json", payload=None):
    bag = make_bag(tmp_path / (dir_name or name), payload, algs=algs, tag_algs=("md5",),
                   info=[("BagIt-Profile-Identifier", identifier)],
                   tag_files={"aptrust-info.txt": info} if info is not None else None)
    out = tmp_path / f"{name}.tar"
    with tarfile.open(out, "w") as tf:
        tf.add(bag, arcname=dir_name or name)
    return out


def test_profile_formats_are_detected():
    assert load_profile(BTR).format == BAGIT_PROFILES
    assert load_profile(APT).format == BAGIT_PROFILES
    assert load_profile(BTR_DART).format == DART
    assert load_profile(APT_DART).format == DART


def test_shipped_report_package_profile_is_valid():
    from archiver.validate.profile import report_package_profile
    profile = report_package_profile()
    assert profile.identifier == "https://archiver.example.org/profiles/report-package/v1.json"
    assert profile.manifests_required == ["sha256"]
    assert profile.tag_files_required == ["metadata/dc.xml", "metadata/premis.xml", "metadata/report.json"]


# -- conforming bags ----------------------------------------------------------------------------------
def test_btr_conforming_bag(tmp_path, check):
    report = check(_btr_bag(tmp_path), profile=BTR)
    assert report.valid and report.problems == [] and "profile" in report.checked
    assert report.profile == "https://example.org/test-profiles/btr-1.0.json"


def test_btr_dart_conforming_bag(tmp_path, check):
    assert check(_btr_bag(tmp_path), profile=BTR_DART).problems == []


@pytest.mark.parametrize("profile", [APT, APT_DART])
def test_aptrust_conforming_tar(tmp_path, check, profile):
    report = check(_aptrust_tar(tmp_path), profile=profile)
    assert report.valid and report.problems == [], report.problems


# -- Bag-Info / tags -----------------------------------------------------------------------------------
def test_required_tag_missing_and_recommended_tag_missing(tmp_path, check):
    bag = make_bag(tmp_path / "bag", oxum=False,
                   info=[("BagIt-Profile-Identifier", "https://example.org/test-profiles/btr-1.0.json")])
    report = check(bag, profile=BTR)
    assert errors(report) == {("PROFILE-TAG-MISSING", "bag-info.txt")}
    assert "Payload-Oxum" in report.errors[0].message
    assert ("PROFILE-TAG-RECOMMENDED", "bag-info.txt") in found(report)


def test_non_repeatable_tag_repeated(tmp_path, check):
    bag = _btr_bag(tmp_path)
    with open(bag / "bag-info.txt", "a") as f:
        f.write("Payload-Oxum: 12.2\n")
    refresh_tag_manifests(bag)
    assert ("PROFILE-TAG-REPEATED", "bag-info.txt") in errors(check(bag, profile=BTR))


def test_value_not_allowed(tmp_path, check):
    doc = json.loads(BTR.read_text())
    doc["Bag-Info"]["Source-Organization"]["values"] = ["Another Archive"]
    assert ("PROFILE-TAG-VALUE", "bag-info.txt") in errors(check(_btr_bag(tmp_path), profile=doc))


def test_bag_without_profile_identifier(tmp_path, check):
    report = check(make_bag(tmp_path / "bag"), profile=BTR)
    assert ("PROFILE-IDENTIFIER-MISSING", "bag-info.txt") in errors(report)


def test_bag_declaring_another_profile(tmp_path, check):
    bag = make_bag(tmp_path / "bag", info=[("BagIt-Profile-Identifier", "https://example.org/other.json")])
    report = check(bag, profile=BTR)
    assert ("PROFILE-IDENTIFIER-MISMATCH", "bag-info.txt") in found(report)


@pytest.mark.parametrize("info, code", [
    (None, "PROFILE-TAG-FILE-MISSING"),
    (b"Title: Notes\nAccess: Everyone\nStorage-Option: Standard\n", "PROFILE-TAG-VALUE"),
    (b"Title:\nAccess: Institution\nStorage-Option: Standard\n", "PROFILE-TAG-EMPTY"),
    (b"Title: Notes\nAccess: Institution\n", "PROFILE-TAG-MISSING"),
    (b"Title: Notes\nAccess: Institution\nStorage-Option: Floppy\n", "PROFILE-TAG-VALUE"),
])
def test_dart_tags_in_other_tag_files(tmp_path, check, info, code):
    report = check(_aptrust_tar(tmp_path, info=info), profile=APT_DART)
    assert errors(report) == {(code, "aptrust-info.txt")}


def test_dart_bagit_txt_tags(tmp_path, check):
    doc = json.loads(APT_DART.read_text())
    doc["tags"][0]["values"] = ["0.97"]
    assert ("PROFILE-TAG-VALUE", "bagit.txt") in errors(check(_aptrust_tar(tmp_path), profile=doc))


def test_dart_tar_directory_must_match_name(tmp_path, check):
    report = check(_aptrust_tar(tmp_path, dir_name="other-name"), profile=APT_DART)
    assert errors(report) == {("PROFILE-TAR-DIR-NAME", "other-name")}


def test_dart_file_name_rule(tmp_path, check):
    out = _aptrust_tar(tmp_path, payload={"data/-leading-dash.txt": b"x", "data/ok.txt": b"y"})
    assert errors(check(out, profile=APT_DART)) == {("PROFILE-FILE-NAME", "data/-leading-dash.txt")}


# -- manifests, tag files, payload files -------------------------------------------------------------------
def test_required_manifest_missing_and_algorithm_not_allowed(tmp_path, check):
    report = check(_aptrust_tar(tmp_path, algs=("sha512",)), profile=APT)
    assert {("PROFILE-MANIFEST-REQUIRED", "manifest-md5.txt"),
            ("PROFILE-MANIFEST-NOT-ALLOWED", "manifest-sha512.txt")} <= errors(report)


def test_tag_manifest_required_and_allowed(tmp_path, check):
    doc = json.loads(BTR.read_text())
    doc["Tag-Manifests-Required"] = ["sha512"]
    doc["Tag-Manifests-Allowed"] = ["sha512"]
    report = check(_btr_bag(tmp_path), profile=doc)
    assert errors(report) == {("PROFILE-TAGMANIFEST-REQUIRED", "tagmanifest-sha512.txt"),
                              ("PROFILE-TAGMANIFEST-NOT-ALLOWED", "tagmanifest-sha256.txt")}


def test_tag_files_required_and_allowed(tmp_path, check):
    doc = json.loads(BTR.read_text())
    doc["Tag-Files-Required"] = ["metadata/mods.xml"]
    doc["Tag-Files-Allowed"] = ["metadata/*"]
    bag = _btr_bag(tmp_path, tag_files={"notes/readme.txt": b"hi"})
    report = check(bag, profile=doc)
    assert errors(report) == {("PROFILE-TAG-FILE-REQUIRED", "metadata/mods.xml"),
                              ("PROFILE-TAG-FILE-NOT-ALLOWED", "notes/readme.txt")}


def test_payload_files_required_and_allowed(tmp_path, check):
    doc = json.loads(BTR.read_text())
    doc["Payload-Files-Required"] = ["data/LICENSE.txt", "data/src/"]
    doc["Payload-Files-Allowed"] = ["data/LICENSE.txt", "data/src/*", "data/a.txt"]
    report = check(_btr_bag(tmp_path), profile=doc)
    assert errors(report) == {("PROFILE-PAYLOAD-FILE-REQUIRED", "data/LICENSE.txt"),
                              ("PROFILE-PAYLOAD-FILE-REQUIRED", "data/src/"),
                              ("PROFILE-PAYLOAD-FILE-NOT-ALLOWED", "data/sub/b.txt")}


def test_fetch_not_allowed_and_required(tmp_path, check):
    bag = _btr_bag(tmp_path, tag_files={"fetch.txt": b"https://example.org/a 6 data/a.txt\n"})
    assert ("PROFILE-FETCH-NOT-ALLOWED", "fetch.txt") in errors(check(bag, profile=BTR))
    doc = json.loads(BTR.read_text())
    doc["Allow-Fetch.txt"] = True
    doc["Fetch.txt-Required"] = True
    assert ("PROFILE-FETCH-REQUIRED", "fetch.txt") in errors(check(_btr_bag(tmp_path / "2"), profile=doc))


def test_data_empty(tmp_path, check):
    doc = json.loads(BTR.read_text())
    doc["Data-Empty"] = True
    assert ("PROFILE-DATA-NOT-EMPTY", "data") in errors(check(_btr_bag(tmp_path), profile=doc))
    assert check(_btr_bag(tmp_path / "2", payload={"data/.keep": b""}), profile=doc).valid


def test_accept_bagit_version(tmp_path, check):
    doc = json.loads(BTR.read_text())
    doc["Accept-BagIt-Version"] = ["0.97"]
    assert ("PROFILE-BAGIT-VERSION", "bagit.txt") in errors(check(_btr_bag(tmp_path), profile=doc))


def test_serialization_required_forbidden_and_accepted(tmp_path, check):
    assert ("PROFILE-SERIALIZATION-REQUIRED", "") in errors(
        check(make_bag(tmp_path / "dir", info=[("BagIt-Profile-Identifier",
                                                "https://example.org/test-profiles/aptrust-2.x.json")]),
              profile=APT))
    bag = _btr_bag(tmp_path)
    out = tmp_path / "bag.tar.gz"
    with tarfile.open(out, "w:gz") as tf:
        tf.add(bag, arcname="bag")
    doc = json.loads(BTR.read_text())
    doc["Accept-Serialization"] = ["application/zip"]
    assert ("PROFILE-SERIALIZATION-NOT-ACCEPTED", "") in errors(check(out, profile=doc))
    doc["Serialization"] = "forbidden"
    assert ("PROFILE-SERIALIZATION-FORBIDDEN", "") in errors(check(out, profile=doc))


# -- the profile document itself -----------------------------------------------------------------------
@pytest.mark.parametrize("edit, fragment", [
    (lambda d: d["BagIt-Profile-Info"].pop("Source-Organization"), "Source-Organization"),
    (lambda d: d.pop("Accept-BagIt-Version"), "Accept-BagIt-Version"),
    (lambda d: d.__setitem__("Serialization", "sometimes"), "Serialization"),
    (lambda d: d.__setitem__("Allow-Fetch.txt", "no"), "Allow-Fetch.txt"),
    (lambda d: d.__setitem__("Manifests-Required", ["sha384"]), "Manifests-Allowed"),
    (lambda d: d.__setitem__("Tag-Files-Required", ["meta/x.xml"]) or
     d.__setitem__("Tag-Files-Allowed", ["other/*"]), "Tag-Files-Allowed"),
    (lambda d: d.__setitem__("Fetch.txt-Required", True), "Allow-Fetch.txt"),
])
def test_invalid_profile_documents(edit, fragment):
    doc = json.loads(BTR.read_text())
    edit(doc)
    with pytest.raises(ProfileError) as caught:
        load_profile(doc)
    assert {p.code for p in caught.value.problems} == {"PROFILE-INVALID"}
    assert any(fragment in p.message for p in caught.value.problems)


def test_invalid_dart_profile():
    doc = json.loads(APT_DART.read_text())
    doc["tags"][0].pop("tagName")
    with pytest.raises(ProfileError):
        load_profile(doc)


def test_unreadable_profile_is_a_problem_not_an_exception(tmp_path, check):
    broken = tmp_path / "broken.json"
    broken.write_text("{not json")
    with pytest.raises(ProfileError):
        load_profile(broken)
    report = check(make_bag(tmp_path / "bag"), profile=broken)
    assert ("PROFILE-UNREADABLE", str(broken)) in errors(report)


def test_unknown_document_shape():
    with pytest.raises(ProfileError):
        load_profile({"name": "nothing a profile has"})


def test_dart_profile_cannot_read_outside_the_bag(tmp_path, check):
    (tmp_path / "secret.txt").write_text("Title: stolen\n")
    doc = json.loads(APT_DART.read_text())
    doc["tags"].append({"tagFile": "../secret.txt", "tagName": "Title", "required": True})
    report = check(_aptrust_tar(tmp_path), profile=doc)
    assert ("PROFILE-TAG-FILE-MISSING", "../secret.txt") in errors(report)
