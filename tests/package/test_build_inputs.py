"""Packages from reports as they really arrive: saved pages, pages saved complete, folders of
one report, WARC and WACZ captures; and refusals of what cannot be packaged."""
import json
import os
import shutil
from pathlib import Path

import bagit
import pytest
from click.testing import CliRunner
from lxml import etree

from archiver.package.build import build
from archiver.cli import main
from archiver.metadata.premis import NS
from archiver.validate import validate_bag

from seeds import EXAMPLES
from webfixtures import (CAPTURED, COMMENTS, PARAGRAPHS, SOFTWARE, URL, jpeg, news_page, pdf,
                         png, write_wacz, write_warc)

P = {"p": NS}


def one(results):
    (r,) = results
    assert r.status == "built", r.message
    return r


def check_bag(path):
    bagit.Bag(str(path)).validate()
    report = validate_bag(path)
    assert report.errors == [], [str(p) for p in report.errors]


def report_json(r):
    return json.loads((Path(r.path) / "metadata/report.json").read_text(encoding="utf-8"))


def premis_objects(r):
    """{object path: (formatName, PRONOM key, size, originalName)}"""
    root = etree.parse(str(Path(r.path) / "metadata/premis.xml")).getroot()
    out = {}
    for obj in root.iterfind("p:object", P):
        oid = obj.findtext("p:objectIdentifier/p:objectIdentifierValue", namespaces=P)
        chars = "p:objectCharacteristics/"
        out[oid] = (obj.findtext(chars + "p:format/p:formatDesignation/p:formatName", namespaces=P),
                    obj.findtext(chars + "p:format/p:formatRegistry/p:formatRegistryKey", namespaces=P),
                    int(obj.findtext(chars + "p:size", namespaces=P)),
                    obj.findtext("p:originalName", namespaces=P))
    return out


def premis_events(r):
    root = etree.parse(str(Path(r.path) / "metadata/premis.xml")).getroot()
    return {e.find("p:eventType", P).get("valueURI").rsplit("/", 1)[1]: e
            for e in root.iterfind("p:event", P)}


def payload(r):
    data = Path(r.path) / "data"
    return sorted(p.relative_to(data).as_posix() for p in data.rglob("*") if p.is_file())


def saved_complete(folder: Path, name="page") -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    page = folder / f"{name}.html"
    page.write_text(news_page(), encoding="utf-8")
    assets = folder / f"{name}_files"
    assets.mkdir()
    (assets / "street.jpg").write_bytes(jpeg())
    (assets / "logo.png").write_bytes(png())
    (assets / "style.css").write_text("body { color: #222; }\n", encoding="utf-8")
    return page


def test_saved_html_page(tmp_path, store):
    page = tmp_path / "raqqa-cut-off.html"
    page.write_text(news_page(), encoding="utf-8")
    r = one(build([page], store, durable=False))
    check_bag(r.path)
    data = report_json(r)
    assert data["title"] == "Raqqa cut off from the world"
    assert data["body"] == PARAGRAPHS
    assert [(c["number"], c["author"], c["published"], c["text"]) for c in data["comments"]] == COMMENTS
    assert data["comments_closed"] is True and data["language"] == "en-GB"
    assert data["metadata"]["creator"] == ["Abu Ibrahim"]
    assert data["metadata"]["issued"] == "2015-11-19"
    assert data["metadata"]["publisher"] == "Raqqa Voices"
    assert data["metadata"]["source_url"] == URL
    assert data["source"] == {"name": "raqqa-cut-off.html", "path": "data/raqqa-cut-off.html",
                              "size": page.stat().st_size, "media_type": "text/html",
                              "encoding": "utf-8", "capture": None}
    assert data["attachments"] == []
    assert data["provenance"]["title"] == "html-meta" and data["provenance"]["body"] == "extracted"
    assert premis_objects(r) == {"data/raqqa-cut-off.html": (
        "text/html", "fmt/471", page.stat().st_size, "raqqa-cut-off.html")}
    assert (Path(r.path) / "data/raqqa-cut-off.html").read_bytes() == page.read_bytes()
    assert r.warnings == []
    dc = etree.parse(str(Path(r.path) / "metadata/dc.xml")).getroot()
    t = {"t": "http://purl.org/dc/terms/"}
    assert dc.findtext("t:creator", namespaces=t) == "Abu Ibrahim"
    assert dc.findtext("t:source", namespaces=t) == URL
    assert len(dc.findall("t:hasPart", t)) == 3


def test_sidecar_wins_over_the_page(tmp_path, store):
    page = tmp_path / "p.html"
    page.write_text(news_page(), encoding="utf-8")
    (tmp_path / "p.html.meta.json").write_text(json.dumps({"publisher": "RBSS", "places": ["Raqqa"]}))
    data = report_json(one(build([page], store, durable=False)))
    assert data["metadata"]["publisher"] == "RBSS" and data["provenance"]["publisher"] == "sidecar"
    assert data["provenance"]["title"] == "html-meta"


def test_malformed_html_packages_with_a_warning(tmp_path, store):
    page = tmp_path / "broken.html"
    page.write_bytes(b"<html><head><title>Broken page</title><body><div><p>Only one line <b>unclosed")
    r = one(build([page], store, durable=False))
    check_bag(r.path)
    assert r.warnings == ["not found in the page: publication date, author, site name, canonical URL"]
    mee = premis_events(r)["mee"]
    assert mee.findtext("p:eventOutcomeInformation/p:eventOutcomeDetail/p:eventOutcomeDetailNote",
                        namespaces=P) == r.warnings[0]


def test_page_saved_complete(tmp_path, store):
    page = saved_complete(tmp_path / "saved")
    r = one(build([page], store, durable=False))
    check_bag(r.path)
    assert payload(r) == ["page.html", "page_files/logo.png", "page_files/street.jpg",
                          "page_files/style.css"]
    objects = premis_objects(r)
    assert {k: v[:2] for k, v in objects.items()} == {
        "data/page.html": ("text/html", "fmt/471"),
        "data/page_files/logo.png": ("image/png", "fmt/11"),
        "data/page_files/street.jpg": ("image/jpeg", "fmt/43"),
        "data/page_files/style.css": ("text/css", "x-fmt/224"),
    }
    assert objects["data/page_files/logo.png"][2:] == (len(png()), "page_files/logo.png")
    data = report_json(r)
    assert data["source"]["path"] == "data/page.html"
    assert data["attachments"] == [
        {"path": "data/page_files/logo.png", "size": len(png()), "media_type": "image/png"},
        {"path": "data/page_files/street.jpg", "size": len(jpeg()), "media_type": "image/jpeg"},
        {"path": "data/page_files/style.css", "size": 22, "media_type": "text/css"},
    ]
    assert r.files == 4
    # the same page saved again elsewhere is the same package
    again = saved_complete(tmp_path / "elsewhere")
    (second,) = build([again], store, durable=False)
    assert second.status == "exists" and second.package_id == r.package_id
    # one changed asset is another package
    (tmp_path / "elsewhere/page_files/logo.png").write_bytes(png() + b"\0")
    (third,) = build([again], store, durable=False)
    assert third.status == "built" and third.package_id != r.package_id


def make_folder(folder: Path) -> Path:
    folder.mkdir(parents=True)
    (folder / "report.txt").write_bytes(EXAMPLES.joinpath("000_5ed87340bfc4ba71.txt").read_bytes())
    (folder / "photos").mkdir()
    (folder / "photos" / "été à Raqqa.jpg").write_bytes(jpeg())
    (folder / "statement.pdf").write_bytes(pdf())
    (folder / ".DS_Store").write_bytes(b"\0\0\0\1Bud1")
    return folder


def test_folder_of_one_report(tmp_path, store):
    folder = make_folder(tmp_path / "report-2015-11")
    r = one(build([folder], store, durable=False))
    check_bag(r.path)
    assert r.source == str(folder)
    assert payload(r) == ["photos/été à Raqqa.jpg", "report.txt", "statement.pdf"]
    assert {k: v[:2] for k, v in premis_objects(r).items()} == {
        "data/photos/été à Raqqa.jpg": ("image/jpeg", "fmt/43"),
        "data/report.txt": ("text/plain", "x-fmt/111"),
        "data/statement.pdf": ("application/pdf", "fmt/18"),
    }
    data = report_json(r)
    assert data["title"] == "ISIS, trying to separate the city of Raqqa from the world"
    assert data["source"]["path"] == "data/report.txt"
    assert [a["path"] for a in data["attachments"]] == ["data/photos/été à Raqqa.jpg",
                                                        "data/statement.pdf"]
    assert r.warnings == ["hidden files left out: .DS_Store"]
    manifest = (Path(r.path) / "manifest-sha256.txt").read_text(encoding="utf-8")
    assert "data/photos/été à Raqqa.jpg" in manifest
    dc = etree.parse(str(Path(r.path) / "metadata/dc.xml")).getroot()
    assert dc.xpath("t:type/text()", namespaces={"t": "http://purl.org/dc/terms/"}) == [
        "Text", "StillImage"]


def test_folder_id_depends_on_names_and_bytes_not_location(tmp_path, store):
    first = one(build([make_folder(tmp_path / "a")], store, durable=False))
    (same,) = build([make_folder(tmp_path / "b")], store, durable=False)
    assert same.status == "exists" and same.package_id == first.package_id
    renamed = make_folder(tmp_path / "c")
    (renamed / "statement.pdf").rename(renamed / "declaration.pdf")
    assert one(build([renamed], store, durable=False)).package_id != first.package_id


def test_sidecar_names_the_report_file(tmp_path, store):
    folder = tmp_path / "two-pages"
    saved_complete(folder, "article")
    (folder / "comments.html").write_text("<html><body><p>More comments</p></body></html>")
    (folder / "dossier.meta.json").write_text(json.dumps({"report_file": "article.html",
                                                          "places": ["Raqqa"]}))
    r = one(build([folder], store, durable=False))
    data = report_json(r)
    assert data["source"]["path"] == "data/article.html"
    assert data["metadata"]["places"] == ["Raqqa"] and data["provenance"]["places"] == "sidecar"
    assert "data/comments.html" in [a["path"] for a in data["attachments"]]
    assert "dossier.meta.json" not in payload(r)


def test_folder_of_reports_with_a_saved_page(tmp_path, store):
    reports = tmp_path / "reports"
    shutil.copytree(EXAMPLES, reports)
    saved_complete(reports)
    results = build([reports], store, durable=False)
    assert sorted(Path(r.source).name for r in results if r.status == "built") == [
        "000_5ed87340bfc4ba71.txt", "002_7411d2c347773d6f.txt", "003_e8bb3f61511eb9e0.txt",
        "page.html"]
    page = next(r for r in results if r.source.endswith("page.html"))
    assert payload(page) == ["page.html", "page_files/logo.png", "page_files/street.jpg",
                             "page_files/style.css"]


@pytest.mark.parametrize("files, message", [
    ({"photo.jpg": jpeg(), "scan.pdf": pdf()}, "folder holds no report file"),
    ({"a.html": b"<p>a</p>", "b.txt": b"b", "photo.jpg": jpeg()},
     "folder holds several report files (a.html, b.txt); name one with report_file"),
])
def test_folder_without_one_report_file_is_refused(tmp_path, store, files, message):
    folder = tmp_path / "dossier"
    folder.mkdir()
    for name, data in files.items():
        (folder / name).write_bytes(data)
    (r,) = build([folder], store, durable=False)
    assert r.status == "failed" and r.source == str(folder) and message in r.message
    assert list(store.iterdir()) == []


def test_control_characters_in_names_are_refused(tmp_path, store):
    folder = make_folder(tmp_path / "dossier")
    (folder / "photos" / "bad\nname.jpg").write_bytes(jpeg())
    (r,) = build([folder], store, durable=False)
    assert r.status == "failed"
    assert r.source == str(folder / "photos" / "bad\nname.jpg")
    assert "'bad\\nname.jpg' contains a control character" in r.message
    assert list(store.iterdir()) == []


def test_extension_mismatch_is_a_warning_and_in_premis(tmp_path, store):
    folder = make_folder(tmp_path / "dossier")
    (folder / "photos" / "fake.jpg").write_bytes(pdf())
    r = one(build([folder], store, durable=False))
    note = ("data/photos/fake.jpg: extension mismatch: the content is Acrobat PDF 1.4 - "
            "Portable Document Format, fmt/18, application/pdf")
    assert note in r.warnings
    event = premis_events(r)["for"]
    assert event.findtext("p:eventOutcomeInformation/p:eventOutcomeDetail/p:eventOutcomeDetailNote",
                          namespaces=P) == note
    assert premis_objects(r)["data/photos/fake.jpg"][:2] == ("application/pdf", "fmt/18")


@pytest.mark.parametrize("name, gz, media_type, puid", [
    ("capture.warc.gz", True, "application/gzip", "x-fmt/266"),
    ("capture.warc", False, "application/warc", "fmt/1355"),
])
def test_warc_capture(tmp_path, store, name, gz, media_type, puid):
    warc = tmp_path / name
    write_warc(warc, [(URL, news_page())], gzip=gz)
    r = one(build([warc], store, durable=False))
    check_bag(r.path)
    assert (Path(r.path) / "data" / name).read_bytes() == warc.read_bytes()
    assert premis_objects(r) == {f"data/{name}": (media_type, puid, warc.stat().st_size, name)}
    data = report_json(r)
    assert data["title"] == "Raqqa cut off from the world"
    assert data["body"] == PARAGRAPHS and len(data["comments"]) == 3
    assert data["metadata"]["source_url"] == URL and data["metadata"]["captured"] == CAPTURED
    assert data["metadata"]["capturing_agent"] == SOFTWARE
    assert {k: data["provenance"][k] for k in ("source_url", "captured", "capturing_agent", "title")} == {
        "source_url": "warc", "captured": "warc", "capturing_agent": "warc", "title": "html-meta"}
    capture = data["source"]["capture"]
    assert capture["target_url"] == URL and capture["date"] == CAPTURED
    assert capture["software"] == SOFTWARE and capture["record_id"].startswith("<urn:uuid:")
    assert data["source"]["encoding"] is None
    cap = premis_events(r)["cap"]
    assert cap.findtext("p:eventDateTime", namespaces=P) == CAPTURED
    assert URL in cap.findtext("p:eventDetailInformation/p:eventDetail", namespaces=P)
    agent_id = cap.findtext("p:linkingAgentIdentifier/p:linkingAgentIdentifierValue", namespaces=P)
    root = etree.parse(str(Path(r.path) / "metadata/premis.xml")).getroot()
    names = {a.findtext("p:agentIdentifier/p:agentIdentifierValue", namespaces=P):
             a.findtext("p:agentName", namespaces=P) for a in root.iterfind("p:agent", P)}
    assert names[agent_id] == SOFTWARE


def test_wacz_capture_reads_the_main_page(tmp_path, store):
    warc = tmp_path / "data.warc.gz"
    other = "https://raqqa-voices.example.org/about/"
    write_warc(warc, [(other, news_page(title="About us", url=other)), (URL, news_page())])
    wacz = tmp_path / "capture.wacz"
    write_wacz(wacz, warc, URL)
    r = one(build([wacz], store, durable=False))
    check_bag(r.path)
    assert premis_objects(r) == {"data/capture.wacz": (
        "application/x-wacz", "fmt/1840", wacz.stat().st_size, "capture.wacz")}
    data = report_json(r)
    assert data["title"] == "Raqqa cut off from the world"
    assert data["source"]["capture"]["warc"] == "archive/data.warc.gz"
    assert data["metadata"]["source_url"] == URL
    assert r.warnings == []


@pytest.mark.parametrize("gz", [True, False])
def test_truncated_warc_is_refused_with_the_offset(tmp_path, store, gz):
    warc = tmp_path / ("cut.warc.gz" if gz else "cut.warc")
    offsets = write_warc(warc, [(URL, news_page())], gzip=gz)
    data = warc.read_bytes()
    warc.write_bytes(data[:offsets[1] + 200])  # cut inside the response record
    (r,) = build([warc], store, durable=False)
    assert r.status == "failed"
    assert f"truncated or corrupt WARC: reading failed at the record at offset {offsets[1]}" in r.message
    assert list(store.iterdir()) == []


def test_corrupt_warc_and_wacz_are_refused(tmp_path, store):
    warc = tmp_path / "bad.warc.gz"
    offsets = write_warc(warc, [(URL, news_page())])
    data = bytearray(warc.read_bytes())
    data[offsets[1] + 100:offsets[1] + 110] = b"X" * 10
    warc.write_bytes(bytes(data))
    not_warc = tmp_path / "notes.warc"
    not_warc.write_text("just some notes\n")
    wacz = tmp_path / "bad.wacz"
    wacz.write_bytes(b"PK\x03\x04 not really a zip")
    results = {Path(r.source).name: r for r in build([warc, not_warc, wacz], store, durable=False)}
    assert f"record at offset {offsets[1]}: bad gzip data" in results["bad.warc.gz"].message
    assert "not a WARC file" in results["notes.warc"].message
    assert "not a valid WACZ (zip)" in results["bad.wacz"].message
    assert all(r.status == "failed" for r in results.values())
    assert list(store.iterdir()) == []


def test_cli_builds_every_kind_and_names_failures(tmp_path):
    page = saved_complete(tmp_path / "saved")
    folder = make_folder(tmp_path / "dossier")
    warc = tmp_path / "capture.warc.gz"
    offsets = write_warc(warc, [(URL, news_page())])
    cut = tmp_path / "cut.warc.gz"
    cut.write_bytes(warc.read_bytes()[:offsets[1] + 50])
    out = tmp_path / "store"
    result = CliRunner().invoke(main, ["build", str(page), str(folder), str(warc), str(cut),
                                       "--out", str(out), "--no-fsync", "-j", "1"])
    assert result.exit_code == 1
    assert "Traceback" not in result.output
    assert "3 built, 0 already packaged, 1 failed" in result.output
    assert f"error: {cut}: truncated or corrupt WARC" in result.output
    assert len(list(out.iterdir())) == 3


def test_subfolders_of_a_folder_of_reports_are_judged_alone(tmp_path, store):
    reports = tmp_path / "reports"
    (reports / "2015").mkdir(parents=True)
    shutil.copy(EXAMPLES / "002_7411d2c347773d6f.txt", reports / "2015" / "short.txt")
    shutil.copy(EXAMPLES / "003_e8bb3f61511eb9e0.txt", reports / "2015" / "plain.txt")
    make_folder(reports / "2016" / "with-photos")
    results = build([reports], store, durable=False)
    assert sorted((r.status, Path(r.source).relative_to(reports).as_posix(), r.files)
                  for r in results) == [
        ("built", "2015/plain.txt", 1), ("built", "2015/short.txt", 1),
        ("built", "2016/with-photos", 3)]
    # a report file beside a subfolder: the folder is one report, the subfolder its attachments
    shutil.copy(EXAMPLES / "000_5ed87340bfc4ba71.txt", reports / "2016" / "index.txt")
    (r,) = build([reports / "2016"], store, durable=False)
    assert r.status == "built" and r.files == 4 and r.source == str(reports / "2016")


def test_empty_captured_page_is_named(tmp_path, store):
    warc = tmp_path / "empty-page.warc"
    write_warc(warc, [(URL, "")], gzip=False)
    (r,) = build([warc], store, durable=False)
    assert r.status == "failed" and r.message == f"the captured page {URL}: empty file: nothing to package"


def test_undecodable_file_name_is_refused(tmp_path, store):
    folder = make_folder(tmp_path / "dossier")
    bad = os.fsdecode(b"photo-\xe9t\xe9.jpg")  # Latin-1 bytes on a UTF-8 file system
    (folder / "photos" / bad).write_bytes(jpeg())
    (r,) = build([folder], store, durable=False)
    assert r.status == "failed" and "is not valid UTF-8" in r.message
    assert list(store.iterdir()) == []


def test_store_inside_a_folder_of_reports_is_not_an_input(tmp_path):
    """`cd reports && archiver build .`: the default store lands inside the folder it reads."""
    folder = tmp_path / "reports"
    folder.mkdir()
    for seed in sorted(EXAMPLES.glob("*.txt")):
        shutil.copy(seed, folder / seed.name)
    first = build([folder], folder / "packages", durable=False)
    assert [r.status for r in first] == ["built"] * 3
    again = build([folder], folder / "packages", durable=False)
    assert [r.status for r in again] == ["exists"] * 3


def test_store_inside_a_folder_of_one_report_is_not_payload(tmp_path):
    folder = tmp_path / "report"
    folder.mkdir()
    shutil.copy(EXAMPLES / "000_5ed87340bfc4ba71.txt", folder / "report.txt")
    (folder / "notes.pdf").write_bytes(b"%PDF-1.4\n%%EOF\n")
    (result,) = build([folder], folder / "store", durable=False)
    assert result.status == "built", result.message
    payload = sorted(p.relative_to(result.path).as_posix() for p in (Path(result.path) / "data").rglob("*"))
    assert payload == ["data/notes.pdf", "data/report.txt"]


REPORT_TEXT = "Market closed\n\nThe main market stayed closed for a third day after the shelling.\n"


def test_links_in_a_folder_of_reports_are_refused_never_followed(tmp_path):
    """Two links to "." made the walk grow without end; links are named and refused."""
    folder = tmp_path / "in"
    (folder / "a").mkdir(parents=True)
    (folder / "a" / "r.txt").write_text(REPORT_TEXT, encoding="utf-8")
    (folder / "l1").symlink_to(".")
    (folder / "l2").symlink_to(".")
    (folder / "host.txt").symlink_to("/etc/hostname")
    results = build([folder], tmp_path / "store", durable=False)
    by_status = {}
    for r in results:
        by_status.setdefault(r.status, []).append(r)
    assert [Path(r.source).name for r in by_status["built"]] == ["r.txt"]
    failed = {Path(r.source).name: r.message for r in by_status["failed"]}
    assert set(failed) == {"l1", "l2", "host.txt"}
    assert all("symbolic link" in m for m in failed.values())


def test_a_fifo_is_refused_not_read(tmp_path):
    fifo = tmp_path / "pipe.txt"
    os.mkfifo(fifo)
    (r,) = build([fifo], tmp_path / "store", durable=False)
    assert r.status == "failed" and "not a regular file" in r.message


def test_the_store_inside_the_input_folder_is_never_packaged(tmp_path):
    folder = tmp_path / "reports"
    folder.mkdir()
    (folder / "r.txt").write_text(REPORT_TEXT, encoding="utf-8")
    first = one(build([folder], folder, durable=False))  # --out is the input folder itself
    (again,) = build([folder], folder, durable=False)
    assert again.status == "exists" and again.package_id == first.package_id
    assert sorted(p.name for p in folder.iterdir()) == sorted(["r.txt", first.package_id])


def test_a_page_without_title_is_titled_by_its_file_name_and_validates(tmp_path):
    page = tmp_path / "untitled.html"
    page.write_text("<html><body><p>unclosed <b>bold <div>", encoding="utf-8")
    r = one(build([page], tmp_path / "store", durable=False))
    assert any("file name stands for it" in w for w in r.warnings)
    dc = (Path(r.path) / "metadata" / "dc.xml").read_text(encoding="utf-8")
    assert "<dcterms:title>untitled.html</dcterms:title>" in dc
    assert validate_bag(r.path).valid


def test_a_sidecar_nested_too_deeply_fails_that_report_only(tmp_path):
    folder = tmp_path / "in"
    folder.mkdir()
    (folder / "r.txt").write_text(REPORT_TEXT, encoding="utf-8")
    (folder / "r.meta.json").write_text("[" * 100000 + "]" * 100000, encoding="utf-8")
    (r,) = build([folder], tmp_path / "store", durable=False)
    assert r.status == "failed" and "nested too deeply" in r.message


def test_a_warc_page_record_too_large_to_be_a_page_is_refused(tmp_path):
    """A 70 KB .warc.gz can hold gigabytes of zeros as its page: refused, not read whole."""
    import zlib
    size = 65 << 20
    gz = zlib.compressobj(9, zlib.DEFLATED, 31)
    capture = tmp_path / "bomb.warc.gz"
    with open(capture, "wb") as f:
        f.write(gz.compress(b"WARC/1.0\r\nWARC-Type: resource\r\nWARC-Record-ID: "
                            b"<urn:uuid:12345678-1234-1234-1234-123456789012>\r\nWARC-Date: "
                            b"2020-01-01T00:00:00Z\r\nWARC-Target-URI: https://x.example/\r\n"
                            b"Content-Type: text/html\r\nContent-Length: %d\r\n\r\n" % size))
        zeros = bytes(1 << 20)
        for _ in range(size >> 20):
            f.write(gz.compress(zeros))
        f.write(gz.compress(b"\r\n\r\n") + gz.flush())
    (r,) = build([capture], tmp_path / "store", durable=False)
    assert r.status == "failed" and "more than 64 MiB" in r.message
    assert not (tmp_path / "store").exists() or list((tmp_path / "store").iterdir()) == []


def test_a_store_inside_a_folder_of_reports_is_left_out_with_a_warning(tmp_path, monkeypatch):
    """The README's own sequence: `cd reports && archiver build .`, then build the folder."""
    reports = tmp_path / "reports"
    shutil.copytree(EXAMPLES, reports)
    monkeypatch.chdir(reports)
    first = CliRunner().invoke(main, ["build", "--no-fsync", "."])
    assert first.exit_code == 0, first.output
    assert (reports / "packages").is_dir()
    monkeypatch.chdir(tmp_path)
    results = build([str(reports)], str(tmp_path / "elsewhere"), durable=False, jobs=1)
    assert sorted(r.status for r in results) == ["built", "built", "built", "left out"]
    left = [r for r in results if r.status == "left out"][0]
    assert left.source == str(reports / "packages") and "folder of packages" in left.message
    again = CliRunner().invoke(main, ["build", "--no-fsync", "--out", str(tmp_path / "third"),
                                      str(reports)])
    assert again.exit_code == 0 and "1 left out" in again.output, again.output
    assert f"warning: {reports / 'packages'}" in again.output


def test_a_bag_named_as_input_is_left_out_not_built(tmp_path):
    bag = tmp_path / "bag"
    bag.mkdir()
    (bag / "report.txt").write_text("A title\n\nA paragraph.\n", encoding="utf-8")
    bagit.make_bag(str(bag))
    results = build([str(bag)], str(tmp_path / "store"), durable=False, jobs=1)
    assert [(r.status, r.source) for r in results] == [("left out", str(bag))]
