"""Cross-check with the bagit library: bags it makes validate with ours, and on malformed bags
where its verdict is right, our verdict is the same."""
from __future__ import annotations

import os

import bagit
import pytest

from bagmaker import errors


def _source(tmp_path, name="bag"):
    root = tmp_path / name
    (root / "sub" / "deeper").mkdir(parents=True)
    (root / "report.txt").write_bytes(b"the report\n")
    (root / "sub" / "photo.bin").write_bytes(os.urandom(3000))
    (root / "sub" / "deeper" / "caf\u00e9 notes.txt").write_bytes("n\u00e9e\n".encode())
    (root / "sub" / "empty.txt").write_bytes(b"")
    return root


@pytest.mark.parametrize("checksums", [["sha256"], ["sha512"], ["md5", "sha1"], ["sha256", "sha512"],
                                       ["sha224", "sha384"]])
def test_bags_made_by_bagit_validate(tmp_path, check, checksums):
    root = _source(tmp_path)
    bagit.make_bag(str(root), {"Source-Organization": "Test", "Contact-Name": "Ana"}, checksums=checksums)
    report = check(root)
    assert report.valid and not report.errors, report.problems
    assert report.payload_files == 4


def test_bagit_bag_made_with_processes_and_updated_metadata(tmp_path):
    from archiver.validate import validate_bag
    root = _source(tmp_path)
    bag = bagit.make_bag(str(root), checksums=["sha256"], processes=2)
    bag.info["External-Description"] = "edited after bagging " * 6
    bag.save(manifests=True)
    assert validate_bag(root, jobs=2).valid


def _break(kind, root):
    data = root / "data"
    if kind == "checksum":
        (data / "report.txt").write_bytes(b"the REPORT\n")
    elif kind == "missing":
        (data / "report.txt").unlink()
    elif kind == "extra":
        (data / "added.txt").write_bytes(b"added")
    elif kind == "oxum":
        text = (root / "bag-info.txt").read_text().replace("Payload-Oxum: ", "Payload-Oxum: 1")
        (root / "bag-info.txt").write_text(text)
    elif kind == "tag":
        with open(root / "bag-info.txt", "a") as f:
            f.write("Contact-Phone: 555\n")
    elif kind == "manifest-entry":
        with open(root / "manifest-sha256.txt", "a") as f:
            f.write(f"{'0' * 64}  data/ghost.txt\n")
    elif kind == "swap":
        a, b = data / "report.txt", data / "sub" / "empty.txt"
        ta, tb = a.read_bytes(), b.read_bytes()
        a.write_bytes(tb)
        b.write_bytes(ta)
    elif kind == "none":
        pass
    return root


@pytest.mark.parametrize("kind", ["none", "checksum", "missing", "extra", "oxum", "tag",
                                  "manifest-entry", "swap"])
def test_same_verdict_as_bagit(tmp_path, check, kind):
    root = _source(tmp_path)
    bagit.make_bag(str(root), {"Source-Organization": "Test"}, checksums=["sha256"])
    _break(kind, root)
    theirs = bagit.Bag(str(root)).is_valid()
    ours = check(root)
    assert ours.valid == theirs, ours.problems
    if kind != "none":
        assert errors(ours)


@pytest.mark.parametrize("kind", ["checksum", "missing", "extra", "oxum"])
def test_same_verdict_as_bagit_fast_and_completeness(tmp_path, check, kind):
    root = _source(tmp_path)
    bagit.make_bag(str(root), checksums=["sha256"])
    _break(kind, root)
    for mode, kw in (("fast", {"fast": True}), ("completeness", {"completeness_only": True})):
        try:
            bagit.Bag(str(root)).validate(**kw)
            theirs = True
        except bagit.BagValidationError:
            theirs = False
        assert check(root, mode=mode).valid == theirs, (mode, kind)


def test_conflicting_entries_are_a_problem_not_an_exception(tmp_path, check):
    """bagit refuses to open such a bag (BagError); we report the rule broken, with the path."""
    root = _source(tmp_path)
    bagit.make_bag(str(root), checksums=["sha256"])
    lines = (root / "manifest-sha256.txt").read_text().splitlines(keepends=True)
    first_path = lines[0].split(None, 1)[1]
    with open(root / "manifest-sha256.txt", "a") as f:
        f.write(f"{'1' * 64}  {first_path}")
    with pytest.raises(bagit.BagError):
        bagit.Bag(str(root))
    ours = check(root)
    assert ("BAGIT-MANIFEST-CONFLICTING-ENTRY", first_path.strip()) in errors(ours)


def _loc_0_97_label_whitespace_bag(tmp_path, version: bytes):
    """As the LoC conformance suite's 0.97 bag whose bag-info labels have whitespace before the
    colon (`Test-Tag : 3`, `Test-Tag    :   5`)."""
    from bagmaker import make_bag, refresh_tag_manifests
    bag = make_bag(tmp_path / "bag", declaration=b"BagIt-Version: " + version +
                   b"\nTag-File-Character-Encoding: UTF-8\n")
    info = bag / "bag-info.txt"
    info.write_bytes(info.read_bytes() + b"Test-Tag : 3\nTest-Tag    :   5\n")
    refresh_tag_manifests(bag)
    return bag


def test_label_whitespace_is_valid_in_0_97_as_bagit_python_says(tmp_path, check):
    bag = _loc_0_97_label_whitespace_bag(tmp_path, b"0.97")
    bagit.Bag(str(bag)).validate()  # raises if bagit-python calls it invalid
    report = check(bag)
    assert report.valid, report.problems
    assert {(p.code, p.path, p.severity) for p in report.problems} == {
        ("BAGIT-TAGFILE-LABEL-WHITESPACE", "bag-info.txt", "warning")}
    assert report.version == "0.97"


def test_label_whitespace_is_an_error_in_1_0(tmp_path, check):
    bag = _loc_0_97_label_whitespace_bag(tmp_path, b"1.0")
    report = check(bag)
    assert not report.valid
    assert ("BAGIT-TAGFILE-LABEL-WHITESPACE", "bag-info.txt") in errors(report)
