"""archiver.bagit.bag.make_bag: a directory becomes one plain bag, valid for us and for bagit-python."""
from __future__ import annotations

import bagit
import pytest

from archiver.bagit.bag import make_bag
from archiver.validate import validate_bag


def _tree(root, files):
    for rel, data in files.items():
        path = root / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(data)


@pytest.mark.parametrize("jobs", [1, 2])
def test_make_bag_in_place(tmp_path, jobs):
    files = {"a.txt": b"alpha\n", "data": b"a file called data", "sub/deep/b.bin": bytes(range(256)) * 40}
    files.update({f"many/{i:04d}.txt": f"file {i}\n".encode() for i in range(600)})
    _tree(tmp_path / "d", files)
    bag = make_bag(tmp_path / "d", info=[("Contact-Name", "Desk A")], jobs=jobs, durable=False)

    assert sorted(p.name for p in bag.iterdir()) == [
        "bag-info.txt", "bagit.txt", "data", "manifest-sha256.txt", "manifest-sha512.txt",
        "tagmanifest-sha256.txt", "tagmanifest-sha512.txt"]
    for rel, data in files.items():
        assert (bag / "data" / rel).read_bytes() == data
    report = validate_bag(bag, jobs=1)
    assert report.valid and not report.problems, report.problems
    assert report.payload_files == len(files)
    loaded = bagit.Bag(str(bag))
    loaded.validate()
    assert loaded.info["Contact-Name"] == "Desk A"
    assert loaded.info["Payload-Oxum"] == f"{sum(map(len, files.values()))}.{len(files)}"


def test_make_bag_refuses_a_bag_and_links(tmp_path):
    _tree(tmp_path / "d", {"x.txt": b"x"})
    make_bag(tmp_path / "d")
    with pytest.raises(ValueError, match="already a bag"):
        make_bag(tmp_path / "d")
    _tree(tmp_path / "e", {"x.txt": b"x"})
    (tmp_path / "e" / "link").symlink_to(tmp_path / "d" / "bagit.txt")
    with pytest.raises(ValueError, match="link"):
        make_bag(tmp_path / "e")
    assert (tmp_path / "e" / "x.txt").exists()  # nothing moved
