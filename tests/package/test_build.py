"""Packages built from real reports: layout, bagit validity, metadata, identity, atomicity."""
import importlib
import json
import shutil

import bagit
import pytest
from lxml import etree

from archiver.package.build import build
from archiver.metadata.premis import NS, fixity_values

from seeds import EXAMPLES, SEED_000

build_module = importlib.import_module("archiver.package.build")  # `archiver.package.build` is the function


def built(results):
    return {r.source: r for r in results}


def test_builds_one_valid_bag_per_seed(store):
    results = build([EXAMPLES], store, durable=False, jobs=2)
    assert [r.status for r in results] == ["built"] * 3
    for r in results:
        bag = bagit.Bag(r.path)
        bag.validate()  # the bagit library's own full validation
        assert set(bag.algorithms) == {"sha256", "sha512"}
        assert bag.info["BagIt-Profile-Identifier"].endswith("report-package/v1.json")
        assert bag.info["External-Identifier"] == r.package_id
        tagged = set(bag.tagfile_entries())
        assert {"metadata/dc.xml", "metadata/premis.xml", "metadata/report.json",
                "bag-info.txt", "manifest-sha256.txt", "manifest-sha512.txt"} <= tagged
    # original bytes unchanged
    by_source = built(results)
    r = by_source[str(SEED_000)]
    from pathlib import Path
    assert (Path(r.path) / "data" / SEED_000.name).read_bytes() == SEED_000.read_bytes()


def test_report_json_and_premis(store):
    (r,) = build([SEED_000], store, durable=False)
    from pathlib import Path
    pkg = Path(r.path)
    report = json.loads((pkg / "metadata/report.json").read_text(encoding="utf-8"))
    assert report["title"] == "ISIS, trying to separate the city of Raqqa from the world"
    assert report["comments"][0] == {"number": 1, "author": "Edwin",
                                     "published": "2015-11-20T23:03",
                                     "text": "Much thank you for real news of Raqqa!"}
    assert report["source"]["path"] == f"data/{SEED_000.name}"
    assert report["provenance"]["title"] == "extracted"
    premis = (pkg / "metadata/premis.xml").read_bytes()
    manifest = dict(line.split()[::-1] for line in (pkg / "manifest-sha256.txt").read_text().splitlines())
    assert fixity_values(premis)[f"data/{SEED_000.name}"]["SHA-256"] == manifest[f"data/{SEED_000.name}"]
    root = etree.fromstring(premis)
    types = root.xpath("//p:event/p:eventType/@valueURI", namespaces={"p": NS})
    assert {t.rsplit("/", 1)[1] for t in types} >= {"mes", "mee", "cre"}
    dc = etree.fromstring((pkg / "metadata/dc.xml").read_bytes())
    ns = {"t": "http://purl.org/dc/terms/"}
    assert dc.findtext("t:title", namespaces=ns) == report["title"]
    assert dc.findtext("t:alternative", namespaces=ns).startswith("Exclusive")
    assert dc.findtext("t:identifier", namespaces=ns) == r.package_id
    assert len(dc.findall("t:hasPart", ns)) == 4


def test_sidecar_wins_and_is_recorded(tmp_path, store):
    report = tmp_path / "r.txt"
    shutil.copy(SEED_000, report)
    (tmp_path / "r.txt.meta.json").write_text(json.dumps({
        "title": "Raqqa cut off", "source_url": "https://example.org/raqqa", "publisher": "RBSS",
        "issued": "2015-11-19", "places": ["Raqqa"], "captured": "2016-01-05T10:00:00Z"}))
    (r,) = build([report], store, durable=False)
    assert r.status == "built"
    from pathlib import Path
    data = json.loads((Path(r.path) / "metadata/report.json").read_text())
    assert data["title"] == "Raqqa cut off" and data["provenance"]["title"] == "sidecar"
    assert data["provenance"]["comments"] == "extracted"
    assert data["metadata"]["source_url"] == "https://example.org/raqqa"
    assert bagit.Bag(r.path).info["Source-Organization"] == "RBSS"
    premis = (Path(r.path) / "metadata/premis.xml").read_text()
    assert "eventType/cap" in premis


@pytest.mark.parametrize("sidecar, field", [
    ({"issued": "last tuesday"}, "issued"),
    ({"titel": "x"}, "titel"),
    ({"subjects": "war"}, "subjects"),
])
def test_bad_sidecar_fails_that_report_only(tmp_path, store, sidecar, field):
    bad = tmp_path / "bad.txt"
    shutil.copy(SEED_000, bad)
    (tmp_path / "bad.meta.json").write_text(json.dumps(sidecar))
    results = built(build([bad, EXAMPLES / "002_7411d2c347773d6f.txt"], store, durable=False))
    failed = results[str(bad)]
    assert failed.status == "failed" and field in failed.message
    assert failed.message.startswith(f"{tmp_path / 'bad.meta.json'}: ")  # names the sidecar
    assert results[str(EXAMPLES / "002_7411d2c347773d6f.txt")].status == "built"
    assert len([p for p in store.iterdir()]) == 1


def test_same_bytes_are_packaged_once(tmp_path, store):
    (first,) = build([SEED_000], store, durable=False)
    copy = tmp_path / "renamed.txt"
    shutil.copy(SEED_000, copy)
    (second,) = build([copy], store, durable=False)
    assert second.status == "exists" and second.package_id == first.package_id
    assert sorted(p.name for p in store.iterdir()) == [first.package_id]


@pytest.mark.parametrize("damage", ["gutted", "emptied", "a file"])
def test_a_damaged_package_in_the_way_is_named_not_called_packaged(tmp_path, store, damage):
    """The same report again, where its package lies damaged: the build fails for that
    report, naming what is missing, and leaves what is there as it is (never healed)."""
    (first,) = build([SEED_000], store, durable=False)
    package = store / first.package_id
    if damage == "gutted":
        shutil.rmtree(package / "data")
        shutil.rmtree(package / "metadata")
    else:
        shutil.rmtree(package)
        package.mkdir() if damage == "emptied" else package.write_text("not a package")
    before = sorted(p.name for p in package.iterdir()) if package.is_dir() else package.read_text()
    (again,) = build([SEED_000], store, durable=False)
    assert again.status == "failed" and again.package_id == first.package_id
    assert str(package) in again.message
    assert ("data, metadata" if damage == "gutted" else "bagit.txt" if damage == "emptied"
            else "it is a file") in again.message
    assert (sorted(p.name for p in package.iterdir()) if package.is_dir() else package.read_text()) == before
    assert sorted(p.name for p in store.iterdir()) == [first.package_id]  # no temporary left


def test_failure_midway_leaves_no_package_and_the_others_build(tmp_path, store, monkeypatch):
    """An unexpected error in one report (a bug) fails that report, with its message, and
    leaves nothing of it behind; the rest of the run still builds."""
    real = build_module.tag_manifests_for

    def explode(tags, *args, **kwargs):
        if b"Raqqa" in tags["metadata/dc.xml"]:
            raise RuntimeError("disk on fire")
        return real(tags, *args, **kwargs)

    monkeypatch.setattr(build_module, "tag_manifests_for", explode)  # forked workers inherit it
    other = tmp_path / "other.txt"
    other.write_text("Flooding in the valley\n\nThe river rose two metres overnight and the "
                     "bridge to the market was closed by the police.\n", encoding="utf-8")
    before = SEED_000.read_bytes()
    results = built(build([SEED_000, other], store, jobs=2))
    failed, ok = results[str(SEED_000)], results[str(other)]
    assert failed.status == "failed" and "RuntimeError: disk on fire" in failed.message
    assert ok.status == "built"
    assert sorted(p.name for p in store.iterdir()) == [ok.package_id]  # no temporary left
    assert SEED_000.read_bytes() == before


def test_control_characters_stay_in_the_payload_only(tmp_path, store):
    """XML cannot carry most control characters: the metadata leaves them out and says so,
    the payload keeps every byte, and the package validates."""
    from archiver.validate import validate_bag

    raw = ("Curfew\x01 in the old town\n\nSoldiers closed the\x0cmarket at noon and "
           "\x1bsearched every house in the street near the mosque.\n").encode("utf-8")
    report = tmp_path / "ctl.txt"
    report.write_bytes(raw)
    (r,) = build([report], store, durable=False)
    assert r.status == "built"
    assert any("2 control character(s)" in w for w in r.warnings)  # the form feed breaks a line
    assert (store / r.package_id / "data" / "ctl.txt").read_bytes() == raw
    dc = (store / r.package_id / "metadata" / "dc.xml").read_text(encoding="utf-8")
    assert "Curfew in the old town" in dc and "closed the market" in dc
    assert validate_bag(store / r.package_id).valid


@pytest.mark.parametrize("how", ["parent", "terminal", "sigterm"])
def test_interrupted_build_stops_and_leaves_only_complete_packages(tmp_path, how):
    """Ctrl-C in a terminal reaches every process of the group; `kill -INT` only the parent;
    `kill`, `timeout` and systemd send SIGTERM to the parent. Each way the build stops
    promptly, no worker goes on writing, and what is in the store is complete."""
    import os
    import signal
    import subprocess
    import sys
    import time
    reports = tmp_path / "reports"
    reports.mkdir()
    text = SEED_000.read_text(encoding="utf-8")
    for n in range(600):
        (reports / f"r{n:04d}.txt").write_text(f"Report {n}\n\n{text}", encoding="utf-8")
    store = tmp_path / "store"
    process = subprocess.Popen([sys.executable, "-m", "archiver", "build", str(reports), "--out",
                                str(store), "-q", "--jobs", "2"], start_new_session=True,
                               stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline and not any(p.name.startswith("rpt-") for p in store.glob("*")):
        time.sleep(0.05)
    if how == "terminal":
        os.killpg(process.pid, signal.SIGINT)
    else:
        process.send_signal(signal.SIGTERM if how == "sigterm" else signal.SIGINT)
    _, err = process.communicate(timeout=60)
    assert process.returncode != 0, err
    time.sleep(1)  # a worker left running would write another package meanwhile
    names = [p.name for p in store.iterdir()]
    assert names and all(n.startswith("rpt-") for n in names), names  # no temporary left
    assert len(names) < 600  # it did stop
    for name in names[:20]:
        bagit.Bag(str(store / name)).validate()


def test_bad_inputs_named(tmp_path, store):
    empty = tmp_path / "empty.txt"
    empty.write_bytes(b"")
    binary = tmp_path / "photo.txt"
    binary.write_bytes(bytes(range(256)) * 4)
    results = built(build([empty, binary, tmp_path / "missing.txt", SEED_000], store, durable=False))
    assert results[str(empty)].status == "failed" and "empty" in results[str(empty)].message
    assert results[str(binary)].status == "failed" and "binary" in results[str(binary)].message
    assert results[str(tmp_path / "missing.txt")].status == "failed"
    assert results[str(SEED_000)].status == "built"


@pytest.mark.parametrize("preload", ["", "import pygfried"])
def test_builds_one_after_another_in_one_process(tmp_path, preload):
    """A process that has used Siegfried (a first build, or the caller itself) must still be
    able to build in parallel: workers forked from it would hang."""
    import subprocess
    import sys
    script = (f"{preload}\nfrom archiver import build\n"
              f"print(build([{str(SEED_000)!r}], {str(tmp_path / 'a')!r}, durable=False, jobs=1)[0].status)\n"
              f"print(*(r.status for r in build([{str(EXAMPLES)!r}], {str(tmp_path / 'b')!r},"
              f" durable=False, jobs=2)))\n")
    done = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    assert done.stdout.split() == ["built"] * 4


def test_chosen_checksums_keep_sha256_and_the_package_valid(store):
    from archiver.validate import validate_bag
    (r,) = build([SEED_000], store, algorithms=["md5"], durable=False)
    bag = bagit.Bag(r.path)
    bag.validate()
    assert set(bag.algorithms) == {"sha256", "md5"}
    report = validate_bag(r.path)
    assert report.valid and report.errors == [], report.problems


@pytest.mark.parametrize("key", ["Payload-Oxum", "external-identifier", "Bad:Label"])
def test_info_cannot_override_what_archiver_writes(store, key):
    with pytest.raises(ValueError, match="--info"):
        build([SEED_000], store, info=[(key, "1")], durable=False)
    assert not store.exists() or list(store.iterdir()) == []


@pytest.mark.parametrize("value", ["a\nb", "a\rb", "line\r\n"])
def test_an_info_value_with_a_line_break_is_refused_not_rejoined(store, value):
    with pytest.raises(ValueError, match="--info Contact-Name: the value holds a line break"):
        build([SEED_000], store, info=[("Contact-Name", value)], durable=False)
    assert not store.exists() or list(store.iterdir()) == []


def test_info_is_added_to_bag_info(store):
    (r,) = build([SEED_000], store, info=[("Contact-Name", "Desk A")], durable=False)
    assert bagit.Bag(r.path).info["Contact-Name"] == "Desk A"


def test_an_unusable_store_is_a_clear_error(tmp_path):
    from click.testing import CliRunner

    from archiver.cli import main
    blocker = tmp_path / "a-file"
    blocker.write_text("not a folder")
    result = CliRunner().invoke(main, ["build", str(SEED_000), "--out", str(blocker / "store")])
    assert result.exit_code == 2
    assert "cannot use as the store: Not a directory" in result.output
    assert result.exception is None or isinstance(result.exception, SystemExit)
