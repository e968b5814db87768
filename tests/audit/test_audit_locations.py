"""Serialized packages checked in place (streamed, never unpacked) and OCFL storage roots."""
from __future__ import annotations

import os
import tarfile
import zipfile
from pathlib import Path

import pytest

from auditkit import cli, findings, payload_file, run_audit
from tardamage import HOW, damaged, gzipped, tar_of, with_duplicate


def _serialize(package: Path, out: Path, kind: str) -> Path:
    if kind == "zip":
        target = out / f"{package.name}.zip"
        with zipfile.ZipFile(target, "w", zipfile.ZIP_DEFLATED) as zf:
            for path in sorted(package.rglob("*")):
                zf.write(path, f"{package.name}/{path.relative_to(package)}")
        return target
    target = out / f"{package.name}.{kind}"
    with tarfile.open(target, "w:gz" if kind == "tar.gz" else "w") as tf:
        tf.add(package, arcname=package.name)
    return target


def test_archives_are_audited_in_place_without_unpacking(store, ledger, tmp_path):
    archives = tmp_path / "archives"
    archives.mkdir()
    packages = sorted(store.iterdir())
    made = [_serialize(p, archives, kind) for p, kind in zip(packages, ("zip", "tar", "tar.gz"))]
    scratch = tmp_path / "scratch"
    scratch.mkdir()
    env = {"TMPDIR": str(scratch), "XDG_DATA_HOME": str(tmp_path / "xdg")}
    done = cli("audit", archives, "--json", env=env, cwd=scratch)
    assert done.returncode == 0, done.stdout + done.stderr
    assert os.listdir(scratch) == []  # nothing was unpacked anywhere we can see
    assert sorted(os.listdir(archives)) == sorted(p.name for p in made)
    import json
    doc = json.loads(done.stdout)
    assert {p["kind"] for p in doc["packages"]} == {"zip", "tar"}
    assert all(p["files"] == 11 for p in doc["packages"])


def test_a_flipped_byte_in_a_tar_member_is_changed(store, ledger, tmp_path):
    package = sorted(store.iterdir())[0]
    tar = _serialize(package, tmp_path, "tar")
    run_audit(tar, ledger=ledger)
    name = payload_file(package).name
    data = bytearray(tar.read_bytes())
    with tarfile.open(tar) as tf:
        at = tf.getmember(f"{package.name}/data/{name}").offset_data + 20
    data[at] ^= 0x20
    tar.write_bytes(bytes(data))
    assert findings(run_audit(tar, ledger=ledger)) == {(tar.name, "AUDIT-FILE-CHANGED", f"data/{name}")}


@pytest.mark.parametrize("where", [0.3, 0.5, 0.7])
def test_tar_gz_damaged_in_the_middle(store, ledger, tmp_path, where):
    """Wherever the damage falls, even where the tar stream it decompresses to looks like an end
    of archive (a block of zeros), the gzip trailer's CRC-32 says the archive is damaged."""
    package = sorted(store.iterdir())[0]
    targz = _serialize(package, tmp_path, "tar.gz")
    assert not run_audit(targz, ledger=ledger).found
    data = bytearray(targz.read_bytes())
    middle = int(len(data) * where)
    data[middle:middle + 64] = bytes(64)
    targz.write_bytes(bytes(data))
    run = run_audit(targz, ledger=ledger)
    codes = {code for _, code, _ in findings(run)}
    assert "AUDIT-ARCHIVE-DAMAGED" in codes
    assert run.found and run.results[0].outcome == "found"


def test_ocfl_root_made_by_deposit_and_content_altered(store, ledger, tmp_path):
    from archiver.deposit import deposit
    root = tmp_path / "repository"
    results = deposit([str(store)], f"ocfl:{root}")
    assert all(r.ok for r in results), [r.message for r in results]
    first = run_audit(root, ledger=ledger)
    assert len(first.results) == 3 and not first.found
    assert {r.kind for r in first.results} == {"ocfl"}
    assert {r.identifier for r in first.results} == {p.name for p in store.iterdir()}
    obj = Path(first.results[0].location)
    content = sorted((obj / "v1" / "content" / "data").iterdir())[0]
    content.write_bytes(content.read_bytes()[::-1])
    found = findings(run_audit(root, ledger=ledger))
    assert (obj.name, "AUDIT-FILE-CHANGED", f"v1/content/data/{content.name}") in found  # inventory
    assert (obj.name, "AUDIT-FILE-CHANGED", f"data/{content.name}") in found  # the bag's manifests


@pytest.mark.parametrize("gz", [False, True])
@pytest.mark.parametrize("how", HOW)
def test_a_damaged_or_cut_short_tar_is_found_at_its_first_audit(store, ledger, tmp_path, how, gz):
    """The damage falls on the last member (a tag manifest): all before it is a whole package,
    which tarfile alone would read as the whole archive."""
    package = sorted(store.iterdir())[0]
    data, at = damaged(tar_of(package, tmp_path / "whole.tar"), how)
    copy = tmp_path / ("copy.tar.gz" if gz else "copy.tar")
    copy.write_bytes(gzipped(data) if gz else data)
    run = run_audit(copy, ledger=ledger)
    assert findings(run) >= {(copy.name, "AUDIT-ARCHIVE-DAMAGED", "")}
    assert run.found and run.results[0].outcome == "found"
    damage = [f for f in run.results[0].findings if f.code == "AUDIT-ARCHIVE-DAMAGED"][0]
    assert "byte " in damage.message


def test_an_intact_tar_of_a_package_is_ok(store, ledger, tmp_path):
    package = sorted(store.iterdir())[0]
    tar = tar_of(package, tmp_path / "whole.tar")
    assert not run_audit(tar, ledger=ledger).found
    assert not run_audit(tar, ledger=ledger).found


@pytest.mark.parametrize("fmt", ["tar", "zip"])
def test_two_members_of_one_name_are_a_finding(store, ledger, tmp_path, fmt):
    package = sorted(store.iterdir())[0]
    rel = payload_file(package).relative_to(package).as_posix()
    out = with_duplicate(package, tmp_path / f"{package.name}.{fmt}", rel, b"FORGED\n", fmt)
    run = run_audit(out, ledger=ledger)
    assert (out.name, "ARCHIVE-DUPLICATE-MEMBER", f"{package.name}/{rel}") in findings(run)
    assert run.results[0].outcome == "found"
