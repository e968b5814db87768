"""Finding a bag in a zip a repository gives back, and judging it against the package
(archiver/deposit/zipped_bag.py): the ways servers re-package, and the damage they may do."""
from __future__ import annotations

import io
import unicodedata
import zipfile

from archiver.deposit.receipt import changed_by_recording
from archiver.deposit.zipped_bag import (DIFFERENT, NOT_FOUND, SAME, compare_zip, package_files,
                                         write_zip)


def zip_of(entries: dict[str, bytes]) -> io.BytesIO:
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as zf:
        for name, data in entries.items():
            zf.writestr(name, data)
    out.seek(0)
    return out


def bag_entries(bag, prefix: str) -> dict[str, bytes]:
    return {prefix + p.relative_to(bag).as_posix(): p.read_bytes()
            for p in sorted(bag.rglob("*")) if p.is_file()}


def test_the_zip_sent_holds_the_bag_and_says_what_it_holds(bag_factory, tmp_path):
    bag = bag_factory("rpt-z", payload={"report.txt": b"text\n", "a/b.bin": bytes(300)})
    with open(tmp_path / "sent.zip", "wb") as out:
        files = write_zip(bag, out)
    assert files == package_files(bag)
    found = compare_zip(tmp_path / "sent.zip", files, "rpt-z")
    assert (found.outcome, found.where) == (SAME, "rpt-z/")
    assert zipfile.ZipFile(tmp_path / "sent.zip").namelist()[0].startswith("rpt-z/")


def test_a_bag_unpacked_at_the_top_or_wrapped_in_another_zip_is_found(bag_factory):
    bag = bag_factory("rpt-w")
    files = package_files(bag)
    top = compare_zip(zip_of(bag_entries(bag, "")), files, "rpt-w")
    assert (top.outcome, top.where) == (SAME, "(top level)")
    inner = zip_of(bag_entries(bag, "rpt-w/")).getvalue()
    wrapped = compare_zip(zip_of({"rpt-w.zip": inner, "sword-metadata.xml": b"<x/>"}), files, "rpt-w")
    assert (wrapped.outcome, wrapped.where) == (SAME, "rpt-w.zip > rpt-w/")


def test_names_in_another_unicode_normal_form_are_the_same_files(bag_factory):
    bag = bag_factory("rpt-u", payload={"caf\u00e9.txt": b"x\n"})
    entries = {unicodedata.normalize("NFD", k): v for k, v in bag_entries(bag, "rpt-u/").items()}
    assert compare_zip(zip_of(entries), package_files(bag), "rpt-u").outcome == SAME


def test_a_changed_missing_or_added_payload_file_is_a_difference(bag_factory):
    bag = bag_factory("rpt-d", payload={"report.txt": b"original\n"})
    files = package_files(bag)
    changed = bag_entries(bag, "rpt-d/") | {"rpt-d/data/report.txt": b"altered!\n"}
    found = compare_zip(zip_of(changed), files, "rpt-d")
    assert found.outcome == DIFFERENT and "data/report.txt" in found.detail
    missing = bag_entries(bag, "rpt-d/")
    del missing["rpt-d/bag-info.txt"]
    found = compare_zip(zip_of(missing), files, "rpt-d")
    assert found.outcome == DIFFERENT and "1 missing: bag-info.txt" in found.detail
    added = bag_entries(bag, "rpt-d/") | {"rpt-d/data/extra.txt": b"?"}
    found = compare_zip(zip_of(added), files, "rpt-d")
    assert found.outcome == DIFFERENT and "data/extra.txt" in found.detail
    # a tag file of the server's own beside ours is noted, not a difference
    tagged = bag_entries(bag, "rpt-d/") | {"rpt-d/server-note.txt": b"ingested"}
    found = compare_zip(zip_of(tagged), files, "rpt-d")
    assert found.outcome == SAME and "server-note.txt" in found.detail


def test_corrupt_compressed_data_is_a_difference(bag_factory):
    bag = bag_factory("rpt-c", payload={"report.txt": b"A" * 20000})
    raw = bytearray(zip_of(bag_entries(bag, "rpt-c/")).getvalue())
    info = zipfile.ZipFile(io.BytesIO(bytes(raw))).getinfo("rpt-c/data/report.txt")
    start = info.header_offset + 30 + len(info.filename.encode()) + len(info.extra)
    raw[start + info.compress_size // 2] ^= 0xFF
    found = compare_zip(io.BytesIO(bytes(raw)), package_files(bag), "rpt-c")
    assert found.outcome == DIFFERENT and "data/report.txt" in found.detail


def test_no_bag_or_no_zip_is_not_found(bag_factory):
    files = package_files(bag_factory("rpt-n"))
    assert compare_zip(zip_of({"mets.xml": b"<mets/>"}), files, "rpt-n").outcome == NOT_FOUND
    assert compare_zip(io.BytesIO(b"not a zip at all"), files, "rpt-n").outcome == NOT_FOUND


def test_what_recording_a_deposit_changes_can_be_left_out(bag_factory, revalidate):
    bag = bag_factory("rpt-r")
    before = bag_entries(bag, "rpt-r/")
    revalidate(bag)  # premis.xml and the tag manifests change, as recording a deposit does
    now = package_files(bag, skip=changed_by_recording)
    assert "metadata/premis.xml" not in now
    assert compare_zip(zip_of(before), now, "rpt-r", changed_by_recording).outcome == SAME
    assert compare_zip(zip_of(before), package_files(bag), "rpt-r").outcome == DIFFERENT
