"""RFC 8493 rules, one hand-made bag per rule: the declaration, bag-info, manifests, tag manifests."""
from __future__ import annotations

import importlib
import pytest

from bagmaker import digest, errors, found, make_bag, manifest_line, refresh_tag_manifests

DECL = b"BagIt-Version: 1.0\nTag-File-Character-Encoding: UTF-8\n"


def test_valid_bag_has_no_problems(bag, check):
    report = check(bag)
    assert report.valid and report.problems == []
    assert report.version == "1.0" and report.payload_files == 2 and report.payload_bytes == 12
    assert report.checked == ["structure", "completeness", "payload-oxum", "checksums"]


# -- bagit.txt ---------------------------------------------------------------------------------------
@pytest.mark.parametrize("declaration, code", [
    (b"\xef\xbb\xbf" + DECL, "BAGIT-DECLARATION-BOM"),
    (b"BagIt-Version: 1.0\nTag-File-Character-Encoding: UTF-8\xff\n", "BAGIT-DECLARATION-NOT-UTF8"),
    (DECL + b"Extra: line\n", "BAGIT-DECLARATION-MALFORMED"),
    (b"Tag-File-Character-Encoding: UTF-8\nBagIt-Version: 1.0\n", "BAGIT-DECLARATION-MALFORMED"),
    (b"BagIt-Version: 1.0\n", "BAGIT-DECLARATION-MALFORMED"),
    (b"BagIt-Version:  1.0\nTag-File-Character-Encoding: UTF-8\n", "BAGIT-DECLARATION-WHITESPACE"),
    (b"BagIt-Version: 1.0 \nTag-File-Character-Encoding: UTF-8\n", "BAGIT-DECLARATION-WHITESPACE"),
    (b"bagit-version: 1.0\nTag-File-Character-Encoding: UTF-8\n", "BAGIT-DECLARATION-MALFORMED"),
    (b"BagIt-Version: 2.0\nTag-File-Character-Encoding: UTF-8\n", "BAGIT-VERSION-UNSUPPORTED"),
    (b"BagIt-Version: one\nTag-File-Character-Encoding: UTF-8\n", "BAGIT-VERSION-MALFORMED"),
    (b"BagIt-Version: 1.0\nTag-File-Character-Encoding: KLINGON-8\n", "BAGIT-ENCODING-UNSUPPORTED"),
])
def test_declaration_form(tmp_path, check, declaration, code):
    report = check(make_bag(tmp_path / "bag", declaration=declaration))
    assert (code, "bagit.txt") in errors(report)
    assert not report.valid


def test_declaration_without_final_line_ending_is_a_warning(tmp_path, check):
    """bagit-python and other tools accept it, and nothing about it is ambiguous."""
    report = check(make_bag(tmp_path / "bag", declaration=DECL.rstrip(b"\n")))
    assert report.valid
    assert [(p.code, p.severity) for p in report.problems] == [("BAGIT-DECLARATION-MALFORMED", "warning")]


@pytest.mark.parametrize("ending", [b"\r\n", b"\r"])
def test_declaration_accepts_crlf_and_cr(tmp_path, check, ending):
    declaration = DECL.replace(b"\n", ending)
    assert check(make_bag(tmp_path / "bag", declaration=declaration)).valid


def test_declaration_missing(bag, check):
    (bag / "bagit.txt").unlink()
    refresh_tag_manifests(bag)
    report = check(bag)
    assert ("BAGIT-DECLARATION-MISSING", "bagit.txt") in errors(report)


def test_utf8_is_only_recommended_for_1_0(tmp_path, check):
    decl = b"BagIt-Version: 1.0\nTag-File-Character-Encoding: ISO-8859-1\n"
    report = check(make_bag(tmp_path / "bag", declaration=decl))
    assert report.valid
    assert found(report) == {("BAGIT-ENCODING-NOT-UTF8", "bagit.txt")}


@pytest.mark.parametrize("encoding, label", [("latin-1", "ISO-8859-1"), ("utf-16", "UTF-16")])
def test_0_97_tag_files_in_declared_encoding(tmp_path, check, encoding, label):
    payload = {"data/café.txt": b"coffee\n"}
    decl = f"BagIt-Version: 0.97\nTag-File-Character-Encoding: {label}\n".encode()
    bag = make_bag(tmp_path / "bag", payload, declaration=decl, encoding=encoding, tag_algs=(),
                   info=[("Contact-Name", "José Núñez")])
    report = check(bag)
    assert report.valid, report.problems
    assert report.version == "0.97"


def test_0_95_package_info(tmp_path, check):
    decl = b"BagIt-Version: 0.95\nTag-File-Character-Encoding: UTF-8\n"
    bag = make_bag(tmp_path / "bag", declaration=decl, tag_algs=())
    (bag / "bag-info.txt").rename(bag / "package-info.txt")
    (bag / "package-info.txt").write_text("Payload-Oxum: 1.2\n")
    assert errors(check(bag)) == {("BAGIT-OXUM-MISMATCH", "package-info.txt")}


# -- bag-info.txt -------------------------------------------------------------------------------------
def _info(bag, text: str):
    (bag / "bag-info.txt").write_text(text, encoding="utf-8")
    refresh_tag_manifests(bag)


def test_continuation_lines_join(bag, check):
    from archiver.bagit.rules import parse_tag_file
    _info(bag, "Source-Organization: Test\nExternal-Description: first line\n  second line\n"
               "\tthird line\nPayload-Oxum: 12.2\n")
    pairs, problems = parse_tag_file(str(bag / "bag-info.txt"), "bag-info.txt", "utf-8")
    assert problems == []
    assert ("External-Description", "first line second line third line") in pairs
    assert check(bag).valid


@pytest.mark.parametrize("text, code", [
    ("Source-Organization Test\nPayload-Oxum: 12.2\n", "BAGIT-TAGFILE-LINE-MALFORMED"),
    ("  orphan continuation\nPayload-Oxum: 12.2\n", "BAGIT-TAGFILE-LINE-MALFORMED"),
    ("Source-Organization : Test\nPayload-Oxum: 12.2\n", "BAGIT-TAGFILE-LABEL-WHITESPACE"),
    ("Payload-Oxum: 12.2\nPayload-Oxum: 13.2\n", "BAGIT-OXUM-MALFORMED"),
    ("Payload-Oxum: twelve\n", "BAGIT-OXUM-MALFORMED"),
    ("Payload-Oxum: 99.2\n", "BAGIT-OXUM-MISMATCH"),
    ("Payload-Oxum: 12.5\n", "BAGIT-OXUM-MISMATCH"),
])
def test_bag_info_errors(bag, check, text, code):
    _info(bag, text)
    assert (code, "bag-info.txt") in errors(check(bag))


@pytest.mark.parametrize("text, code", [
    ("Payload-Oxum: 12.2\nBagging-Date: 1 May 2024\n", "BAGIT-INFO-BAD-DATE"),
    ("Payload-Oxum: 12.2\nBag-Count: 3 of 2\n", "BAGIT-INFO-BAD-BAG-COUNT"),
    ("Payload-Oxum: 12.2\nBag-Size: huge\n", "BAGIT-INFO-BAD-BAG-SIZE"),
    ("Payload-Oxum: 12.2\nBagging-Date: 2024-05-01\nBagging-Date: 2024-05-02\n", "BAGIT-INFO-REPEATED-LABEL"),
])
def test_bag_info_warnings_keep_bag_valid(bag, check, text, code):
    _info(bag, text)
    report = check(bag)
    assert report.valid and found(report) == {(code, "bag-info.txt")}


def test_repeatable_labels_and_good_values_pass(bag, check):
    _info(bag, "Payload-Oxum: 12.2\nContact-Name: A\nContact-Name: B\nBag-Count: 2 of ?\n"
               "Bag-Size: 1.5 GB\n")
    assert check(bag).problems == []


# -- payload manifests --------------------------------------------------------------------------------
def _manifest(bag, text: str, alg: str = "sha256"):
    (bag / f"manifest-{alg}.txt").write_bytes(text.encode("utf-8") if isinstance(text, str) else text)
    refresh_tag_manifests(bag)


A, B = b"alpha\n", b"bravo\n"


def test_no_payload_manifest(bag, check):
    (bag / "manifest-sha256.txt").unlink()
    refresh_tag_manifests(bag)
    assert ("BAGIT-MANIFEST-NONE", "") in errors(check(bag))


def test_manifest_line_without_separator(bag, check):
    _manifest(bag, manifest_line("data/a.txt", A) + digest(B) + "data/sub/b.txt\n")
    report = check(bag)
    assert ("BAGIT-MANIFEST-LINE-MALFORMED", "manifest-sha256.txt") in errors(report)
    assert ("BAGIT-MANIFEST-UNLISTED-FILE", "data/sub/b.txt") in errors(report)


def test_manifest_bad_digest(bag, check):
    _manifest(bag, manifest_line("data/a.txt", A) + "abc123  data/sub/b.txt\n")
    report = check(bag)
    assert ("BAGIT-MANIFEST-BAD-DIGEST", "data/sub/b.txt") in errors(report)
    assert "BAGIT-CHECKSUM-MISMATCH" not in {c for c, _ in found(report)}


def test_duplicate_entry_with_equal_digest_is_a_warning(bag, check):
    _manifest(bag, manifest_line("data/a.txt", A) * 2 + manifest_line("data/sub/b.txt", B))
    report = check(bag)
    assert report.valid and found(report) == {("BAGIT-MANIFEST-DUPLICATE-ENTRY", "data/a.txt")}


def test_duplicate_entry_with_different_digest_is_an_error(bag, check):
    _manifest(bag, manifest_line("data/a.txt", A) + manifest_line("data/a.txt", B)
              + manifest_line("data/sub/b.txt", B))
    assert ("BAGIT-MANIFEST-CONFLICTING-ENTRY", "data/a.txt") in errors(check(bag))


def test_separators_case_and_line_endings(bag, check):
    text = (f"{digest(A).upper()}\tdata/a.txt\r\n"
            f"{digest(B)}   \t data/sub/b.txt\r")
    _manifest(bag, text)
    assert check(bag).problems == []


def test_percent_encoded_paths(tmp_path, check):
    payload = {"data/100%.txt": b"percent", "data/two\nlines.txt": b"lf", "data/car\rriage.txt": b"cr"}
    report = check(make_bag(tmp_path / "bag", payload))
    assert report.valid and report.problems == []


def test_stray_percent_is_read_literally_with_a_warning(tmp_path, check):
    bag = make_bag(tmp_path / "bag", {"data/50%off.txt": A})
    _manifest(bag, f"{digest(A)}  data/50%off.txt\n")
    report = check(bag)
    assert report.valid
    assert found(report) == {("BAGIT-MANIFEST-PERCENT-ENCODING", "manifest-sha256.txt")}


def test_missing_and_unlisted_files(bag, check):
    (bag / "data" / "sub" / "b.txt").unlink()
    (bag / "data" / "extra.txt").write_bytes(b"extra")
    report = check(bag)
    assert {("BAGIT-MANIFEST-MISSING-FILE", "data/sub/b.txt"),
            ("BAGIT-MANIFEST-UNLISTED-FILE", "data/extra.txt"),
            ("BAGIT-OXUM-MISMATCH", "bag-info.txt")} <= errors(report)


def test_file_missing_from_one_of_two_manifests(tmp_path, check):
    bag = make_bag(tmp_path / "bag", algs=("sha256", "sha512"))
    _manifest(bag, manifest_line("data/a.txt", A, "sha512"), "sha512")
    report = check(bag)
    assert errors(report) == {("BAGIT-MANIFEST-UNLISTED-FILE", "data/sub/b.txt")}
    assert "manifest-sha512.txt" in report.problems[0].message


def test_checksum_mismatch_names_file_algorithm_and_digests(bag, check):
    (bag / "data" / "a.txt").write_bytes(b"ALPHA\n")  # same size: only the checksum tells
    report = check(bag)
    assert errors(report) == {("BAGIT-CHECKSUM-MISMATCH", "data/a.txt")}
    message = report.errors[0].message
    assert "sha256" in message and digest(A)[:12] in message and digest(b"ALPHA\n")[:12] in message


def test_every_algorithm_is_checked_from_one_read(tmp_path, check, monkeypatch):
    bag = make_bag(tmp_path / "bag", algs=("md5", "sha1", "sha256", "sha512"))
    _manifest(bag, manifest_line("data/a.txt", b"other", "md5") + manifest_line("data/sub/b.txt", B, "md5"), "md5")
    v = importlib.import_module("archiver.validate.checksums")
    calls = []
    real = v.hash_stream

    def spy(algorithms, **kw):
        job = real(algorithms, **kw)
        paths: list[str] = []
        calls.append((paths, tuple(algorithms)))
        add = job.add
        job.add = lambda path, size: (paths.append(path), add(path, size))[1]
        return job
    monkeypatch.setattr(v, "hash_stream", spy)
    report = check(bag)
    assert errors(report) == {("BAGIT-CHECKSUM-MISMATCH", "data/a.txt")}
    assert "md5" in report.errors[0].message
    payload_call = calls[0]  # one job, every algorithm: each payload file read once
    assert len(payload_call[0]) == 2 and payload_call[1] == ("md5", "sha1", "sha256", "sha512")
    assert len(calls) == 2 and all("/data/" not in p for p in calls[1][0])  # then the tag files


def test_unsupported_algorithm_is_a_warning_beside_a_supported_one(bag, check):
    (bag / "manifest-whirlpool.txt").write_text(f"{'0' * 128}  data/a.txt\n{'0' * 128}  data/sub/b.txt\n")
    refresh_tag_manifests(bag)
    report = check(bag)
    assert report.valid
    assert found(report) == {("BAGIT-MANIFEST-UNSUPPORTED-ALGORITHM", "manifest-whirlpool.txt")}


def test_only_unsupported_algorithms_is_an_error(bag, check):
    (bag / "manifest-sha256.txt").rename(bag / "manifest-whirlpool.txt")
    refresh_tag_manifests(bag, ["sha256"])
    assert ("BAGIT-MANIFEST-NO-SUPPORTED-ALGORITHM", "") in errors(check(bag))


def test_weak_algorithm_alone_is_a_warning(tmp_path, check):
    report = check(make_bag(tmp_path / "bag", algs=("md5",), tag_algs=("md5",)))
    assert report.valid and found(report) == {("BAGIT-MANIFEST-WEAK-ALGORITHM", "")}


def test_manifest_lists_a_directory(bag, check):
    _manifest(bag, manifest_line("data/a.txt", A) + manifest_line("data/sub/b.txt", B)
              + f"{digest(b'')}  data/sub\n")
    assert ("BAGIT-MANIFEST-DIRECTORY", "data/sub") in errors(check(bag))


def test_payload_manifest_lists_a_tag_file(bag, check):
    info = (bag / "bag-info.txt").read_bytes()
    _manifest(bag, manifest_line("data/a.txt", A) + manifest_line("data/sub/b.txt", B)
              + manifest_line("bag-info.txt", info))
    assert ("BAGIT-MANIFEST-OUTSIDE-PAYLOAD", "bag-info.txt") in errors(check(bag))


@pytest.mark.parametrize("line, code", [
    (f"{digest(A)} *data/a.txt\n", "BAGIT-MANIFEST-BINARY-MARKER"),
    (f"{digest(A)}  ./data/a.txt\n", "BAGIT-PATH-NOT-NORMALIZED"),
])
def test_tolerated_manifest_quirks_are_warnings(bag, check, line, code):
    _manifest(bag, line + manifest_line("data/sub/b.txt", B))
    report = check(bag)
    assert report.valid, report.problems
    assert code in {c for c, _ in found(report)}


def test_algorithm_name_case(bag, check):
    (bag / "manifest-sha256.txt").rename(bag / "manifest-SHA256.txt")
    refresh_tag_manifests(bag)
    report = check(bag)
    assert report.valid
    assert ("BAGIT-MANIFEST-ALGORITHM-CASE", "manifest-SHA256.txt") in found(report)


def test_undecodable_manifest(bag, check):
    _manifest(bag, manifest_line("data/a.txt", A).encode() + b"\xff\xfe  data/sub/b.txt\n")
    assert ("BAGIT-MANIFEST-UNREADABLE", "manifest-sha256.txt") in errors(check(bag))


# -- tag manifests ------------------------------------------------------------------------------------
def test_tag_file_changed_after_tag_manifest(bag, check):
    with open(bag / "bag-info.txt", "a") as f:
        f.write("Contact-Name: Someone\n")
    assert errors(check(bag)) == {("BAGIT-CHECKSUM-MISMATCH", "bag-info.txt")}


def test_tag_manifest_lists_missing_tag_file(bag, check):
    (bag / "tagmanifest-sha256.txt").open("a").write(f"{digest(b'x')}  metadata/gone.xml\n")
    assert errors(check(bag)) == {("BAGIT-MANIFEST-MISSING-FILE", "metadata/gone.xml")}


def test_tag_manifest_lists_a_tag_manifest(tmp_path, check):
    bag = make_bag(tmp_path / "bag", tag_algs=("sha256", "sha512"))
    other = (bag / "tagmanifest-sha512.txt").read_bytes()
    (bag / "tagmanifest-sha256.txt").open("a").write(manifest_line("tagmanifest-sha512.txt", other))
    assert ("BAGIT-TAGMANIFEST-LISTS-TAGMANIFEST", "tagmanifest-sha512.txt") in errors(check(bag))


def test_unlisted_tag_file_is_a_warning(bag, check):
    (bag / "notes.txt").write_text("added after bagging\n")
    report = check(bag)
    assert report.valid and found(report) == {("BAGIT-TAGMANIFEST-UNLISTED-FILE", "notes.txt")}


def test_tag_manifest_listing_payload_is_a_warning(bag, check):
    (bag / "tagmanifest-sha256.txt").open("a").write(manifest_line("data/a.txt", A))
    report = check(bag)
    assert report.valid and found(report) == {("BAGIT-TAGMANIFEST-LISTS-PAYLOAD", "data/a.txt")}


def test_tag_manifest_algorithm_without_payload_manifest(tmp_path, check):
    report = check(make_bag(tmp_path / "bag", tag_algs=("sha512",)))
    assert report.valid
    assert found(report) == {("BAGIT-TAGMANIFEST-ALGORITHM-WITHOUT-MANIFEST", "tagmanifest-sha512.txt")}


def test_bag_without_tag_manifest_is_valid(tmp_path, check):
    assert check(make_bag(tmp_path / "bag", tag_algs=())).problems == []


# -- structure -----------------------------------------------------------------------------------------
def test_no_payload_directory(tmp_path, check):
    bag = make_bag(tmp_path / "bag", {})
    (bag / "data").rmdir()
    assert ("BAGIT-PAYLOAD-DIR-MISSING", "data") in errors(check(bag))


def test_empty_bag_is_valid(tmp_path, check):
    report = check(make_bag(tmp_path / "bag", {}))
    assert report.valid and found(report) == {("BAGIT-PAYLOAD-EMPTY-DIRECTORY", "data")}


def test_empty_payload_subdirectory_is_a_warning(bag, check):
    (bag / "data" / "empty").mkdir()
    report = check(bag)
    assert report.valid and found(report) == {("BAGIT-PAYLOAD-EMPTY-DIRECTORY", "data/empty")}


def test_nested_bag_is_reported(tmp_path, check):
    inner = {"data/inner/bagit.txt": DECL, "data/inner/data/x.txt": b"x",
             "data/inner/manifest-sha256.txt": manifest_line("data/x.txt", b"x").encode()}
    report = check(make_bag(tmp_path / "bag", inner))
    assert report.valid and found(report) == {("VALIDATE-NESTED-BAG", "data/inner")}
    assert check(tmp_path / "bag" / "data" / "inner").valid


def test_not_a_bag(tmp_path, check):
    (tmp_path / "plain").mkdir()
    (tmp_path / "plain" / "file.txt").write_text("x")
    report = check(tmp_path / "plain")
    assert found(report) == {("VALIDATE-NOT-A-BAG", "")} and not report.valid


def test_missing_path_is_unreadable(tmp_path, check):
    report = check(tmp_path / "nowhere")
    assert not report.readable and not report.valid
    assert [p.code for p in report.problems] == ["VALIDATE-PATH-MISSING"]


def test_problems_are_all_reported_not_only_the_first(bag, check):
    (bag / "bagit.txt").write_bytes(b"BagIt-Version: 9.9\nTag-File-Character-Encoding: UTF-8\n")
    (bag / "data" / "a.txt").write_bytes(b"changed!!")
    (bag / "data" / "new.txt").write_bytes(b"new")
    report = check(bag)
    got = {c for c, _ in errors(report)}
    assert {"BAGIT-VERSION-UNSUPPORTED", "BAGIT-CHECKSUM-MISMATCH", "BAGIT-MANIFEST-UNLISTED-FILE",
            "BAGIT-OXUM-MISMATCH"} <= got


def test_report_to_dict_is_json(bag, check):
    import json
    (bag / "data" / "a.txt").write_bytes(b"ALPHA\n")
    data = json.loads(json.dumps(check(bag).to_dict()))
    assert data["valid"] is False and data["summary"]["errors"] == 1
    assert data["problems"][0]["code"] == "BAGIT-CHECKSUM-MISMATCH"
    assert data["problems"][0]["path"] == "data/a.txt"
