"""Hostile and awkward paths: escapes refused without reading, links, special files, Unicode,
fetch.txt (holey bags), and the three modes."""
from __future__ import annotations

import importlib
import os
import unicodedata

import pytest

from bagmaker import digest, errors, found, make_bag, refresh_tag_manifests

A, B = b"alpha\n", b"bravo\n"


@pytest.fixture
def opened(monkeypatch):
    """Every path the validator hands to the hasher."""
    v = importlib.import_module("archiver.validate.checksums")
    seen: list[str] = []
    real = v.hash_stream

    def spy(algorithms, **kw):
        job = real(algorithms, **kw)
        add = job.add
        job.add = lambda path, size: (seen.append(path), add(path, size))[1]
        return job
    monkeypatch.setattr(v, "hash_stream", spy)
    return seen


def _inside(paths, bag):
    root = os.path.realpath(bag) + os.sep
    return all(os.path.realpath(p).startswith(root) for p in paths)


@pytest.mark.parametrize("listed, reason", [
    ("../secret.txt", "'..'"),
    ("data/../../secret.txt", "'..'"),
    ("/etc/passwd", "absolute"),
    ("~/secret.txt", "'~'"),
    ("C:/secret.txt", "drive letter"),
    ("c:secret.txt", "drive letter"),
    ("\\\\server\\share\\secret.txt", "UNC"),
    ("data\\..\\..\\secret.txt", "'..'"),
])
def test_escaping_manifest_paths_are_refused_unread(tmp_path, check, opened, listed, reason):
    secret = b"outside the bag\n"
    (tmp_path / "secret.txt").write_bytes(secret)
    bag = make_bag(tmp_path / "bag")
    (bag / "manifest-sha256.txt").open("a").write(f"{digest(secret)}  {listed}\n")
    refresh_tag_manifests(bag)
    report = check(bag)
    unsafe = [p for p in report.problems if p.code == "BAGIT-PATH-UNSAFE"]
    assert [(p.path, p.severity) for p in unsafe] == [(listed, "error")]
    assert reason in unsafe[0].message
    assert opened and _inside(opened, bag)


def test_escaping_tag_manifest_path(tmp_path, check, opened):
    (tmp_path / "secret.txt").write_bytes(b"s")
    bag = make_bag(tmp_path / "bag")
    (bag / "tagmanifest-sha256.txt").open("a").write(f"{digest(b's')}  ../secret.txt\n")
    assert ("BAGIT-PATH-UNSAFE", "../secret.txt") in errors(check(bag))
    assert _inside(opened, bag)


def test_symlink_pointing_outside_is_not_read(tmp_path, check, opened):
    (tmp_path / "secret.txt").write_bytes(b"secret")
    bag = make_bag(tmp_path / "bag", {"data/a.txt": A, "data/link.txt": b"secret"})
    (bag / "data" / "link.txt").unlink()
    os.symlink(tmp_path / "secret.txt", bag / "data" / "link.txt")
    report = check(bag)
    assert ("BAGIT-SYMLINK-OUTSIDE", "data/link.txt") in errors(report)
    assert ("BAGIT-MANIFEST-MISSING-FILE", "data/link.txt") not in found(report)
    assert _inside(opened, bag)


def test_relative_symlink_escaping_through_dotdot(tmp_path, check, opened):
    (tmp_path / "secret.txt").write_bytes(b"secret")
    bag = make_bag(tmp_path / "bag", {"data/a.txt": A})
    os.symlink("../../secret.txt", bag / "data" / "sneaky.txt")
    assert ("BAGIT-SYMLINK-OUTSIDE", "data/sneaky.txt") in errors(check(bag))
    assert _inside(opened, bag)


def test_broken_symlink(bag, check):
    os.symlink("nowhere.txt", bag / "data" / "broken.txt")
    assert ("BAGIT-SYMLINK-BROKEN", "data/broken.txt") in errors(check(bag))


def test_symlink_to_directory_is_not_followed(bag, check):
    os.symlink("sub", bag / "data" / "loop")
    report = check(bag)
    assert report.valid and found(report) == {("BAGIT-SYMLINK-DIRECTORY", "data/loop")}


def test_symlink_inside_the_bag_is_verified(tmp_path, check):
    bag = make_bag(tmp_path / "bag", {"data/a.txt": A, "data/alias.txt": A})
    (bag / "data" / "alias.txt").unlink()
    os.symlink("a.txt", bag / "data" / "alias.txt")
    assert check(bag).problems == []


def test_fifo_is_reported_and_never_opened(bag, check):
    os.mkfifo(bag / "data" / "pipe")
    report = check(bag)  # would hang if the FIFO were opened
    assert ("BAGIT-PAYLOAD-SPECIAL-FILE", "data/pipe") in errors(report)


def test_unreadable_file(bag, check):
    if os.geteuid() == 0:
        pytest.skip("root reads everything")
    (bag / "data" / "a.txt").chmod(0)
    try:
        assert ("BAGIT-FILE-UNREADABLE", "data/a.txt") in errors(check(bag))
    finally:
        (bag / "data" / "a.txt").chmod(0o644)


def test_nfd_name_on_disk_matches_nfc_manifest(tmp_path, check):
    nfc = "data/caf\u00e9.txt"
    bag = make_bag(tmp_path / "bag", {nfc: A})
    os.rename(bag / nfc, bag / unicodedata.normalize("NFD", nfc))
    report = check(bag)
    assert report.valid
    assert found(report) == {("BAGIT-UNICODE-NORMALIZATION", nfc)}


def test_normalization_match_still_verifies_checksums(tmp_path, check):
    nfc = "data/caf\u00e9.txt"
    bag = make_bag(tmp_path / "bag", {nfc: A})
    os.remove(bag / nfc)
    (bag / unicodedata.normalize("NFD", nfc)).write_bytes(b"ALPHA\n")
    assert ("BAGIT-CHECKSUM-MISMATCH", nfc) in errors(check(bag))


def test_case_collision_is_a_warning(tmp_path, check):
    report = check(make_bag(tmp_path / "bag", {"data/Report.txt": A, "data/report.txt": B}))
    assert report.valid and found(report) == {("BAGIT-PATH-CASE-COLLISION", "data/report.txt")}


def test_backslash_in_manifest_path(tmp_path, check):
    bag = make_bag(tmp_path / "bag", {"data/a\\b.txt": A})
    report = check(bag)
    assert report.valid and found(report) == {("BAGIT-PATH-BACKSLASH", "data/a\\b.txt")}


def test_odd_but_legal_names(tmp_path, check):
    payload = {"data/ space .txt": A, "data/tab\there.txt": B, "data/日本語/ファイル.txt": b"x",
               "data/#hash?&.txt": b"y", "data/.hidden": b"z"}
    assert check(make_bag(tmp_path / "bag", payload)).problems == []


# -- fetch.txt ---------------------------------------------------------------------------------------
def _holey(tmp_path, fetch_lines: str, remove=("data/remote.bin",)):
    payload = {"data/a.txt": A, "data/remote.bin": b"0123456789"}
    bag = make_bag(tmp_path / "bag", payload, tag_files={"fetch.txt": fetch_lines.encode()})
    for rel in remove:
        (bag / rel).unlink()
    return bag


def test_holey_bag_is_incomplete_and_nothing_fetched(tmp_path, check, monkeypatch):
    """RFC 8493 section 3: a bag is complete only when every file listed is present, and a
    holey bag's files are still to be fetched (bagit-python agrees)."""
    import urllib.request

    def no_network(*a, **k):
        raise AssertionError("fetch.txt URLs must not be followed")
    monkeypatch.setattr(urllib.request, "urlopen", no_network)
    bag = _holey(tmp_path, "https://example.org/remote.bin 10 data/remote.bin\n")
    report = check(bag)
    assert not report.valid
    assert found(report) == {("BAGIT-FETCH-FILE-ABSENT", "data/remote.bin")}


def test_fetched_file_present_is_verified(tmp_path, check):
    bag = _holey(tmp_path, "https://example.org/remote.bin 10 data/remote.bin\n", remove=())
    assert check(bag).problems == []


@pytest.mark.parametrize("line, code, path", [
    ("https://example.org/x 5 bag-info.txt\n", "BAGIT-FETCH-TAG-FILE", "bag-info.txt"),
    ("https://example.org/x 5 data/other.bin\n", "BAGIT-FETCH-NOT-IN-MANIFEST", "data/other.bin"),
    ("remote.bin 10 data/remote.bin\n", "BAGIT-FETCH-BAD-URL", "fetch.txt"),
    ("https://example.org/x ten data/remote.bin\n", "BAGIT-FETCH-LINE-MALFORMED", "fetch.txt"),
    ("https://example.org/x 10\n", "BAGIT-FETCH-LINE-MALFORMED", "fetch.txt"),
    ("https://example.org/x 10 ../../etc/passwd\n", "BAGIT-PATH-UNSAFE", "../../etc/passwd"),
])
def test_fetch_errors(tmp_path, check, line, code, path):
    bag = _holey(tmp_path, "https://example.org/remote.bin 10 data/remote.bin\n" + line, remove=())
    assert (code, path) in errors(check(bag))


def test_holey_oxum_counts_files_yet_to_fetch(tmp_path, check):
    bag = _holey(tmp_path, "https://example.org/remote.bin 11 data/remote.bin\n")
    assert ("BAGIT-OXUM-MISMATCH", "bag-info.txt") in errors(check(bag))


# -- modes ---------------------------------------------------------------------------------------------
def test_fast_mode_checks_oxum_not_checksums(bag, check, opened):
    (bag / "data" / "a.txt").write_bytes(b"ALPHA\n")
    report = check(bag, mode="fast")
    assert report.valid and report.checked == ["structure", "completeness", "payload-oxum"]
    assert not [p for p in opened if "/data/" in p]
    (bag / "data" / "a.txt").write_bytes(b"ALPHA!\n")
    assert errors(check(bag, mode="fast")) == {("BAGIT-OXUM-MISMATCH", "bag-info.txt")}


def test_fast_mode_says_when_there_is_no_oxum(tmp_path, check):
    report = check(make_bag(tmp_path / "bag", oxum=False), mode="fast")
    assert report.valid and found(report) == {("BAGIT-OXUM-ABSENT", "bag-info.txt")}
    assert "payload-oxum" not in report.checked


def test_completeness_mode(bag, check):
    (bag / "data" / "a.txt").write_bytes(b"ALPHA\n")
    assert check(bag, mode="completeness").valid
    (bag / "data" / "sub" / "b.txt").unlink()
    assert ("BAGIT-MANIFEST-MISSING-FILE", "data/sub/b.txt") in errors(check(bag, mode="completeness"))


def test_unknown_mode_is_a_usage_error(bag, check):
    with pytest.raises(ValueError):
        check(bag, mode="quick")


def test_parallel_hashing_gives_the_same_verdict(tmp_path):
    from archiver.validate import validate_bag
    payload = {f"data/f{i:04d}.txt": f"file {i}\n".encode() for i in range(600)}
    payload["data/big.bin"] = b"\0" * (5 << 20)
    bag = make_bag(tmp_path / "bag", payload)
    (bag / "data" / "f0042.txt").write_bytes(b"file 4X\n")
    (bag / "data" / "big.bin").write_bytes(b"\1" * (5 << 20))
    report = validate_bag(bag, jobs=2)
    assert errors(report) == {("BAGIT-CHECKSUM-MISMATCH", "data/f0042.txt"),
                              ("BAGIT-CHECKSUM-MISMATCH", "data/big.bin")}


def test_progress_reports_bytes(tmp_path, check):
    bag = make_bag(tmp_path / "bag", {f"data/{i}.txt": b"x" * 100 for i in range(5)})
    calls = []
    check(bag, progress=lambda done, total: calls.append((done, total)))
    assert calls[-1] == (500, 500) and len(calls) == 5


def test_declaration_symlinked_outside_is_not_read(tmp_path, check):
    (tmp_path / "outside.txt").write_bytes(b"BagIt-Version: 1.0\nTag-File-Character-Encoding: UTF-8\n")
    bag = make_bag(tmp_path / "bag")
    (bag / "bagit.txt").unlink()
    os.symlink(tmp_path / "outside.txt", bag / "bagit.txt")
    report = check(bag)
    assert {("BAGIT-SYMLINK-OUTSIDE", "bagit.txt"), ("BAGIT-DECLARATION-MALFORMED", "bagit.txt")} <= errors(report)


def test_payload_directory_symlinked_outside(tmp_path, check, opened):
    outside = tmp_path / "elsewhere"
    outside.mkdir()
    (outside / "a.txt").write_bytes(A)
    bag = make_bag(tmp_path / "bag", {"data/a.txt": A})
    (bag / "data" / "a.txt").unlink()
    (bag / "data").rmdir()
    os.symlink(outside, bag / "data")
    report = check(bag)
    assert {("BAGIT-SYMLINK-OUTSIDE", "data"), ("BAGIT-PAYLOAD-DIR-MISSING", "data")} <= errors(report)
    assert _inside(opened, bag)


@pytest.mark.parametrize("seed", range(12))
def test_junk_in_every_tag_file_never_raises(tmp_path, check, opened, seed):
    import random
    rng = random.Random(seed)
    bag = make_bag(tmp_path / "bag", tag_files={"fetch.txt": b"https://example.org/x 6 data/a.txt\n"})
    victims = ["bagit.txt", "bag-info.txt", "manifest-sha256.txt", "tagmanifest-sha256.txt", "fetch.txt"]
    for name in rng.sample(victims, rng.randint(1, len(victims))):
        junk = bytes(rng.choice(b"ab:% \t\r\n./\\~\x00\xff\xfe\xef\xbb\xbf0123456789abcdef")
                     for _ in range(rng.randint(0, 400)))
        (bag / name).write_bytes(junk)
    report = check(bag)
    assert "VALIDATE-INTERNAL-ERROR" not in {p.code for p in report.problems}, report.problems
    assert _inside(opened, bag)


@pytest.mark.parametrize("wrong", ["data/a.txt", "data/alias.txt"])
def test_each_name_of_a_linked_file_is_verified(tmp_path, check, wrong):
    """A link inside the bag and its target are one file on disk, listed under two names: each
    name's checksum is compared, whichever the manifest lists last."""
    bag = make_bag(tmp_path / "bag", {"data/a.txt": A, "data/alias.txt": A})
    (bag / "data" / "alias.txt").unlink()
    os.symlink("a.txt", bag / "data" / "alias.txt")
    manifest = bag / "manifest-sha256.txt"
    manifest.write_text(manifest.read_text().replace(f"{digest(A)}  {wrong}", f"{digest(B)}  {wrong}"))
    refresh_tag_manifests(bag)
    assert errors(check(bag)) >= {("BAGIT-CHECKSUM-MISMATCH", wrong)}
    assert errors(check(bag, jobs=2)) >= {("BAGIT-CHECKSUM-MISMATCH", wrong)}


@pytest.mark.parametrize("spelling", ["{bag}", "{bag}/", "{bag}//", "."])
def test_every_spelling_of_the_bag_path_opens_the_files_inside(tmp_path, check, opened, monkeypatch, spelling):
    bag = make_bag(tmp_path / "bag", {"data/a.txt": A, "data/sub/b.txt": B})
    monkeypatch.chdir(bag if spelling == "." else tmp_path)
    report = check(spelling.format(bag="bag"))
    assert report.problems == [] and report.payload_files == 2
    inside = sorted(os.path.relpath(os.path.realpath(p), bag) for p in opened)
    assert [p for p in inside if p.startswith("data/")] == ["data/a.txt", "data/sub/b.txt"]
    assert all(os.path.exists(p) for p in opened)  # as spelled: from where the walk started


def test_the_garbage_collector_is_back_on_after_a_bag(bag, check):
    import gc

    (bag / "data" / "a.txt").write_bytes(b"changed\n")
    assert gc.isenabled()
    assert errors(check(bag))
    assert gc.isenabled()
    gc.disable()  # and a caller that had it off keeps it off
    try:
        check(bag)
        assert not gc.isenabled()
    finally:
        gc.enable()
