"""What the store-scale deposit takes from a validation instead of reading again, and the
staging it leaves for recovery: one intent record per batch (earlier runs wrote one per
object, and a dead one of those is still finished)."""
from __future__ import annotations

import json
import re
import subprocess
import sys
from pathlib import Path

from faults import archiver_command, steps_of
from ocfl_checks import assert_root_valid, staging_left

from archiver.deposit import deposit
from archiver.deposit.ocfl import STAGING_PREFIX, OcflTarget
from archiver.deposit.receipt import package_fingerprint
from archiver.deposit.vouched import Vouched, manifest_digests
from archiver.validate import validate_bag


def _vouched(bag: Path) -> dict[str, str]:
    return manifest_digests(bag, "sha256", payload=False)


def _as_a_deposit_takes_it(bag: Path) -> str:
    """The fingerprint as a deposit computes it: from the manifests and the premis.xml tree
    that its validation parsed and hands back, nothing read again."""
    report = validate_bag(bag, keep_parsed=True)
    assert report.valid
    vouched = Vouched(bag, report.parsed)
    for algorithm in ("sha256", "sha512"):  # the very entries a second reading would give
        assert vouched.digests(algorithm) == manifest_digests(bag, algorithm)
        assert vouched.digests(algorithm, payload=False) == manifest_digests(bag, algorithm, payload=False)
    return package_fingerprint(bag, vouched=vouched.digests("sha256", payload=False),
                               premis=report.parsed.premis)


def test_the_fingerprint_from_the_tag_manifest_is_the_fingerprint_read_from_the_files(
        tmp_path, bag_factory, revalidate):
    bag = bag_factory()
    assert package_fingerprint(bag, vouched=_vouched(bag)) == package_fingerprint(bag)
    [first] = deposit([bag], f"ocfl:{tmp_path / 'repository'}", config={})
    assert first.status == "deposited"
    # recorded: a receipt, premis.xml with its event, the tag manifests rewritten
    assert package_fingerprint(bag, vouched=_vouched(bag)) == package_fingerprint(bag)
    revalidate(bag)
    assert package_fingerprint(bag, vouched=_vouched(bag)) == package_fingerprint(bag)
    assert deposit([bag], f"ocfl:{tmp_path / 'repository'}", config={})[0].version == "v2"


def test_a_tag_file_no_tag_manifest_lists_is_still_read(tmp_path, bag_factory):
    bag = bag_factory()
    extra = bag / "metadata" / "notes.txt"  # listed in no tag manifest (RFC 8493 allows it)
    extra.write_text("first\n")
    vouched = _vouched(bag)
    assert "metadata/notes.txt" not in vouched
    before = package_fingerprint(bag, vouched=vouched)
    extra.write_text("second\n")
    assert package_fingerprint(bag, vouched=_vouched(bag)) != before


def test_one_intent_record_per_batch(tmp_path, bag_factory):
    """A batch of three new objects (--jobs 1): one intent record naming all three, written
    just before the commit's renames; no record, file or folder of its own per object."""
    for _ in range(3):
        bag_factory()
    root = tmp_path / "repository"
    steps = [line.split(" ", 2)[2] for line in steps_of(archiver_command(
        "deposit", "-q", "--jobs", "1", str(tmp_path / "packages"), "--to", f"ocfl:{root}"),
        cwd=tmp_path)]
    intent = re.compile(rf"^write .*/{re.escape(STAGING_PREFIX)}[^/]*/\d+\.json$")
    intents = [i for i, what in enumerate(steps) if intent.match(what)]
    renames = [i for i, what in enumerate(steps) if what.startswith("rename")  # objects moved in
               and STAGING_PREFIX in what.split(" -> ")[0] and f"{root}/" in what.split(" -> ")[-1]]
    assert len(renames) == 3 and len(intents) == 1 and intents[0] < min(renames), steps
    assert_root_valid(root, 3)


def test_a_dead_runs_per_object_intent_is_still_finished(tmp_path, bag_factory):
    """A staging directory an earlier version left (one intent record per object), its
    owner dead after creating the object's tuple folders: the next run removes the empty
    folders (E073) and the staging, and deposits."""
    bag = bag_factory()
    root = tmp_path / "repository"
    [first] = deposit([bag_factory()], f"ocfl:{root}", config={})  # the root exists
    assert first.status == "deposited"
    rel = OcflTarget(root)._root().layout.object_path(bag.name)
    dead = subprocess.run([sys.executable, "-c", "import os; print(os.getpid())"],
                          capture_output=True, text=True, check=True).stdout.strip()
    staging = root.parent / f"{STAGING_PREFIX}{dead}-0badc0de-{root.name}"
    (staging / "1" / "object" / "v1").mkdir(parents=True)
    (staging / "lock").write_text(f"{dead}\n")
    (staging / "1.json").write_text(json.dumps({"kind": "new", "object": rel, "version": "v1"}))
    (root / rel).parent.mkdir(parents=True)  # its tuple folders, made before a rename never done
    [result] = deposit([bag], f"ocfl:{root}", config={})
    assert result.status == "deposited" and result.version == "v1"
    assert not staging.exists() and staging_left(root) == []
    assert_root_valid(root, 2)


def _fingerprint_as_first_defined(bag: Path) -> str:
    """The package fingerprint as receipts written by earlier versions state it, computed
    plainly (every tag file read; premis.xml without its deposit events, element by
    element): a package deposited before must not look changed now."""
    import hashlib
    import os

    from lxml import etree

    from archiver.deposit.receipt import changed_by_recording, read_receipts
    from archiver.durable import is_temporary

    ns = {"p": "http://www.loc.gov/premis/v3"}
    deposits = {r["event"] for r in read_receipts(bag)}
    entries = []
    for top, dirs, files in os.walk(bag):
        rel_top = Path(top).relative_to(bag).as_posix()
        if rel_top == ".":
            dirs[:] = [d for d in dirs if d != "data"]
        dirs[:] = [d for d in dirs if not is_temporary(d)]
        for name in files:
            rel = name if rel_top == "." else f"{rel_top}/{name}"
            if is_temporary(name) or (changed_by_recording(rel) and rel != "metadata/premis.xml"):
                continue
            data = (bag / rel).read_bytes()
            if rel != "metadata/premis.xml":
                entries.append(f"{rel}\0{hashlib.sha256(data).hexdigest()}\n")
                continue
            root = etree.fromstring(data, etree.XMLParser(remove_blank_text=True))
            removed, kept = set(), set()
            for event in root.findall("p:event", ns):
                agents = set(event.xpath("p:linkingAgentIdentifier/p:linkingAgentIdentifierValue/text()",
                                         namespaces=ns))
                if event.findtext("p:eventIdentifier/p:eventIdentifierValue", namespaces=ns) in deposits:
                    root.remove(event)
                    removed |= agents
                else:
                    kept |= agents
            for agent in root.findall("p:agent", ns):
                if agent.findtext("p:agentIdentifier/p:agentIdentifierValue", namespaces=ns) in removed - kept:
                    root.remove(agent)
            h = hashlib.sha256()
            for el in root.iter():
                if isinstance(el.tag, str):
                    h.update(repr((el.tag, sorted(el.attrib.items()), (el.text or "").strip())).encode())
            entries.append(f"{rel}\0{h.hexdigest()}\n")
    h = hashlib.sha256()
    for entry in sorted(entries):
        h.update(entry.encode("utf-8"))
    return h.hexdigest()


def test_the_fingerprint_is_the_one_earlier_receipts_state(tmp_path, bag_factory, revalidate):
    bag = bag_factory()
    root = f"ocfl:{tmp_path / 'repository'}"
    assert package_fingerprint(bag, vouched=_vouched(bag)) == _fingerprint_as_first_defined(bag)
    assert _as_a_deposit_takes_it(bag) == _fingerprint_as_first_defined(bag)
    [first] = deposit([bag], root, config={})
    assert first.status == "deposited"
    # after the record: the deposit's own event and agent left out, as before
    assert package_fingerprint(bag, vouched=_vouched(bag)) == _fingerprint_as_first_defined(bag)
    assert _as_a_deposit_takes_it(bag) == _fingerprint_as_first_defined(bag)
    revalidate(bag)
    [second] = deposit([bag], root, config={})
    assert second.version == "v2"
    assert package_fingerprint(bag, vouched=_vouched(bag)) == _fingerprint_as_first_defined(bag)
    assert _as_a_deposit_takes_it(bag) == _fingerprint_as_first_defined(bag)
    assert deposit([bag], root, config={})[0].status == "unchanged"


def test_the_fingerprint_from_the_premis_xml_validation_parsed(tmp_path, revalidate):
    """Built packages (their premis.xml parsed by validation's package rules): the tree it
    hands back gives the fingerprint earlier receipts state, before and after a record."""
    from archiver.package.build import build

    examples = Path(__file__).resolve().parents[2] / "examples" / "reports"
    bags = [Path(r.path) for r in build([str(examples)], str(tmp_path / "packages"),
                                        durable=False, jobs=1) if r.status == "built"]
    assert bags
    for bag in bags:
        assert validate_bag(bag, keep_parsed=True).parsed.premis is not None
        assert _as_a_deposit_takes_it(bag) == _fingerprint_as_first_defined(bag)
    root = f"ocfl:{tmp_path / 'repository'}"
    assert {r.status for r in deposit(bags, root, config={})} == {"deposited"}
    revalidate(bags[0])
    for bag in bags:
        assert _as_a_deposit_takes_it(bag) == _fingerprint_as_first_defined(bag)
    assert [r.status for r in deposit(bags, root, config={})] == ["deposited"] + ["unchanged"] * (len(bags) - 1)
