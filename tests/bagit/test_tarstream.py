"""archiver.bagit.tarstream: every member, then the end of the archive judged; damage anywhere
is a TarStreamError naming its byte offset, whether the archive is read from a file (validate)
or as one stream through a decompressor (audit)."""
from __future__ import annotations

import gzip
import io
import shutil
import subprocess
import tarfile

import pytest

from archiver.bagit.tarstream import TarStreamError, members, open_tar
from tardamage import CODE, HOW, damaged, gzipped, headers, tar_of


@pytest.fixture
def folder(tmp_path):
    root = tmp_path / "bag"
    (root / "data" / "sub").mkdir(parents=True)
    (root / "data" / "a.txt").write_bytes(b"alpha\n")
    (root / "data" / "sub" / "b.bin").write_bytes(bytes(range(256)) * 9)
    (root / "bagit.txt").write_bytes(b"BagIt-Version: 1.0\nTag-File-Character-Encoding: UTF-8\n")
    (root / "tagmanifest-sha256.txt").write_bytes(b"0" * 64 + b"  bagit.txt\n")
    return root


def _read(data: bytes, stream: bool, compressed: bool = False) -> list[str]:
    """Member names, reading each member's content as audit does."""
    raw = gzip.GzipFile(fileobj=io.BytesIO(data)) if compressed and stream else io.BytesIO(data)
    mode = "r|" if stream else "r:*"
    with open_tar(fileobj=raw, mode=mode) as tf:
        names = []
        for info in members(tf):
            names.append(info.name)
            if stream and info.isreg():
                tf.extractfile(info).read()
        return names


@pytest.mark.parametrize("stream", [False, True])
def test_intact_archives_are_read_to_their_end(tmp_path, folder, stream):
    tar = tar_of(folder, tmp_path / "bag.tar")
    expected = [name for name, _ in headers(tar)]
    assert _read(tar.read_bytes(), stream) == expected
    assert _read(gzipped(tar.read_bytes()), stream, compressed=True) == expected


@pytest.mark.skipif(shutil.which("tar") is None, reason="GNU tar is not installed")
@pytest.mark.parametrize("flags", ["-cf", "-czf", "--format=posix -cf", "-b 1 -cf"])
def test_archives_gnu_tar_makes_are_intact(tmp_path, folder, flags):
    """GNU tar pads to its record size (10 kB) with zeros, or not at all with -b 1."""
    out = tmp_path / "gnu.tar"
    subprocess.run(["tar", *flags.split(), str(out), "-C", str(folder.parent), folder.name], check=True)
    with open_tar(str(out)) as tf:
        assert "bag/data/a.txt" in [m.name for m in members(tf)]


@pytest.mark.parametrize("stream", [False, True])
@pytest.mark.parametrize("how", HOW)
def test_damage_after_the_first_member_is_named_with_its_offset(tmp_path, folder, how, stream):
    data, at = damaged(tar_of(folder, tmp_path / "bag.tar"), how)
    for compressed, blob in ((False, data), (True, gzipped(data))):
        with pytest.raises(TarStreamError) as raised:
            _read(blob, stream, compressed)
        assert raised.value.code == CODE[how]
        if how == "zero-header":  # the zeros read as the end; the member's data after them is not
            assert at < raised.value.offset <= at + 2 * tarfile.BLOCKSIZE
        else:
            assert raised.value.offset == at
        assert f"byte {raised.value.offset}" in str(raised.value)


@pytest.mark.parametrize("stream", [False, True])
def test_a_gzip_trailer_that_fails_its_check_is_damage(tmp_path, folder, stream):
    """Every tar block intact, the CRC-32 in the gzip trailer wrong: only reading to the end
    finds it (tarfile alone stops at the end-of-archive marker)."""
    blob = bytearray(gzipped(tar_of(folder, tmp_path / "bag.tar").read_bytes()))
    blob[-8] ^= 0xFF
    with pytest.raises(TarStreamError) as raised:
        _read(bytes(blob), stream, compressed=True)
    assert raised.value.code == "ARCHIVE-DAMAGED"


def test_a_tail_of_zeros_past_the_limit_is_refused(tmp_path, folder):
    data = tar_of(folder, tmp_path / "bag.tar").read_bytes() + bytes(1 << 20)
    with open_tar(fileobj=io.BytesIO(data)) as tf, pytest.raises(TarStreamError) as raised:
        list(members(tf, limit=len(data) // 2))
    assert raised.value.code == "ARCHIVE-TOO-LARGE"


def test_an_archive_opened_without_open_tar_is_refused(tmp_path, folder):
    with tarfile.open(tar_of(folder, tmp_path / "bag.tar")) as tf, pytest.raises(TypeError):
        next(members(tf))
