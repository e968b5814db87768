"""parse_manifest reads plain blocks of lines at once; it must say exactly what reading the
manifest line by line says, whatever the lines hold and wherever the blocks are cut."""
import hashlib
import random

import pytest

from archiver.bagit import rules
from archiver.bagit.rules import parse_manifest, read_lines

SHA256 = 64


def _digest(i: int) -> str:
    return hashlib.sha256(str(i).encode()).hexdigest()


def _line_by_line(path, name="manifest-sha256.txt", length=SHA256):
    return rules._parse_manifest(([line] for line in read_lines(str(path), "utf-8")), name, "sha256",
                                 "utf-8", length, whole_blocks=False)


# lines a plain-block reader must not take for plain: each one has something to say, or is
# read differently (the fallback reads the block line by line)
ODD = [
    "{d}  data/%0Anewline.txt", "{d}  data/100%.txt", "{D}  data/upper.txt", "{d}\tdata/tab.txt",
    "{d} \tdata/space-tab.txt", "{d}  ./data/dot.txt", "{d}  data//double.txt", "{d}  data/./x.txt",
    "{d}  data/dir/", "{d}  *data/star.txt", "{d}  ../escape.txt", "{d}  data/../../x.txt",
    "{d}  /etc/passwd", "{d}  ~/x", "{d}  C:/x", "{d}  c:x", "{d}  data\\back.txt",
    "{d}  data/nul\x00.txt", "{short}  data/short.txt", "{d}x  data/long.txt", "zz{tail}  data/nothex.txt",
    "", "   ", "{d}", "{d}  ", "  {d}  data/lead.txt", "{d}  data/.hidden", "{d}  .bagit-like",
    "{d}  data/a\x0bb.txt", "{d}  data/dup.txt", "{d}  data/dup.txt", "{d2}  data/dup.txt",
    "{d}  data/trailing space.txt ", "{d}  data/ünïcode.txt", "{d}  data/a..b.txt",
]


def _odd(rng: random.Random, i: int) -> str:
    d = _digest(i)
    return rng.choice(ODD).format(d=d, D=d.upper(), d2=_digest(i + 1), short=d[:-1], tail=d[2:])


@pytest.mark.parametrize("seed", range(12))
@pytest.mark.parametrize("block", [7, 64, 1 << 20])
def test_blocks_say_what_lines_say(tmp_path, monkeypatch, seed, block):
    monkeypatch.setattr(rules, "BLOCK_CHARS", block)
    rng = random.Random(seed)
    lines = []
    for i in range(400):
        lines.append(_odd(rng, i) if rng.random() < 0.04 else f"{_digest(i)}  data/d{i % 7}/f{i:04d}.bin")
    ending = rng.choice(["\n", "\r\n", "\r"])
    text = ending.join(lines) + rng.choice([ending, ""])
    if seed % 3 == 0:
        text = "\ufeff" + text
    path = tmp_path / "manifest-sha256.txt"
    path.write_bytes(text.encode("utf-8"))
    entries, problems = parse_manifest(str(path), "manifest-sha256.txt", "sha256", "utf-8", SHA256)
    expected_entries, expected_problems = _line_by_line(path)
    assert entries.entries == expected_entries.entries
    assert problems == expected_problems


def test_plain_manifest_is_read_whole(tmp_path, monkeypatch):
    monkeypatch.setattr(rules, "BLOCK_CHARS", 100)  # many blocks, lines cut across them
    path = tmp_path / "manifest-sha256.txt"
    path.write_text("".join(f"{_digest(i)}  data/f{i}.bin\n" for i in range(300)))
    entries, problems = parse_manifest(str(path), "manifest-sha256.txt", "sha256", "utf-8", SHA256)
    assert problems == [] and entries.entries == {f"data/f{i}.bin": _digest(i) for i in range(300)}


def test_duplicates_across_blocks_are_reported(tmp_path, monkeypatch):
    monkeypatch.setattr(rules, "BLOCK_CHARS", 100)
    path = tmp_path / "manifest-sha256.txt"
    path.write_text("".join(f"{_digest(i)}  data/f{i % 50}.bin\n" for i in range(60)))
    entries, problems = parse_manifest(str(path), "manifest-sha256.txt", "sha256", "utf-8", SHA256)
    assert len(entries.entries) == 50
    assert {p.code for p in problems} == {"BAGIT-MANIFEST-CONFLICTING-ENTRY"} and len(problems) == 10


def test_undecodable_line_is_named_and_earlier_lines_kept(tmp_path):
    path = tmp_path / "manifest-sha256.txt"
    good = "".join(f"{_digest(i)}  data/f{i}.bin\n" for i in range(2000)).encode()
    path.write_bytes(good + f"{_digest(9)}  data/".encode() + b"\xff\xfe.bin\n" + good)
    entries, problems = parse_manifest(str(path), "manifest-sha256.txt", "sha256", "utf-8", SHA256)
    assert [p.code for p in problems] == ["BAGIT-MANIFEST-UNREADABLE"]
    expected_entries, expected_problems = _line_by_line(path)
    # (the text is decoded 8 KiB at a time: the lines decoded with the bad one are lost too)
    assert 1900 < len(entries.entries) <= 2000 and entries.entries == expected_entries.entries
    assert [p.code for p in expected_problems] == [p.code for p in problems]
    assert "line 2001:" in problems[0].message  # the bad byte's own line, not the lost lines' first


def test_archive_member_bytes_are_read_the_same(tmp_path):
    data = "".join(f"{_digest(i)}  data/f{i}.bin\n" for i in range(10)).encode() + b"0  data/bad.bin\n"
    entries, problems = parse_manifest(data, "manifest-sha256.txt", "sha256", "utf-8", SHA256)
    assert len(entries.entries) == 11 and [p.code for p in problems] == ["BAGIT-MANIFEST-BAD-DIGEST"]
