"""Every class of finding on a real store, each named with its file."""
from __future__ import annotations

import os
import shutil
import uuid

import bagit

from archiver.bagit.bag import rewrite_tag_manifests
from archiver.model import Event
from archiver.package.record import record_event

from auditkit import cli, findings, payload_file, run_audit


def _names(store):
    return sorted(p.name for p in store.iterdir())


def test_first_audit_records_a_baseline_and_the_second_finds_nothing(store, ledger):
    first = run_audit(store, ledger=ledger)
    assert [r.first for r in first.results] == [True] * 3 and not first.found
    second = run_audit(store, ledger=ledger)
    assert not second.found and [r.first for r in second.results] == [False] * 3
    assert second.finished and second.round == first.round + 1


def test_bit_flip_truncation_deletion_addition(store, ledger):
    run_audit(store, ledger=ledger)
    a, b, c = (store / n for n in _names(store))
    flipped = payload_file(a)
    data = bytearray(flipped.read_bytes())
    data[len(data) // 2] ^= 0x01
    flipped.write_bytes(bytes(data))
    truncated = payload_file(b)
    truncated.write_bytes(truncated.read_bytes()[:10])
    deleted = c / "metadata" / "dc.xml"
    deleted.unlink()
    (c / "data" / "extra.txt").write_bytes(b"slipped in\n")
    run = run_audit(store, ledger=ledger)
    assert findings(run) == {
        (a.name, "AUDIT-FILE-CHANGED", f"data/{flipped.name}"),
        (b.name, "AUDIT-FILE-CHANGED", f"data/{truncated.name}"),
        (c.name, "AUDIT-FILE-MISSING", "metadata/dc.xml"),
        (c.name, "AUDIT-FILE-NEW", "data/extra.txt"),
    }
    assert run.found


def test_rename_is_moved_not_missing_and_new(store, ledger):
    run_audit(store, ledger=ledger)
    package = store / _names(store)[0]
    old = payload_file(package)
    old.rename(old.with_name("renamed.txt"))
    run = run_audit(store, ledger=ledger)
    assert findings(run) == {(package.name, "AUDIT-FILE-MOVED", f"data/{old.name}")}
    assert "data/renamed.txt" in run.results[0].findings[0].message


def test_consistent_rewrite_is_valid_to_bagit_python_and_rewritten_to_the_audit(store, ledger):
    run_audit(store, ledger=ledger)
    package = store / _names(store)[0]
    target = payload_file(package)
    target.write_bytes(target.read_bytes().replace(b"a", b"4", 1))
    bag = bagit.Bag(str(package))
    bag.save(manifests=True)  # every manifest regenerated: the bag checks out
    assert bagit.Bag(str(package)).is_valid()
    run = run_audit(store, ledger=ledger)
    found = findings(run)
    assert (package.name, "AUDIT-REWRITTEN", f"data/{target.name}") in found
    assert (package.name, "AUDIT-REWRITTEN", "manifest-sha256.txt") in found
    assert not any(code == "AUDIT-FILE-CHANGED" for _, code, _ in found)


def test_a_file_deleted_with_its_manifest_lines_is_missing(store, ledger):
    run_audit(store, ledger=ledger)
    package = store / _names(store)[0]
    (package / "metadata" / "mets.xml").unlink()
    bagit.Bag(str(package)).save(manifests=True)
    found = findings(run_audit(store, ledger=ledger))
    assert (package.name, "AUDIT-FILE-MISSING", "metadata/mets.xml") in found


def test_package_removed_is_gone_once_per_round(store, ledger):
    run_audit(store, ledger=ledger)
    victim = store / _names(store)[1]
    shutil.rmtree(victim)
    run = run_audit(store, ledger=ledger)
    assert findings(run) == {(victim.name, "AUDIT-PACKAGE-GONE", "")}
    assert run.summary()["gone"] == 1


def test_premis_that_lost_an_event_is_rewritten_one_that_grew_is_accepted(store, ledger):
    from lxml import etree
    run_audit(store, ledger=ledger)
    grown, shrunk = store / _names(store)[0], store / _names(store)[1]
    record_event(grown, Event(identifier=str(uuid.uuid4()), type="val", date_time="2026-01-01T00:00:00Z",
                              outcome="success"))
    premis = shrunk / "metadata" / "premis.xml"
    root = etree.fromstring(premis.read_bytes())
    events = root.findall("{http://www.loc.gov/premis/v3}event")
    root.remove(events[-1])
    premis.write_bytes(etree.tostring(root, xml_declaration=True, encoding="UTF-8"))
    rewrite_tag_manifests(shrunk)  # tag manifests regenerated to match, nothing else touched
    run = run_audit(store, ledger=ledger)
    assert findings(run) == {(shrunk.name, "AUDIT-REWRITTEN", "metadata/premis.xml")}
    accepted = next(r for r in run.results if r.location == str(grown))
    assert accepted.accepted and accepted.outcome == "ok"
    again = run_audit(store, ledger=ledger)  # the growth is the new baseline; the loss still stands
    assert findings(again) == {(shrunk.name, "AUDIT-REWRITTEN", "metadata/premis.xml")}


def test_unreadable_file_is_named(store, ledger):
    run_audit(store, ledger=ledger)
    package = store / _names(store)[0]
    fifo = package / "data" / "pipe"
    os.mkfifo(fifo)
    found = findings(run_audit(store, ledger=ledger))
    assert (package.name, "AUDIT-FILE-UNREADABLE", "data/pipe") in found


def test_a_package_moved_within_the_store_keeps_its_record(store, ledger):
    run_audit(store, ledger=ledger)
    package = store / _names(store)[0]
    target = payload_file(package)
    target.write_bytes(target.read_bytes() + b"!")
    bagit.Bag(str(package)).save(manifests=True)
    package.rename(store / "renamed-package")  # rewrite, then hide it under a new name
    found = findings(run_audit(store, ledger=ledger))
    assert ("renamed-package", "AUDIT-PACKAGE-MOVED", "") in found
    assert ("renamed-package", "AUDIT-REWRITTEN", f"data/{target.name}") in found
    assert not any(code == "AUDIT-PACKAGE-GONE" for _, code, _ in found)


def test_cli_exit_status_json_and_default_ledger(store, tmp_path):
    env = {"XDG_DATA_HOME": str(tmp_path / "xdg"), "HOME": str(tmp_path)}
    first = cli("audit", store, "--json", cwd=tmp_path, env=env)
    assert first.returncode == 0, first.stderr
    assert (tmp_path / "xdg" / "archiver" / "ledger.sqlite").is_file()
    package = store / _names(store)[0]
    payload_file(package).write_bytes(b"gone wrong")
    second = cli("audit", store, "--json", cwd=tmp_path, env=env)
    assert second.returncode == 1
    import json
    doc = json.loads(second.stdout)
    classes = {f["class"] for p in doc["packages"] for f in p["findings"]}
    assert classes == {"changed"}
    assert cli("audit", cwd=tmp_path, env=env).returncode == 2
    assert cli("audit", tmp_path / "nowhere", cwd=tmp_path, env=env).returncode == 2
    assert cli("audit", store, "--due", "soon", cwd=tmp_path, env=env).returncode == 2


def test_ledger_location_from_archiver_toml(store, tmp_path):
    (tmp_path / "archiver.toml").write_text('[audit]\nledger = "custom/ledger.db"\n')
    done = cli("audit", store, cwd=tmp_path, env={"XDG_DATA_HOME": str(tmp_path / "xdg")})
    assert done.returncode == 0, done.stderr
    assert (tmp_path / "custom" / "ledger.db").is_file()
    assert not (tmp_path / "xdg").exists()
