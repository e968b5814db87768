"""Deposit to OCFL 1.1 storage roots; every root and object judged by ocfl-py (ocfl_checks)."""
from __future__ import annotations

import hashlib
import json
from pathlib import Path

import pytest

from archiver.deposit import deposit
from archiver.deposit.ocfl_layout import LayoutError, storage_layout
from archiver.deposit.receipt import read_receipts
from ocfl_checks import assert_root_valid


def premis_event_types(bag: Path) -> list[str]:
    from lxml import etree
    root = etree.parse(str(bag / "metadata" / "premis.xml")).getroot()
    return [e.get("valueURI").rsplit("/", 1)[1] for e in
            root.iter("{http://www.loc.gov/premis/v3}eventType")]


def test_first_deposit_makes_a_valid_object_in_a_0004_root(tmp_path, bag_factory):
    bag = bag_factory("rpt-first")
    root = tmp_path / "repository"
    [result] = deposit([bag], f"ocfl:{root}",
                       config={"deposit": {"ocfl": {"layout": "0004-hashed-n-tuple-storage-layout"}}})
    assert result.status == "deposited", result.message
    assert result.verified and result.version == "v1" and result.remote_id == "rpt-first"
    assert result.bytes > 0 and result.seconds > 0
    # The root names its layout, and the object sits where extension 0004 puts it.
    layout = json.loads((root / "ocfl_layout.json").read_text())
    assert layout["extension"] == "0004-hashed-n-tuple-storage-layout"
    config = json.loads((root / "extensions/0004-hashed-n-tuple-storage-layout/config.json").read_text())
    assert config == {"extensionName": "0004-hashed-n-tuple-storage-layout", "digestAlgorithm": "sha256",
                      "tupleSize": 3, "numberOfTuples": 3, "shortObjectRoot": False}
    digest = hashlib.sha256(b"rpt-first").hexdigest()
    objdir = root / digest[:3] / digest[3:6] / digest[6:9] / digest
    assert [objdir] == assert_root_valid(root, 1)
    inventory = json.loads((objdir / "inventory.json").read_text())
    assert inventory["id"] == "rpt-first" and inventory["head"] == "v1"
    assert "data/report.txt" in json.dumps(inventory["versions"]["v1"]["state"])
    # Recorded in the package: a replication event and a receipt; the bag is still valid.
    assert premis_event_types(bag)[-1] == "rep"
    [receipt] = read_receipts(bag)
    assert receipt["outcome"] == "success" and receipt["verified"] == "true"
    assert receipt["target"] == f"ocfl:{root}" and result.receipt.startswith("metadata/deposits/")
    import bagit
    bagit.Bag(str(bag)).validate()
    # No staging left beside the root.
    assert [p.name for p in tmp_path.iterdir() if p.name.startswith(".")] == []
    assert (root / "0=ocfl_1.1").read_bytes() == b"ocfl_1.1\n"
    assert (objdir / "0=ocfl_object_1.1").read_bytes() == b"ocfl_object_1.1\n"


def test_same_bytes_again_is_a_no_op(tmp_path, bag_factory):
    bag = bag_factory()
    root = tmp_path / "repository"
    deposit([bag], f"ocfl:{root}", config={})
    before = (bag / "metadata" / "premis.xml").read_bytes()
    [again] = deposit([bag], f"ocfl:{root}", config={})
    assert again.status == "unchanged" and again.ok and again.bytes == 0
    assert "unchanged" in again.message
    assert (bag / "metadata" / "premis.xml").read_bytes() == before  # nothing recorded
    [objdir] = assert_root_valid(root, 1)
    assert json.loads((objdir / "inventory.json").read_text())["head"] == "v1"


@pytest.mark.parametrize("how", ["a byte changed", "removed"])
def test_a_stored_copy_damaged_since_is_no_verified_no_op(tmp_path, bag_factory, how):
    """The no-op reads the object back: a copy that rotted in the root is reported, nothing
    in the object is written (archiver never repairs), and the package records the failure."""
    bag = bag_factory()
    root = tmp_path / "repository"
    deposit([bag], f"ocfl:{root}", config={})
    [objdir] = assert_root_valid(root, 1)
    stored = next((objdir / "v1" / "content" / "data").rglob("*.txt"))
    if how == "removed":
        stored.unlink()
    else:
        stored.write_bytes(b"Z" + stored.read_bytes()[1:])
    before = {p: p.read_bytes() for p in sorted(objdir.rglob("*")) if p.is_file()}
    [again] = deposit([bag], f"ocfl:{root}", config={})
    assert again.status == "failed" and not again.verified and again.code == "OCFL-INVALID"
    assert str(stored) in again.message
    assert {p: p.read_bytes() for p in sorted(objdir.rglob("*")) if p.is_file()} == before
    assert read_receipts(bag)[-1]["outcome"] == "failure"  # the package says so, and stays valid
    import bagit
    bagit.Bag(str(bag)).validate()


def test_changed_metadata_adds_a_version(tmp_path, bag_factory, revalidate):
    bag = bag_factory()
    root = tmp_path / "repository"
    deposit([bag], f"ocfl:{root}", config={})
    revalidate(bag)
    [second] = deposit([bag], f"ocfl:{root}", config={})
    assert second.status == "deposited" and second.version == "v2" and second.verified
    [objdir] = assert_root_valid(root, 1)
    inventory = json.loads((objdir / "inventory.json").read_text())
    assert inventory["head"] == "v2"
    # Forward delta: the payload is not stored twice.
    assert not list((objdir / "v2" / "content").rglob("report.txt"))
    assert len(read_receipts(bag)) == 2
    [third] = deposit([bag], f"ocfl:{root}", config={})
    assert third.status == "unchanged"


def test_without_receipt_the_object_state_decides(tmp_path, bag_factory):
    """The object's own state decides when the package carries no receipt for it: the same
    bytes are not written again, and the holding is recorded (a run that died between the
    commit and the record leaves exactly this)."""
    bag = bag_factory()
    root = tmp_path / "repository"
    from archiver.deposit.ocfl import OcflTarget
    from archiver.deposit.receipt import package_fingerprint
    target = OcflTarget(root)
    first = target.put(bag, "rpt-0000", package_fingerprint(bag), None)
    target.commit()
    assert first.status == "deposited" and first.version == "v1"
    [result] = deposit([bag], f"ocfl:{root}", config={})
    assert result.status == "deposited" and result.version == "v1" and result.bytes == 0
    assert "already held" in result.message
    [receipt] = read_receipts(bag)
    assert receipt["version"] == "v1" and receipt["outcome"] == "success"
    [objdir] = assert_root_valid(root, 1)
    assert json.loads((objdir / "inventory.json").read_text())["head"] == "v1"
    assert deposit([bag], f"ocfl:{root}", config={})[0].status == "unchanged"


@pytest.mark.parametrize("config, object_id, expected", [
    ({}, "object-01", "3c0/ff4/240/3c0ff4240c1e116dba14c7627f2319b58aa3d77606d0d90dfc6161608ac987d4"),
    ({}, "..hor/rib:le-$id",
     "487/326/d8c/487326d8c2a3c0b885e23da1469b4d6671fd4e76978924b4443e9e3c316cda6d"),
    ({"digestAlgorithm": "md5", "tupleSize": 2, "numberOfTuples": 15, "shortObjectRoot": True},
     "object-01", "ff/75/53/44/92/48/5e/ab/b3/9f/86/35/67/28/88/4e"),
    ({"digestAlgorithm": "md5", "tupleSize": 2, "numberOfTuples": 15, "shortObjectRoot": True},
     "..hor/rib:le-$id", "08/31/97/66/fb/6c/29/35/dd/17/5b/94/26/77/17/e0"),
    ({"tupleSize": 0, "numberOfTuples": 0}, "object-01",
     "3c0ff4240c1e116dba14c7627f2319b58aa3d77606d0d90dfc6161608ac987d4"),
])
def test_0004_layout_matches_the_extension_examples(config, object_id, expected):
    layout = storage_layout("0004-hashed-n-tuple-storage-layout", config)
    assert layout.object_path(object_id) == expected


@pytest.mark.parametrize("config, object_id, expected", [
    ({}, "object-01", "3c0/ff4/240/object-01"),
    ({}, "..hor/rib:le-$id", "487/326/d8c/%2e%2ehor%2frib%3ale-%24id"),
    ({}, "..Hor/rib:lè-$id", "373/529/21a/%2e%2eHor%2frib%3al%c3%a8-%24id"),
    ({"digestAlgorithm": "md5", "tupleSize": 5, "numberOfTuples": 2}, "object-01", "ff755/34492/object-01"),
    ({"digestAlgorithm": "md5", "tupleSize": 0, "numberOfTuples": 0}, "object-01", "object-01"),
    ({}, "abcdefghij" * 10 + "a", "5cc/73e/648/" + "abcdefghij" * 10
     + "-5cc73e648fbcff136510e330871180922ddacf193b68fdeff855683a01464220"),
])
def test_0003_layout_matches_the_extension_examples(config, object_id, expected):
    layout = storage_layout("0003-hash-and-id-n-tuple-storage-layout", config)
    assert layout.object_path(object_id) == expected


@pytest.mark.parametrize("object_id", ["", ".", "..", "a/b", "x" * 256])
def test_0002_layout_refuses_what_is_not_one_directory_name(object_id):
    with pytest.raises(LayoutError):
        storage_layout("0002-flat-direct-storage-layout").object_path(object_id)


@pytest.mark.parametrize("config", [
    {"tupleSize": 0, "numberOfTuples": 3},
    {"tupleSize": 32, "numberOfTuples": 3},
    {"digestAlgorithm": "md5", "tupleSize": 4, "numberOfTuples": 8, "shortObjectRoot": True},
    {"digestAlgorithm": "crc32"},
])
def test_0004_layout_rejects_what_the_extension_forbids(config):
    with pytest.raises(LayoutError):
        storage_layout("0004-hashed-n-tuple-storage-layout", config)


def test_default_root_passes_ocfl_py_command_line_validator(tmp_path, bag_factory):
    """The default layout (0003) is one ocfl-py's own ocfl-validate.py walks; it exits 1 on a
    root it cannot walk, so its exit status means something here (objects are checked above)."""
    bags = [bag_factory(f"rpt-cli-{n}") for n in range(2)]
    root = tmp_path / "repository"
    assert [r.status for r in deposit(bags, f"ocfl:{root}", config={})] == ["deposited"] * 2
    assert json.loads((root / "ocfl_layout.json").read_text())["extension"] == \
        "0003-hash-and-id-n-tuple-storage-layout"
    digest = hashlib.sha256(b"rpt-cli-0").hexdigest()
    assert (root / digest[:3] / digest[3:6] / digest[6:9] / "rpt-cli-0" / "inventory.json").is_file()
    assert_root_valid(root, 2)  # ocfl-validate.py included


def test_flat_direct_layout_from_config(tmp_path, bag_factory):
    bag = bag_factory("rpt-flat")
    root = tmp_path / "flat"
    config = {"deposit": {"targets": {"local": {"type": "ocfl", "path": str(root),
                                                "layout": "flat-direct"}}}}
    [result] = deposit([bag], "local", config=config)
    assert result.status == "deposited", result.message
    assert json.loads((root / "ocfl_layout.json").read_text())["extension"] == \
        "0002-flat-direct-storage-layout"
    assert assert_root_valid(root, 1) == [root / "rpt-flat"]


def test_an_identifier_the_layout_cannot_store_fails_with_a_message(tmp_path, bag_factory):
    bag = bag_factory("rpt-unsafe", external_id="../../escape")
    root = tmp_path / "flat"
    config = {"deposit": {"targets": {"local": {"type": "ocfl", "path": str(root),
                                                "layout": "flat-direct"}}}}
    [result] = deposit([bag], "local", config=config)
    assert result.status == "failed" and "cannot be stored with layout" in result.message
    assert not (tmp_path / "escape").exists()


def test_invalid_package_is_refused(tmp_path, bag_factory):
    bag = bag_factory()
    (bag / "data" / "report.txt").write_bytes(b"tampered\n")
    root = tmp_path / "repository"
    [result] = deposit([bag], f"ocfl:{root}", config={})
    assert result.status == "refused" and not result.ok
    assert result.problems and all(p["code"] for p in result.problems)
    assert not root.exists() or not list(root.rglob("inventory.json"))
    assert read_receipts(bag) == []


def test_a_package_changed_since_validation_is_not_deposited(tmp_path, bag_factory, monkeypatch):
    """The copy is hashed on its way in and checked against the manifest validation just
    read: bytes that changed in between never enter the object."""
    bag = bag_factory()
    root = tmp_path / "repository"
    import importlib
    ocfl_target = importlib.import_module("archiver.deposit.ocfl")
    real_copy = ocfl_target.copy_and_hash

    def changing_copy(src, dst, *args):
        if str(src).endswith("report.txt"):
            Path(src).write_bytes(b"changed after validation\n")
        return real_copy(src, dst, *args)
    monkeypatch.setattr(ocfl_target, "copy_and_hash", changing_copy)
    [result] = deposit([bag], f"ocfl:{root}", config={})
    assert result.status == "failed" and not result.verified
    assert "changed since it was validated" in result.message
    assert list(root.rglob("inventory.json")) == []  # nothing half-written left
    assert_root_valid(root, 0)
    [receipt] = read_receipts(bag)
    assert receipt["outcome"] == "failure" and receipt["details"]["error-code"] == "OCFL-SOURCE-CHANGED"


def test_object_in_place_of_another_id_is_not_overwritten(tmp_path, bag_factory):
    first = bag_factory("rpt-a", external_id="same-id")
    second = bag_factory("rpt-b", external_id="same-id",
                         payload={"other.txt": b"a different report\n"})
    root = tmp_path / "repository"
    assert deposit([first], f"ocfl:{root}", config={})[0].status == "deposited"
    [result] = deposit([second], f"ocfl:{root}", config={})
    # Same identifier, different content: a new version of that object, never a silent overwrite.
    assert result.status == "deposited" and result.version == "v2"
    assert_root_valid(root, 1)


def test_dry_run_writes_nothing(tmp_path, bag_factory):
    bag = bag_factory()
    root = tmp_path / "repository"
    before = sorted(p.name for p in bag.rglob("*"))
    [result] = deposit([bag], f"ocfl:{root}", dry_run=True, config={})
    assert result.status == "planned" and result.ok
    assert not root.exists()
    assert sorted(p.name for p in bag.rglob("*")) == before


def test_not_an_ocfl_root_fails_cleanly(tmp_path, bag_factory):
    root = tmp_path / "occupied"
    root.mkdir()
    (root / "notes.txt").write_text("hello")
    [result] = deposit([bag_factory()], f"ocfl:{root}", config={})
    assert result.status == "failed" and "not an OCFL storage root" in result.message


def test_a_plain_bag_from_elsewhere_is_deposited_and_said_unrecorded(tmp_path):
    """A valid bag archiver did not make (no metadata/premis.xml), with Latin-1 tag files:
    deposited and verified; the result says the bag holds no record of it."""
    import bagit
    bag = tmp_path / "plain"
    bag.mkdir()
    (bag / "a.txt").write_text("hello\n")
    bagit.make_bag(str(bag), checksums=["sha256"])
    (bag / "bagit.txt").write_bytes(b"BagIt-Version: 1.0\nTag-File-Character-Encoding: ISO-8859-1\n")
    (bag / "bag-info.txt").write_bytes(b"Contact-Name: Jos\xe9\nPayload-Oxum: 6.1\n")
    (bag / "tagmanifest-sha256.txt").unlink()
    root = tmp_path / "repository"
    [result] = deposit([bag], f"ocfl:{root}", config={})
    assert result.status == "deposited" and result.verified, result.message
    assert "not recorded in the bag" in result.message
    assert_root_valid(root, 1)


def test_a_file_named_as_the_root_fails_with_a_message(tmp_path, bag_factory):
    bag = bag_factory()
    root = tmp_path / "not-a-folder"
    root.write_text("x")
    [result] = deposit([bag], f"ocfl:{root}", config={})
    assert result.status == "failed" and "is a file, not an OCFL storage root" in result.message


def test_packages_deposited_side_by_side(tmp_path, bag_factory):
    bags = [bag_factory() for _ in range(10)]
    root = tmp_path / "repository"
    results = deposit(bags, f"ocfl:{root}", config={}, jobs=2)
    assert [r.status for r in results] == ["deposited"] * 10, [r.message for r in results]
    assert [r.package for r in results] == [str(b) for b in bags]  # in the order given
    assert_root_valid(root, 10)
    for bag in bags:
        [receipt] = read_receipts(bag)
        assert receipt["version"] == "v1" and receipt["outcome"] == "success"
    again = deposit(bags, f"ocfl:{root}", config={}, jobs=2)
    assert [r.status for r in again] == ["unchanged"] * 10


def test_one_identifier_twice_in_one_run(tmp_path, bag_factory):
    first = bag_factory("rpt-a", external_id="same-id")
    second = bag_factory("rpt-b", external_id="same-id", payload={"other.txt": b"another report\n"})
    root = tmp_path / "repository"
    results = deposit([first, second], f"ocfl:{root}", config={}, jobs=1)
    assert [(r.status, r.version) for r in results] == [("deposited", "v1"), ("deposited", "v2")]
    [objdir] = assert_root_valid(root, 1)
    state = json.loads((objdir / "inventory.json").read_text())["versions"]["v2"]["state"]
    assert "data/other.txt" in json.dumps(state) and "data/report.txt" not in json.dumps(state)


def test_archivers_temporaries_are_never_deposited(tmp_path, bag_factory):
    bag = bag_factory()
    (bag / "metadata" / ".premis.xml.k3j9x0q1").write_bytes(b"half a killed write")
    root = tmp_path / "repository"
    [result] = deposit([bag], f"ocfl:{root}", config={})
    assert result.status == "deposited", result.message
    [objdir] = assert_root_valid(root, 1)
    assert ".premis.xml." not in (objdir / "inventory.json").read_text()
    assert not list(objdir.rglob(".premis.xml.*"))


def test_an_object_ocfl_py_wrote_gets_its_next_version_from_archiver(tmp_path, bag_factory, revalidate):
    """Roots and objects written before (by ocfl-py) go on: same layout, next version."""
    from ocfl_checks import ocfl
    bag = bag_factory("rpt-old")
    root = tmp_path / "repository"
    ocfl.StorageRoot(str(root), layout_name="0002-flat-direct-storage-layout").initialize(spec_version="1.1")
    obj = ocfl.Object(identifier="rpt-old", digest_algorithm="sha512")
    staged = tmp_path / "staged"
    obj.create(srcdir=str(bag), metadata=ocfl.VersionMetadata(created="2024-01-01T00:00:00Z",
                                                              message="by ocfl-py", name="someone"),
               objdir=str(staged))
    staged.rename(root / "rpt-old")
    revalidate(bag)
    [result] = deposit([bag], f"ocfl:{root}", config={})
    assert result.status == "deposited" and result.version == "v2", result.message
    assert assert_root_valid(root, 1) == [root / "rpt-old"]
    inventory = json.loads((root / "rpt-old" / "inventory.json").read_text())
    assert inventory["versions"]["v1"]["message"] == "by ocfl-py"
    # forward delta against what ocfl-py stored: the unchanged payload is not stored again
    assert not list((root / "rpt-old" / "v2").rglob("report.txt"))


@pytest.mark.parametrize("head, following", [("v1", "v2"), ("v9", "v10"), ("v009", "v010"), ("v0099", "v0100")])
def test_versions_follow_the_objects_naming(head, following):
    from archiver.deposit.ocfl_inventory import next_version
    assert next_version(head) == following


def test_a_full_zero_padded_sequence_has_no_next_version():
    from archiver.deposit.ocfl_inventory import InventoryError, next_version
    with pytest.raises(InventoryError):
        next_version("v099")  # v100 would drop the leading zero the naming needs (E011)


def test_two_runs_into_one_root_at_once(tmp_path, bag_factory):
    """Two deposits of copies of the same packages, side by side into one root: the root stays
    valid, and what one run could not commit the next run finds there and records."""
    import shutil
    import subprocess

    from faults import archiver_command
    root = tmp_path / "repository"
    for _ in range(6):
        bag_factory()
    shutil.copytree(tmp_path / "packages", tmp_path / "copy")  # the same packages, byte for byte
    stores = [tmp_path / "packages", tmp_path / "copy"]
    runs = [subprocess.Popen(archiver_command("deposit", "-q", "--jobs", "2", str(store), "--to",
                                              f"ocfl:{root}"), stdout=subprocess.PIPE,
                             stderr=subprocess.PIPE, text=True) for store in stores]
    for run in runs:
        out, err = run.communicate(timeout=300)
        assert run.returncode in (0, 1), out + err
        assert "Traceback" not in out + err
        for line in err.splitlines():
            if line.startswith("error:"):
                assert "another deposit created this object meanwhile" in line, line
    assert_root_valid(root, 6)
    for store in stores:
        # a package that recorded a failed attempt has changed: it may become a new version
        results = deposit([store], f"ocfl:{root}", config={})
        assert all(r.ok for r in results), [r.message for r in results]
        for result in results:
            inventory = json.loads((root / result.details["object-path"] / "inventory.json").read_text())
            assert result.version == inventory["head"]
            assert [r["version"] for r in read_receipts(Path(result.package))
                    if r["outcome"] == "success"][-1] == result.version
    assert_root_valid(root, 6)
