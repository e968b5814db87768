"""archiver serve in a real browser: Debian's Chromium, headless, driven by Playwright.

Playwright's own browser downloads are never used (`playwright install` cannot reach the
network here): Debian's `chromium` package is installed by .ci/run, or by tests/debian.py. Screenshots of the list
and a package page go to a temporary folder (ARCHIVER_SCREENSHOTS names another, e.g. docs/
to refresh the README's pictures).
"""
from __future__ import annotations

import os
from pathlib import Path
from urllib.parse import quote

import pytest

from debian import ensure_command
from servefixtures import HOSTILE_TITLE, SIDECAR

CHROMIUM = ensure_command("chromium", "chromium")
ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
        "--disable-background-networking", "--disable-component-update", "--disable-sync"]

@pytest.fixture(scope="module")
def browser():
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        b = p.chromium.launch(executable_path=CHROMIUM, args=ARGS)
        yield b
        b.close()


@pytest.fixture
def page(browser):
    context = browser.new_context(viewport={"width": 1400, "height": 900})
    page = context.new_page()
    page.dialogs = []
    page.on("dialog", lambda d: (page.dialogs.append(d.message), d.dismiss()))
    page.console = []
    page.on("console", lambda m: page.console.append(m.text))
    page.requests = []
    page.on("request", lambda r: page.requests.append(r.url))
    yield page
    context.close()


@pytest.fixture(scope="module")
def shots(tmp_path_factory) -> Path:
    folder = os.environ.get("ARCHIVER_SCREENSHOTS")
    return Path(folder) if folder else tmp_path_factory.mktemp("screenshots")


def test_the_list_shows_every_package(page, server, store, shots):
    page.goto(server.url)
    rows = page.locator("table.packages tbody tr")
    assert rows.count() == len(store.packages)
    titles = page.locator("table.packages td.title a").all_inner_texts()
    assert "Raqqa, the so-called (War of Liberation)" in titles
    assert page.locator("#count").inner_text().startswith(f"{len(store.packages)} packages")
    # the failed check comes first, marked as such
    first = rows.nth(0)
    assert first.locator(".state").inner_text() == "check failed"
    page.screenshot(path=str(shots / "serve-list.png"), full_page=True)
    assert (shots / "serve-list.png").stat().st_size > 10_000


def test_search_finds_a_report_by_a_word_of_its_body(page, server, store):
    page.goto(server.url)
    page.fill("input[name=q]", "sniper")  # a word of seed 002's body, and no other report's
    page.click("form.search button")
    found = page.locator("table.packages td.title a").all_inner_texts()
    assert found == ["Raqqa, the so-called (War of Liberation)"]
    page.fill("input[name=q]", "zebrafinch")
    page.click("form.search button")
    rows = page.locator("table.packages tbody tr")
    assert rows.count() == 1
    assert HOSTILE_TITLE in rows.nth(0).locator("td.title a").inner_text()
    page.fill("input[name=q]", SIDECAR["source_url"])
    page.click("form.search button")
    assert page.locator("table.packages tbody tr").count() == 1
    assert page.locator("table.packages .url").first.inner_text() == SIDECAR["source_url"]


def test_package_page_shows_comments_with_dates_and_the_timeline(page, server, store, shots):
    page.goto(server.url)
    page.click("text=ISIS, trying to separate the city of Raqqa from the world >> nth=0")
    page.wait_for_selector("h1")
    if store.seed000.name not in page.url:  # two titles alike: the sidecar copy came first
        page.goto(f"{server.url}packages/{store.seed000.name}")
    comments = page.locator("li.comment")
    assert comments.count() == 4
    first = comments.nth(0)
    assert first.locator(".who").inner_text() == "Edwin"
    assert first.locator("time").get_attribute("datetime") == "2015-11-20T23:03"
    assert "2015-11-20 23:03" in first.locator("time").inner_text()
    assert "Much thank you for real news of Raqqa!" in first.inner_text()
    events = page.locator("ol.timeline li.event strong").all_inner_texts()
    assert events[:4] == ["message digest calculation", "format identification",
                          "metadata extraction", "creation"]
    assert "replication" in events
    assert page.locator("ol.timeline .receipt").count() == 1
    assert page.locator("#files table a[download]").first.inner_text().startswith("data/")
    page.screenshot(path=str(shots / "serve-package.png"), full_page=True,
                    clip={"x": 0, "y": 0, "width": 1400, "height": 1700})
    assert (shots / "serve-package.png").stat().st_size > 10_000


def test_a_sealed_package_says_what_its_evidence_proves(page, server, store):
    page.goto(server.url)
    row = page.locator("table.packages tbody tr", has_text=store.seed003.name)
    assert row.locator("td").nth(8).inner_text() == "sealed"
    row.locator("td.title a").click()
    section = page.locator("#evidence")
    assert section.locator("strong").first.inner_text() == "Proven"
    assert "payload unchanged since" in section.inner_text()
    assert "digital signature generation" in page.locator("ol.timeline").inner_text()


def test_a_script_in_a_title_comment_or_file_name_does_not_run(page, server, store):
    for path in ("", "?q=zebrafinch", f"packages/{store.hostile.name}", "health"):
        page.goto(server.url + path)
        assert page.evaluate("window.__pwned") is None, path
    page.goto(f"{server.url}packages/{store.hostile.name}")
    # the script is shown as the text it is
    assert page.locator("h1").inner_text() == HOSTILE_TITLE
    assert "<script>window.__pwned = 2</script>Mallory" in page.locator("li.comment .who").inner_text()
    assert '<img src=x onerror="window.__pwned = 3">' in page.locator("li.comment p").inner_text()
    assert page.locator("#files a[download]").first.inner_text() == "data/<img src=x onerror=alert(1)>.txt"
    assert page.locator("script, iframe, main img").count() == 0
    assert page.dialogs == []
    assert all(r.startswith(server.url) for r in page.requests)  # nothing fetched from elsewhere


def test_a_download_is_not_opened_as_a_page(page, server, store):
    page.goto(f"{server.url}packages/{store.hostile.name}")
    with page.expect_download() as info:
        page.locator("#files a[download]").first.click()
    download = info.value
    assert download.suggested_filename.endswith(".txt")
    assert Path(download.path()).read_bytes().startswith(b"<script>")
    assert page.evaluate("window.__pwned") is None


def test_a_traversal_url_gets_404(page, server, store):
    name = store.seed000.name
    for path in (f"packages/{name}/files/..%2F..%2F..%2Fetc%2Fpasswd",
                 f"packages/{name}/files/data%2F..%2F..%2Fbagit.txt",
                 "packages/..%2F..%2Fetc%2Fpasswd", f"packages/{name}/files/data/passwd",
                 f"packages/{store.linking.name}/files/data/passwd",
                 "packages/rpt-linked-from-outside", "packages/rpt-00000000000000000000"):
        response = page.goto(server.url + path)
        assert response.status == 404, path
        assert "404" in page.locator("h1").inner_text()
        assert "root:" not in page.content()


def test_health_page_links_each_problem_to_its_package(page, server, store):
    page.goto(server.url + "health")
    assert page.locator("#count-failed").inner_text() == "2"
    assert page.locator("#count-unreadable").inner_text() == "1"
    assert page.locator("#count-total").inner_text() == str(len(store.packages))
    audited = page.locator("table.problems tr", has_text="Raqqa, the so-called")
    assert "AUDIT-FILE-CHANGED data/002_7411d2c347773d6f.txt" in audited.inner_text()
    assert page.locator("#rounds tbody tr").count() == 1
    row = page.locator("table.problems tr", has_text="SERVE-METADATA-UNREADABLE")
    assert "metadata/report.json" in row.inner_text()
    row.locator("a").first.click()
    assert page.url.endswith(f"/packages/{quote(store.broken.name)}")
    assert "SERVE-METADATA-UNREADABLE" in page.locator("#problems").inner_text()
