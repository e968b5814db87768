"""Serialized bags: zip, tar, tar.gz validated after a checked extraction; hostile archives refused."""
from __future__ import annotations

import io
import json
import os
import random
import shutil
import subprocess
import sys
import tarfile
import zipfile

import pytest

from bagmaker import errors, found, make_bag
from memory import peak_rss, zeros_gzip
from tardamage import CODE, HOW, damaged, gzipped, tar_of, with_duplicate


def _tar(bag, out, mode="w", arcname=None):
    with tarfile.open(out, mode) as tf:
        tf.add(bag, arcname=arcname or bag.name)
    return out


def _zip(bag, out, arcname=None):
    with zipfile.ZipFile(out, "w") as zf:
        for dirpath, _, files in os.walk(bag):
            for name in files:
                full = os.path.join(dirpath, name)
                rel = os.path.relpath(full, bag.parent)
                if arcname:
                    rel = arcname + rel[len(bag.name):]
                zf.write(full, rel)
    return out


@pytest.mark.parametrize("suffix, mime", [(".zip", "application/zip"), (".tar", "application/tar"),
                                          (".tar.gz", "application/gzip"), (".tgz", "application/gzip")])
def test_serialized_bags_validate(tmp_path, check, suffix, mime):
    bag = make_bag(tmp_path / "bag")
    out = tmp_path / f"bag{suffix}"
    if suffix == ".zip":
        _zip(bag, out)
    else:
        _tar(bag, out, "w:gz" if "gz" in suffix else "w")
    report = check(out)
    assert report.valid, report.problems
    assert report.serialization == mime and report.payload_files == 2
    assert report.path == str(out)


def test_invalid_bag_inside_archive(tmp_path, check):
    bag = make_bag(tmp_path / "bag")
    (bag / "data" / "a.txt").write_bytes(b"ALPHA\n")
    assert errors(check(_tar(bag, tmp_path / "bag.tar"))) == {("BAGIT-CHECKSUM-MISMATCH", "data/a.txt")}


def test_extraction_is_removed_afterwards(tmp_path, check, monkeypatch):
    import tempfile
    monkeypatch.setattr(tempfile, "tempdir", str(tmp_path / "tmp"))
    (tmp_path / "tmp").mkdir()
    check(_zip(make_bag(tmp_path / "bag"), tmp_path / "bag.zip"))
    assert list((tmp_path / "tmp").iterdir()) == []


def test_two_top_level_directories(tmp_path, check):
    one, two = make_bag(tmp_path / "one"), make_bag(tmp_path / "two")
    out = tmp_path / "two-bags.tar"
    with tarfile.open(out, "w") as tf:
        tf.add(one, arcname="one")
        tf.add(two, arcname="two")
    assert errors(check(out)) == {("ARCHIVE-TOP-LEVEL", "")}


def test_bag_at_archive_root_without_directory(tmp_path, check):
    bag = make_bag(tmp_path / "bag")
    out = tmp_path / "flat.zip"
    with zipfile.ZipFile(out, "w") as zf:
        for dirpath, _, files in os.walk(bag):
            for name in files:
                full = os.path.join(dirpath, name)
                zf.write(full, os.path.relpath(full, bag))
    assert ("ARCHIVE-TOP-LEVEL", "") in errors(check(out))


def _hostile_tar(tmp_path, *members):
    """A tar holding a valid bag plus `members` (TarInfo, bytes|None)."""
    bag = make_bag(tmp_path / "bag")
    out = tmp_path / "hostile.tar"
    with tarfile.open(out, "w") as tf:
        tf.add(bag, arcname="bag")
        for info, data in members:
            tf.addfile(info, io.BytesIO(data) if data is not None else None)
    return out


def _member(name, data=b"x", type_=tarfile.REGTYPE, link=""):
    info = tarfile.TarInfo(name)
    info.type = type_
    info.linkname = link
    info.size = len(data) if type_ == tarfile.REGTYPE else 0
    return info, data if type_ == tarfile.REGTYPE else None


@pytest.mark.parametrize("member, code", [
    (_member("bag/../../escaped.txt"), "ARCHIVE-UNSAFE-MEMBER"),
    (_member("/tmp/archiver-absolute.txt"), "ARCHIVE-UNSAFE-MEMBER"),
    (_member("bag/data/evil", type_=tarfile.SYMTYPE, link="/etc/passwd"), "ARCHIVE-LINK-OUTSIDE"),
    (_member("bag/data/evil", type_=tarfile.SYMTYPE, link="../../../escaped"), "ARCHIVE-LINK-OUTSIDE"),
    (_member("bag/data/hard", type_=tarfile.LNKTYPE, link="../escaped"), "ARCHIVE-LINK-OUTSIDE"),
    (_member("bag/data/dev", type_=tarfile.CHRTYPE), "ARCHIVE-SPECIAL-MEMBER"),
    (_member("bag/data/fifo", type_=tarfile.FIFOTYPE), "ARCHIVE-SPECIAL-MEMBER"),
])
def test_hostile_members_refuse_the_whole_archive(tmp_path, check, member, code):
    out = _hostile_tar(tmp_path, member)
    report = check(out)
    assert code in {c for c, _ in errors(report)}
    assert report.payload_files == 0  # nothing was extracted, so nothing was validated
    assert not (tmp_path / "escaped.txt").exists() and not (tmp_path.parent / "escaped.txt").exists()
    assert not os.path.exists("/tmp/archiver-absolute.txt")


def test_member_beneath_a_link_is_refused(tmp_path, check):
    out = _hostile_tar(tmp_path, _member("bag/data/dir", type_=tarfile.SYMTYPE, link="sub"),
                       _member("bag/data/dir/planted.txt"))
    assert ("ARCHIVE-LINK-OUTSIDE", "bag/data/dir/planted.txt") in errors(check(out))


def test_zip_slip_member(tmp_path, check):
    out = _zip(make_bag(tmp_path / "bag"), tmp_path / "slip.zip")
    with zipfile.ZipFile(out, "a") as zf:
        zf.writestr("bag/../../zip-slip.txt", b"gotcha")
    report = check(out)
    assert ("ARCHIVE-UNSAFE-MEMBER", "bag/../../zip-slip.txt") in errors(report)
    assert not (tmp_path.parent / "zip-slip.txt").exists()


def test_zip_symlink_pointing_out(tmp_path, check):
    out = _zip(make_bag(tmp_path / "bag"), tmp_path / "link.zip")
    with zipfile.ZipFile(out, "a") as zf:
        info = zipfile.ZipInfo("bag/data/link")
        info.external_attr = (0o120777 << 16)
        zf.writestr(info, "/etc/passwd")
    assert ("ARCHIVE-LINK-OUTSIDE", "bag/data/link") in errors(check(out))


def test_symlink_inside_tar_is_allowed(tmp_path, check):
    bag = make_bag(tmp_path / "bag", {"data/a.txt": b"alpha\n", "data/alias.txt": b"alpha\n"})
    (bag / "data" / "alias.txt").unlink()
    os.symlink("a.txt", bag / "data" / "alias.txt")
    assert check(_tar(bag, tmp_path / "bag.tar")).valid


@pytest.mark.parametrize("content", [b"not an archive at all", b"PK\x03\x04broken zip", b""])
def test_corrupt_archive(tmp_path, check, content):
    out = tmp_path / "broken.zip"
    out.write_bytes(content)
    report = check(out)
    assert ("ARCHIVE-UNREADABLE", "") in errors(report)


def test_truncated_tar_gz(tmp_path, check):
    out = _tar(make_bag(tmp_path / "bag", {"data/a.bin": os.urandom(200_000)}), tmp_path / "bag.tar.gz", "w:gz")
    out.write_bytes(out.read_bytes()[:5000])
    assert errors(check(out)) == {("ARCHIVE-TRUNCATED", "")}


def test_plain_file_is_not_a_bag(tmp_path, check):
    (tmp_path / "notes.txt").write_text("hello")
    report = check(tmp_path / "notes.txt")
    assert found(report) == {("VALIDATE-NOT-A-BAG", str(tmp_path / "notes.txt"))}
    assert not report.readable


# -- damaged, cut-short and ambiguous archives (tardamage.py) ---------------------------------------
@pytest.mark.parametrize("gz", [False, True])
@pytest.mark.parametrize("how", HOW)
def test_a_damaged_or_cut_short_tar_is_never_valid(tmp_path, check, how, gz):
    """The damage falls on the last member (the tag manifest): what comes before is a whole
    bag, which tarfile alone would call valid."""
    data, at = damaged(tar_of(make_bag(tmp_path / "bag"), tmp_path / "bag.tar"), how)
    out = tmp_path / ("copy.tar.gz" if gz else "copy.tar")
    out.write_bytes(gzipped(data) if gz else data)
    report = check(out)
    assert errors(report) == {(CODE[how], "")}
    assert not report.valid and report.payload_files == 0
    message = report.errors[0].message
    assert message.startswith(out.name) and "byte " in message


@pytest.mark.parametrize("where", [0.3, 0.5, 0.7, 0.9])
def test_a_tgz_damaged_mid_stream_says_it_is_damaged(tmp_path, check, where):
    noise = random.Random(where)  # incompressible, so each fraction of the tgz is inside the members
    bag = make_bag(tmp_path / "bag", {f"data/{i}.txt": noise.randbytes(3000) for i in range(8)})
    out = tmp_path / "bag.tgz"
    data = bytearray(gzipped(tar_of(bag, tmp_path / "bag.tar").read_bytes()))
    middle = int(len(data) * where)
    data[middle:middle + 64] = bytes(64)
    out.write_bytes(bytes(data))
    report = check(out)
    assert {c for c, _ in errors(report)} in ({"ARCHIVE-DAMAGED"}, {"ARCHIVE-TRUNCATED"})
    assert not report.valid


def test_a_gzip_crc_that_fails_is_damage(tmp_path, check):
    data = bytearray(gzipped(tar_of(make_bag(tmp_path / "bag"), tmp_path / "bag.tar").read_bytes()))
    data[-8] ^= 0xFF  # the CRC-32 of the gzip trailer; every tar block intact
    (tmp_path / "bag.tar.gz").write_bytes(bytes(data))
    assert errors(check(tmp_path / "bag.tar.gz")) == {("ARCHIVE-DAMAGED", "")}


@pytest.mark.skipif(shutil.which("tar") is None, reason="GNU tar is not installed")
@pytest.mark.parametrize("flags, suffix", [("-cf", ".tar"), ("-czf", ".tar.gz"),
                                          ("--format=posix -cf", ".tar")])
def test_archives_gnu_tar_makes_are_valid(tmp_path, check, flags, suffix):
    make_bag(tmp_path / "bag")
    out = tmp_path / f"gnu{suffix}"
    subprocess.run(["tar", *flags.split(), str(out), "-C", str(tmp_path), "bag"], check=True)
    assert check(out).valid


def test_a_tail_of_zeros_past_the_expansion_limit_is_refused_in_bounded_memory(tmp_path):
    """A tgz of a small bag, then 1.1 GiB of zeros (1 MB on disk): read on to find the gzip
    trailer, but not past the compression-bomb limit."""
    tar = tar_of(make_bag(tmp_path / "bag"), tmp_path / "bag.tar").read_bytes()
    out = tmp_path / "bag.tar.gz"
    zeros_gzip(out, (1 << 30) + (100 << 20), prefix=tar, level=9)
    done, peak = peak_rss([sys.executable, "-m", "archiver", "validate", "--json", str(out)])
    problems = [p for r in json.loads(done.stdout)["reports"] for p in r["problems"]]
    assert {p["code"] for p in problems} == {"ARCHIVE-TOO-LARGE"}, problems
    assert peak < 200 << 20


@pytest.mark.parametrize("fmt, prefix", [("tar", ""), ("tar", "./"), ("zip", "")])
def test_two_members_of_one_name_are_refused(tmp_path, check, fmt, prefix):
    bag = make_bag(tmp_path / "bag")
    out = with_duplicate(bag, tmp_path / f"two-versions.{fmt}", "data/a.txt", b"FORGED\n", fmt, prefix)
    report = check(out)
    assert errors(report) == {("ARCHIVE-DUPLICATE-MEMBER", "bag/data/a.txt")}
    assert not any("archiver-validate-" in p.message for p in report.problems)


def test_a_directory_listed_twice_is_one_directory(tmp_path, check):
    bag = make_bag(tmp_path / "bag")
    out = tmp_path / "bag.tar"
    with tarfile.open(out, "w") as tf:
        tf.add(bag / "data", "bag/data", recursive=False)
        tf.add(bag, "bag")
    assert check(out).valid


def test_a_member_that_cannot_be_unpacked_is_named_not_the_temporary_folder(tmp_path, check):
    out = _zip(make_bag(tmp_path / "bag"), tmp_path / "bag.zip")
    with zipfile.ZipFile(out, "a") as zf:
        zf.writestr("bag/data/a.txt/inside", b"a file beneath a file")
    report = check(out)
    assert {c for c, _ in errors(report)} == {"ARCHIVE-UNREADABLE"}
    assert {p for _, p in errors(report)} <= {"bag/data/a.txt", "bag/data/a.txt/inside"}
    assert not any("archiver-validate-" in p.message for p in report.problems)
