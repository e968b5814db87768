"""archiver serve over HTTP: the JSON API, the pages' HTML, downloads, and what is refused."""
from __future__ import annotations

import hashlib
import http.client
import json
import os
import shutil
import time
from pathlib import Path
from urllib.parse import quote, urlsplit

from servefixtures import HOSTILE, HOSTILE_NAME, HOSTILE_TITLE, SIDECAR, Server, archiver
from seeds import SEED_000, SEED_002


def names(listing: dict) -> list[str]:
    return [p["name"] for p in listing["packages"]]


def raw_get(server, target: str, host: str | None = None) -> int:
    """A request with the target sent exactly as written (no client-side normalization)."""
    parts = urlsplit(server.url)
    conn = http.client.HTTPConnection(parts.hostname, parts.port, timeout=30)
    conn.putrequest("GET", target, skip_host=True)
    conn.putheader("Host", host or parts.netloc)
    conn.endheaders()
    response = conn.getresponse()
    body = response.read()
    conn.close()
    assert b"Traceback" not in body
    return response.status


def test_the_list_has_every_package_and_nothing_from_outside(server, store):
    listing = server.json("/api/packages?per_page=100")
    assert sorted(names(listing)) == sorted(p.name for p in store.packages)
    assert listing["total"] == len(store.packages)
    assert "rpt-linked-from-outside" not in names(listing)


def test_list_columns_come_from_the_packages(server, store):
    rows = {p["name"]: p for p in server.json("/api/packages?per_page=100")["packages"]}
    side = rows[store.sidecar.name]
    assert side["source_url"] == SIDECAR["source_url"]
    assert side["issued"] == SIDECAR["issued"] and side["captured"] == SIDECAR["captured"]
    assert side["publisher"] == SIDECAR["publisher"] and side["language"] == "en"
    assert side["size"] == SEED_000.stat().st_size + 1 and side["files"] == 1
    deposited = rows[store.seed000.name]
    assert deposited["deposits"] == 1 and deposited["deposit_targets"][0].startswith("ocfl:")
    failed = rows[store.seed002.name]
    assert (failed["state"], failed["check_type"], failed["check_outcome"]) == ("failed", "fix", "failure")
    assert "BAGIT-CHECKSUM-MISMATCH" in failed["check_detail"]
    broken = rows[store.broken.name]
    assert broken["state"] == "unreadable"
    assert [(p["code"], p["path"]) for p in broken["problems"]] == [
        ("SERVE-METADATA-UNREADABLE", "metadata/report.json")]
    assert rows[store.sidecar.name]["state"] == "unchecked"  # the one package never audited
    audited = rows[store.seed003.name]
    assert (audited["state"], audited["audit_outcome"], audited["audit_findings"]) == ("passed", "success", 0)
    assert audited["checked"] == audited["audit_time"]
    linking = rows[store.linking.name]
    assert (linking["state"], linking["audit_outcome"], linking["audit_findings"]) == ("failed", "failure", 3)


def test_problems_come_first_then_by_title(server, store):
    listing = server.json("/api/packages?per_page=100")
    states = [p["state"] for p in listing["packages"]]
    assert states[:3] == ["failed", "failed", "unreadable"]
    assert {p["name"] for p in listing["packages"][:2]} == {store.seed002.name, store.linking.name}
    order = ("failed", "unreadable", "unchecked", "passed")
    rest = [(order.index(p["state"]), p["title"].casefold()) for p in listing["packages"]]
    assert rest == sorted(rest)


def test_filter_by_state_and_language(server, store):
    assert set(names(server.json("/api/packages?state=failed"))) == {store.seed002.name, store.linking.name}
    assert names(server.json("/api/packages?state=unreadable")) == [store.broken.name]
    due = server.json("/api/packages?state=due")
    assert names(due) == [store.sidecar.name]
    assert server.json("/api/packages?language=xx")["total"] == 0


def test_sort_and_paging(server, store):
    by_size = server.json("/api/packages?sort=size&order=desc&per_page=100")["packages"]
    sizes = [p["size"] for p in by_size if p["size"] is not None]
    assert sizes == sorted(sizes, reverse=True)
    first = server.json("/api/packages?sort=title&per_page=25&page=1")
    assert first["total"] == len(store.packages) and len(first["packages"]) == len(store.packages)
    assert server.json("/api/packages?sort=title&per_page=25&page=2")["packages"] == []
    assert server.get("/api/packages?page=x")[0] == 400


def test_a_search_or_page_the_catalogue_cannot_answer_is_a_400_that_says_why(server, store):
    for query, word in (("q=%00", "q"), ("q=a%00b", "q"), ("q=%1b", "q"),
                        ("page=99999999999999999999", "page"), ("page=1000000001", "page"),
                        ("page=0", "page"), ("page=-3", "page"), ("per_page=1e3", "per_page")):
        status, headers, body = server.get(f"/api/packages?{query}")
        assert status == 400, (query, status, body[:300])
        answer = json.loads(body)
        assert answer["status"] == 400 and word in answer["message"], (query, answer)
        status, _, body = server.get(f"/?{query}")  # the page says it too, no traceback
        assert status == 400 and b"Traceback" not in body and b"Internal" not in body, query
    last = server.json("/api/packages?page=1000000000")  # the largest page: nothing on it
    assert (last["packages"], last["total"]) == ([], len(store.packages))
    tabbed = server.json("/api/packages?q=zebra%09finch")  # a tab is a space
    assert tabbed["total"] == 0 and "Traceback" not in server.log.read_text()


def test_search_by_body_word_title_url_and_identifier(server, store):
    assert names(server.json("/api/packages?q=zebrafinch")) == [store.hostile.name]
    assert names(server.json("/api/packages?q=zebrafin")) == [store.hostile.name]  # prefixes
    assert names(server.json("/api/packages?q=" + quote("so-called War of Liberation"))) == \
        [store.seed002.name]
    assert names(server.json("/api/packages?q=" + quote(SIDECAR["source_url"]))) == [store.sidecar.name]
    assert names(server.json("/api/packages?q=" + store.seed003.name)) == [store.seed003.name]
    # what FTS5 would read as syntax is only text
    for q in ('"', "title:x", "a OR b", "NEAR(", "*", "-x", "'; DROP TABLE packages; --"):
        assert server.get("/api/packages?q=" + quote(q))[0] == 200
    assert server.json("/api/packages")["total"] == len(store.packages)


def test_package_page_data(server, store):
    p = server.json(f"/api/packages/{store.seed000.name}")
    assert p["identifier"] == store.seed000.name
    comments = p["report"]["comments"]
    assert [(c["number"], c["author"], c["published"]) for c in comments[:2]] == [
        (1, "Edwin", "2015-11-20T23:03"), (2, "Brandi Taylor", "2015-11-21T13:27")]
    assert p["payload"][0]["path"] == f"data/{SEED_000.name}" and p["payload"][0]["role"] == "report"
    assert p["payload"][0]["checksums"]["sha256"] == hashlib.sha256(SEED_000.read_bytes()).hexdigest()
    assert p["payload"][0]["pronom"] == "x-fmt/111" and p["payload"][0]["size"] == SEED_000.stat().st_size
    kinds = [e["type"] for e in p["timeline"]]
    assert kinds[:4] == ["mes", "for", "mee", "cre"] and "rep" in kinds
    deposit = next(e for e in p["timeline"] if e["type"] == "rep")
    assert deposit["receipt"]["outcome"] == "success" and deposit["receipt"]["verified"] == "true"
    assert {"term": "identifier", "value": store.seed000.name, "lang": None} in p["dc"]
    assert ["External-Identifier", store.seed000.name] in p["bag_info"]


def test_failed_checks_and_audits_are_on_the_timeline(server, store):
    p = server.json(f"/api/packages/{store.seed002.name}")
    check, first_seen, audit = p["timeline"][-3:]
    assert (check["type"], check["outcome"], check["source"]) == ("fix", "failure", "premis")
    assert "BAGIT-CHECKSUM-MISMATCH" in check["outcome_detail"]
    assert (first_seen["label"], first_seen["source"]) == ("first seen", "ledger")
    assert (audit["type"], audit["outcome"], audit["source"]) == ("audit", "failure", "ledger")
    assert audit["details"][0].startswith(f"AUDIT-FILE-CHANGED data/{SEED_002.name}")
    assert p["ledger"]["last_outcome"] == "failure"
    assert [(f["code"], f["path"]) for f in p["ledger"]["findings"]] == [
        ("AUDIT-FILE-CHANGED", f"data/{SEED_002.name}")]
    assert server.json(f"/api/packages/{store.sidecar.name}")["ledger"] == {"known": False}


def test_withheld_names_stay_withheld(server, store):
    p = server.json(f"/api/packages/{store.sidecar.name}")
    comments = p["report"]["comments"]
    assert comments and all(c["author"] is None for c in comments)
    assert [c["number"] for c in comments if c["author_withheld"]] == [1, 2]  # 3 and 4 had no name
    status, _, html = server.get(f"/packages/{store.sidecar.name}")
    assert status == 200 and b"Edwin" not in html and b"Brandi" not in html
    assert b"name withheld" in html


def test_hostile_values_are_escaped_in_the_html_and_plain_in_the_json(server, store):
    p = server.json(f"/api/packages/{store.hostile.name}")
    assert p["title"] == HOSTILE_TITLE
    assert p["payload"][0]["path"] == f"data/{HOSTILE_NAME}"
    for path in (f"/packages/{store.hostile.name}", "/?q=zebrafinch", "/health", "/"):
        status, headers, html = server.get(path)
        assert status == 200
        assert b"<script" not in html.lower() and b"<iframe" not in html.lower()
        assert b"<img src=x" not in html.lower()
        assert "script-src" not in headers["Content-Security-Policy"]  # none: default-src 'none'
        assert "default-src 'none'" in headers["Content-Security-Policy"]
    status, _, html = server.get(f"/packages/{store.hostile.name}")
    assert b"&lt;script&gt;window.__pwned = 1;" in html


def test_download_is_an_attachment_with_the_original_bytes(server, store):
    rel = f"data/{HOSTILE_NAME}"
    status, headers, body = server.get(f"/packages/{store.hostile.name}/files/{quote(rel)}")
    assert status == 200 and body == HOSTILE
    assert headers["Content-Type"] == "application/octet-stream"
    assert headers["Content-Disposition"].startswith("attachment")
    assert "sandbox" in headers["Content-Security-Policy"]
    assert headers["X-Content-Type-Options"] == "nosniff"
    status, headers, body = server.get(f"/packages/{store.seed000.name}/files/metadata/premis.xml")
    assert status == 200 and body == (store.seed000 / "metadata" / "premis.xml").read_bytes()


def test_missing_packages_and_files_are_404_not_tracebacks(server, store):
    for path in ("/packages/rpt-00000000000000000000", "/api/packages/rpt-00000000000000000000",
                 f"/packages/{store.seed000.name}/files/data/none.txt",
                 f"/packages/{store.seed000.name}/files/bagit.txt.bak",
                 "/packages/rpt-linked-from-outside", "/api/packages/rpt-linked-from-outside",
                 "/packages/rpt-linked-from-outside/files/bagit.txt",
                 f"/packages/{store.linking.name}/files/data/passwd", "/no/such/page"):
        status, _, body = server.get(path)
        assert status == 404, path
        assert b"Traceback" not in body and b"root:" not in body
    status, _, body = server.get("/api/packages/rpt-00000000000000000000")
    assert json.loads(body)["status"] == 404


def test_traversal_gets_404(server, store):
    name = store.seed000.name
    for target in ("/packages/../../../../etc/passwd", f"/packages/{name}/files/../../../../etc/passwd",
                   f"/packages/{name}/files/..%2F..%2F..%2F..%2Fetc%2Fpasswd",
                   f"/packages/{name}/files/data%2F..%2F..%2Fbagit.txt",
                   f"/packages/{name}/files/%2e%2e/%2e%2e/etc/passwd",
                   f"/packages/..%2F{name}", f"/packages/{name}/files/data/..%5c..%5cbagit.txt",
                   f"/packages/{name}/files//etc/passwd", f"/packages/{name}/files/data/%00",
                   f"/packages/{name}/files/./bagit.txt", "/packages/.%2e/.%2e/etc/passwd",
                   "/static/../app.py", "/static/..%2fapp.py", "/static/%2e%2e/app.py"):
        assert raw_get(server, target) == 404, target


def test_only_get_and_head(server, store):
    parts = urlsplit(server.url)
    for method in ("POST", "PUT", "DELETE", "PATCH"):
        conn = http.client.HTTPConnection(parts.hostname, parts.port, timeout=30)
        conn.request(method, f"/packages/{store.seed000.name}", body=b"x")
        assert conn.getresponse().status == 405, method
        conn.close()


def test_host_header_must_name_the_loopback(server):
    assert raw_get(server, "/", host="evil.example") == 403
    assert raw_get(server, "/", host=f"evil.example:{urlsplit(server.url).port}") == 403
    assert raw_get(server, "/", host=f"localhost:{urlsplit(server.url).port}") == 200


def _snapshot(root: Path) -> dict:
    out = {}
    for folder, dirs, files in os.walk(root):
        for name in dirs + files:
            path = Path(folder) / name
            st = os.lstat(path)
            out[str(path.relative_to(root))] = (st.st_mode, st.st_size, st.st_mtime_ns,
                                                path.read_bytes() if path.is_file() and not path.is_symlink() else None)
    st = os.lstat(root)
    out["."] = (st.st_mode, st.st_mtime_ns)
    return out


def test_serving_changes_nothing_in_the_store_or_the_ledger(server, store):
    before = _snapshot(store.path)
    ledger = store.ledger.read_bytes()
    server.json("/api/packages?q=raqqa&per_page=100")
    for bag in store.packages:
        server.get(f"/packages/{bag.name}")
        server.get(f"/api/packages/{bag.name}")
        server.get(f"/packages/{bag.name}/files/bagit.txt")
    server.get("/health")
    server.get("/api/health")
    assert _snapshot(store.path) == before
    assert store.ledger.read_bytes() == ledger


def test_health_counts_and_problems(server, store):
    h = server.json("/api/health")
    counts = h["counts"]
    assert (counts["failed"], counts["unreadable"], counts["unchecked"], counts["passed"],
            counts["due"], counts["total"]) == (2, 1, 1, 3, 1, len(store.packages))
    problems = {p["name"]: p for p in h["problems"]}
    assert set(problems) == {store.seed002.name, store.linking.name, store.broken.name}
    assert [(f["code"], f["path"]) for f in h["findings_by_package"][store.seed002.name]] == [
        ("AUDIT-FILE-CHANGED", f"data/{SEED_002.name}")]
    assert h["ledger"] == str(store.ledger)
    assert h["rounds"][0]["found"] == 3 and h["rounds"][0]["finished"]
    status, _, html = server.get("/health")
    assert status == 200
    assert f'href="/packages/{store.seed002.name}"'.encode() in html
    assert b"SERVE-METADATA-UNREADABLE" in html and b"metadata/report.json" in html
    assert b"AUDIT-FILE-CHANGED" in html and f"data/{SEED_002.name}".encode() in html


def eventually(check, timeout: float = 30):
    deadline = time.monotonic() + timeout
    while True:
        value = check()
        if value or time.monotonic() > deadline:
            return value
        time.sleep(0.1)


def test_new_changed_and_removed_packages_are_seen_without_a_restart(tmp_path):
    store = tmp_path / "packages"
    archiver("build", str(SEED_002), "--out", str(store), "--no-fsync", "-q")
    server = Server(store, tmp_path / "index.sqlite3", "--refresh", "0.3")
    try:
        server.wait_indexed()
        assert server.json("/api/packages")["total"] == 1
        report = tmp_path / "late.txt"
        report.write_text("A late report\n\nIt arrives while the server runs, with the word "
                          "quetzalcoatl in its body, so that the search can find it.\n")
        archiver("build", str(report), "--out", str(store), "--no-fsync", "-q")
        late = next(p for p in store.iterdir() if "late.txt" in (p / "metadata" / "report.json").read_text())
        found = eventually(lambda: names(server.json("/api/packages?q=quetzalcoatl")))
        assert found == [late.name]
        archiver("validate", "--record", str(late))
        row = eventually(lambda: next((r for r in server.json("/api/packages?q=quetzalcoatl")["packages"]
                                       if r["state"] == "passed"), None))
        assert row and row["check_type"] == "fix"
        shutil.rmtree(late)
        assert eventually(lambda: server.json("/api/packages")["total"] == 1)
        # the same catalogue serves again after a restart, reading nothing anew
        server.stop()
        server = Server(store, tmp_path / "index.sqlite3")
        assert server.wait_indexed()["to_read"] == 0
        assert server.json("/api/packages")["total"] == 1
    finally:
        server.stop()


def test_the_catalogue_is_its_owners_alone_and_rebuilt_when_damaged(tmp_path):
    from archiver.serve.index import Catalogue

    store = tmp_path / "packages"
    archiver("build", str(SEED_002), "--out", str(store), "--no-fsync", "-q")
    index = tmp_path / "cache" / "index.sqlite3"
    catalogue = Catalogue(store, index)
    catalogue.refresh()
    catalogue.close()
    assert index.stat().st_mode & 0o777 == 0o600
    index.write_bytes(b"not a database at all" * 100)
    catalogue = Catalogue(store, index)
    assert catalogue.refresh()["read"] == 1 and catalogue.page()["total"] == 1
    catalogue.close()
    assert index.stat().st_mode & 0o777 == 0o600


def test_a_serialized_bag_is_listed_not_opened(tmp_path):
    store = tmp_path / "packages"
    archiver("build", str(SEED_002), "--out", str(store), "--no-fsync", "-q")
    bag = next(store.iterdir())
    shutil.make_archive(str(store / "rpt-zipped"), "zip", store, bag.name)
    server = Server(store, tmp_path / "index.sqlite3")
    try:
        server.wait_indexed()
        rows = {p["name"]: p for p in server.json("/api/packages")["packages"]}
        assert set(rows) == {bag.name, "rpt-zipped.zip"}
        assert rows["rpt-zipped.zip"]["kind"] == "serialized"
        assert rows["rpt-zipped.zip"]["size"] == (store / "rpt-zipped.zip").stat().st_size
        for path in ("/packages/rpt-zipped.zip", "/packages/rpt-zipped.zip/files/bagit.txt"):
            assert server.get(path)[0] == 404
        status, _, html = server.get("/")
        assert status == 200 and b"serialized bag, not opened" in html
    finally:
        server.stop()


def test_seal_status_and_what_the_evidence_proves(server, store):
    rows = {p["name"]: p for p in server.json("/api/packages?per_page=100")["packages"]}
    assert rows[store.seed003.name]["sealed"] is True
    assert rows[store.seed000.name]["sealed"] is False
    ev = server.json(f"/api/packages/{store.seed003.name}")["evidence"]
    assert ev["verified"] and ev["proven"] and ev["problems"] == []
    assert any(s.startswith("payload unchanged since") for s in ev["statements"])
    assert any(s.startswith("sealed by key ed25519:") for s in ev["statements"])
    assert "evidence" not in server.json(f"/api/packages/{store.seed000.name}")
    timeline = server.json(f"/api/packages/{store.seed003.name}")["timeline"]
    seal = next(e for e in timeline if e["type"] == "dsg")
    assert seal["label"] == "digital signature generation" and seal["outcome"] == "success"
    assert server.json("/api/health")["counts"]["sealed"] == 1


def test_a_seal_broken_after_the_fact_is_shown_not_proven(store, evidence_config, tmp_path):
    """The payload rewritten and every manifest regenerated (bagit-python calls it valid)."""
    import bagit

    copy = tmp_path / "packages"
    copy.mkdir()
    bag = copy / store.seed003.name
    shutil.copytree(store.seed003, bag, symlinks=True)
    payload = next((bag / "data").iterdir())
    payload.write_bytes(payload.read_bytes().replace(b"Raqqa", b"Rakka"))
    loaded = bagit.Bag(str(bag))
    loaded.save(manifests=True)
    assert bagit.Bag(str(bag)).is_valid()
    server = Server(copy, tmp_path / "index.sqlite3", cwd=evidence_config)
    try:
        server.wait_indexed()
        ev = server.json(f"/api/packages/{bag.name}")["evidence"]
        assert ev["proven"] is False
        assert "EVIDENCE-PAYLOAD-CHANGED" in {p["code"] for p in ev["problems"]}
        status, _, html = server.get(f"/packages/{bag.name}")
        assert b"Not proven" in html and b"EVIDENCE-PAYLOAD-CHANGED" in html
    finally:
        server.stop()
