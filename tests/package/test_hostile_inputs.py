"""Hostile and outsized input: memory stays bounded (measured from outside, in a child
process), build says nothing it would not stand by, errors name the right file."""
from __future__ import annotations

import io
import json
import tarfile
import zipfile
from pathlib import Path

import pytest

from archiver.validate import validate_bag
from faults import archiver_command
from memory import peak_rss, zeros_gzip

GB = 1 << 30
LIMIT = GB  # what build and validate may take, whatever the input


def _build(tmp_path, *inputs, extra=()):
    done, peak = peak_rss(archiver_command("build", "--no-fsync", "--json", "--out",
                                           str(tmp_path / "store"), *extra, *map(str, inputs)))
    return done, json.loads(done.stdout) if done.stdout.startswith("{") else None, peak


def test_a_warc_gz_of_zeros_is_refused_in_bounded_memory(tmp_path):
    bomb = tmp_path / "zeros.warc.gz"
    zeros_gzip(bomb, 3 * GB, level=9)  # about 3 MB on disk
    assert bomb.stat().st_size < 4_000_000
    done, result, peak = _build(tmp_path, bomb)
    assert done.returncode == 1 and result["summary"]["failed"] == 1, done.stderr
    assert "compression bomb" in result["results"][0]["message"]
    assert peak < LIMIT, peak


def test_a_warc_header_line_of_zeros_is_refused_in_bounded_memory(tmp_path):
    """Under the expansion limit, but one header "line" of 700 MB: warcio would read it whole."""
    bomb = tmp_path / "line.warc.gz"
    zeros_gzip(bomb, 700_000_000, prefix=b"WARC/1.0\r\nWARC-Type: response\r\nContent-Length: 9\r\n")
    done, result, peak = _build(tmp_path, bomb)
    assert done.returncode == 1 and "corrupt WARC" in result["results"][0]["message"], done.stderr
    assert peak < LIMIT // 2, peak


def test_a_large_text_report_builds_from_a_bounded_prefix(tmp_path):
    report = tmp_path / "big.txt"
    paragraph = ("The shelling resumed at dawn and lasted until the afternoon. " * 20 + "\n\n").encode()
    with open(report, "wb") as out:
        out.write(b"A very long report\n\n")
        while out.tell() < 150_000_000:
            out.write(paragraph * 100)
    done, result, peak = _build(tmp_path, report)
    assert done.returncode == 0, done.stderr
    built = result["results"][0]
    assert any("extracted from the first" in w for w in built["warnings"]), built["warnings"]
    assert peak < 500_000_000, peak  # reading it whole took over 5 times its size
    package = Path(built["path"])
    assert (package / "data" / "big.txt").stat().st_size == report.stat().st_size
    assert validate_bag(package, jobs=1).valid


def test_a_title_line_of_20_mb_builds_a_package_that_validates(tmp_path):
    report = tmp_path / "title.txt"
    report.write_bytes(b"T" * 20_000_000 + b"\n\nA body paragraph.\n")
    done, result, _ = _build(tmp_path, report)
    assert done.returncode == 0, done.stderr
    built = result["results"][0]
    assert any("cut to fit" in w for w in built["warnings"]), built["warnings"]
    report_ = validate_bag(built["path"], jobs=1)
    assert report_.valid, report_.problems


def test_a_sidecar_title_of_50_mb_builds_a_package_that_validates(tmp_path):
    report = tmp_path / "r.txt"
    report.write_text("A title\n\nA body paragraph.\n", encoding="utf-8")
    (tmp_path / "r.meta.json").write_text(json.dumps({"title": "S" * 50_000_000}), encoding="utf-8")
    done, result, peak = _build(tmp_path, report)
    assert done.returncode == 0, done.stderr
    built = result["results"][0]
    assert any("cut to fit" in w for w in built["warnings"]), built["warnings"]
    assert validate_bag(built["path"], jobs=1).valid
    assert peak < LIMIT, peak


def _bomb_member(size: int):
    """(info, stream) of a 'bag/data/zeros' member of `size` zero bytes."""
    class Zeros(io.RawIOBase):
        def __init__(self):
            self.left = size

        def readable(self):
            return True

        def readinto(self, buf):
            n = min(len(buf), self.left)
            buf[:n] = bytes(n)
            self.left -= n
            return n
    return Zeros()


@pytest.mark.parametrize("kind", ["zip", "tar.gz"])
def test_a_serialized_bag_bomb_is_refused_before_unpacking(tmp_path, kind):
    bomb = tmp_path / f"bag.{kind}"
    size = 2 * GB
    if kind == "zip":
        with zipfile.ZipFile(bomb, "w", zipfile.ZIP_DEFLATED, compresslevel=1) as z:
            z.writestr("bag/bagit.txt", "BagIt-Version: 1.0\nTag-File-Character-Encoding: UTF-8\n")
            with z.open("bag/data/zeros", "w", force_zip64=True) as out:
                stream = _bomb_member(size)
                while chunk := stream.read(1 << 20):
                    out.write(chunk)
    else:
        with tarfile.open(bomb, "w:gz", compresslevel=1) as t:
            declaration = b"BagIt-Version: 1.0\nTag-File-Character-Encoding: UTF-8\n"
            info = tarfile.TarInfo("bag/bagit.txt")
            info.size = len(declaration)
            t.addfile(info, io.BytesIO(declaration))
            info = tarfile.TarInfo("bag/data/zeros")
            info.size = size
            t.addfile(info, io.BufferedReader(_bomb_member(size)))
    assert bomb.stat().st_size < 20_000_000
    done, peak = peak_rss(archiver_command("validate", "--json", str(bomb)))
    assert done.returncode == 1, done.stderr
    problems = json.loads(done.stdout)["reports"][0]["problems"]
    assert [p["code"] for p in problems] == ["ARCHIVE-TOO-LARGE"], problems
    import re
    figures = [int(n) for n in re.findall(r"\d{6,}", problems[0]["message"])]  # with the figures
    assert bomb.stat().st_size in figures and max(figures) > size, problems
    assert peak < LIMIT // 4, peak


def test_a_full_store_is_named_not_the_original(tmp_path):
    report = tmp_path / "photo-report"
    report.mkdir()
    (report / "r.txt").write_text("A title\n\nA body paragraph.\n", encoding="utf-8")
    (report / "photo.jpg").write_bytes(b"\xff\xd8\xff" + bytes(3_000_000))
    store = tmp_path / "store"
    # a file size limit stands in for a full disk: writes to the store fail, reads do not
    script = ("import resource, signal, sys\n"
              "signal.signal(signal.SIGXFSZ, signal.SIG_IGN)\n"
              "resource.setrlimit(resource.RLIMIT_FSIZE, (1_000_000, 1_000_000))\n"
              "from archiver.cli import main\n"
              f"sys.argv = ['archiver', 'build', '--jobs', '1', '--out', {str(store)!r}, {str(report)!r}]\n"
              "main()\n")
    import subprocess
    import sys
    done = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, timeout=120)
    assert done.returncode == 1, done.stdout + done.stderr
    assert f"cannot write the package in {store}" in done.stderr, done.stderr
    assert "cannot read" not in done.stderr
    assert not [p for p in store.iterdir()]
