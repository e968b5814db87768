"""A line longer than any line of its format can be is reported and read past, never held:
memory stays bounded whatever a manifest or tag file holds (one line of 100 MB, say)."""
import hashlib
import sys

import pytest

from archiver.bagit import rules
from archiver.bagit.rules import MAX_MANIFEST_LINE, parse_manifest, parse_tag_file, read_lines

from memory import peak_rss

D = hashlib.sha256(b"x").hexdigest()


def _by_lines(path):
    lines = ([line] for line in read_lines(str(path), "utf-8", MAX_MANIFEST_LINE))
    return rules._parse_manifest(lines, "manifest-sha256.txt", "sha256", "utf-8", 64, whole_blocks=False)


@pytest.mark.parametrize("long_size,ending", [
    (3 * MAX_MANIFEST_LINE, "\n"), (MAX_MANIFEST_LINE + 1, "\n"), (5 * MAX_MANIFEST_LINE + 7, ""),
    (MAX_MANIFEST_LINE + 10, "\r\n")])
def test_an_over_long_manifest_line_is_reported_and_the_others_read(tmp_path, long_size, ending):
    manifest = tmp_path / "manifest-sha256.txt"
    long_line = f"{D}  data/" + "x" * (long_size - len(D) - 7)
    lines = [f"{D}  data/first.txt", long_line, f"{D}  data/after.txt"]
    if not ending:  # the long line last, no line end after it
        lines = [lines[0], lines[2], long_line]
    manifest.write_text((ending or "\n").join(lines) + ending, encoding="utf-8", newline="")
    entries, problems = parse_manifest(str(manifest), manifest.name, "sha256", "utf-8", 64)
    assert sorted(entries.entries) == ["data/after.txt", "data/first.txt"]
    (found,) = problems
    number = 2 if ending else 3
    assert found.code == "BAGIT-MANIFEST-LINE-MALFORMED" and f"line {number} is {long_size:,} characters" in found.message
    by_lines = _by_lines(manifest)
    assert by_lines[0].entries == entries.entries and by_lines[1] == problems


def test_a_line_at_the_limit_is_read(tmp_path):
    manifest = tmp_path / "manifest-sha256.txt"
    path = "data/" + "y" * (MAX_MANIFEST_LINE - len(D) - 7)
    manifest.write_text(f"{D}  {path}\n{D}  data/b.txt\n", encoding="utf-8")
    entries, problems = parse_manifest(str(manifest), manifest.name, "sha256", "utf-8", 64)
    assert not problems and sorted(entries.entries) == sorted([path, "data/b.txt"])


def test_an_over_long_tag_line_is_reported_and_the_others_read(tmp_path):
    info = tmp_path / "bag-info.txt"
    info.write_text("Source-Organization: A\nExternal-Description: " + "z" * (rules.MAX_TAG_LINE + 5)
                    + "\nContact-Name: B\n", encoding="utf-8")
    pairs, problems = parse_tag_file(str(info), "bag-info.txt", "utf-8")
    assert pairs == [("Source-Organization", "A"), ("Contact-Name", "B")]
    assert [p.code for p in problems] == ["BAGIT-TAGFILE-LINE-MALFORMED"] and "line 2" in problems[0].message


def test_validating_a_manifest_line_of_100_mb_stays_small(tmp_path):
    bag = tmp_path / "bag"
    (bag / "data").mkdir(parents=True)
    (bag / "data" / "a.txt").write_bytes(b"x")
    (bag / "bagit.txt").write_text("BagIt-Version: 1.0\nTag-File-Character-Encoding: UTF-8\n")
    with open(bag / "manifest-sha256.txt", "w", encoding="utf-8") as f:
        f.write(f"{D}  data/a.txt\n{D}  data/")
        for _ in range(100):
            f.write("x" * 1_000_000)
        f.write("\n")
    done, peak = peak_rss([sys.executable, "-m", "archiver", "validate", "--jobs", "1", str(bag)])
    assert done.returncode == 1, done.stderr
    assert "BAGIT-MANIFEST-LINE-MALFORMED" in done.stdout and "100,000," in done.stdout
    assert len(done.stdout) + len(done.stderr) < 10_000  # the line is not printed
    assert peak < 120_000_000, peak


@pytest.mark.parametrize("newline", ["\n", "\r\n", "\r"])
def test_an_undecodable_byte_is_named_at_its_own_line(tmp_path, newline):
    """A text reader fails a whole buffer at once, often lines before the bad byte: the
    problem names the line the byte is on."""
    info = tmp_path / "bag-info.txt"
    good = [f"Label-{i}: value {i}" for i in range(1, 300)]
    info.write_bytes(newline.join(good).encode() + newline.encode() + b"Contact-Name: Jos\xe9" + newline.encode())
    _, problems = parse_tag_file(str(info), "bag-info.txt", "utf-8")
    assert [p.code for p in problems] == ["BAGIT-TAGFILE-UNREADABLE"]
    assert "at line 300:" in problems[0].message, problems[0].message

    manifest = tmp_path / "manifest-sha256.txt"
    lines = [f"{D}  data/f{i}.txt".encode() for i in range(1, 1000)]
    lines.insert(499, f"{D}  data/caf".encode() + b"\xe9.txt")
    manifest.write_bytes(newline.encode().join(lines) + newline.encode())
    _, problems = parse_manifest(str(manifest), manifest.name, "sha256", "utf-8", 64)
    assert [p.code for p in problems] == ["BAGIT-MANIFEST-UNREADABLE"]
    assert "at line 500:" in problems[0].message, problems[0].message
