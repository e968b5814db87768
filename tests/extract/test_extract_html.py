"""Saved web pages: metadata, article text and structured comments, in any encoding."""
import pytest

from archiver.extract.html import extract_html, missing_fields
from archiver.model import Comment
from archiver.problems import ArchiverError

from webfixtures import COMMENTS, PARAGRAPHS, URL, news_page

EXPECTED_COMMENTS = [Comment(n, a, d, t) for n, a, d, t in COMMENTS]


def check_news_page(r):
    assert r.title == "Raqqa cut off from the world"
    assert r.creator == ["Abu Ibrahim"]
    assert r.issued == "2015-11-19"
    assert r.publisher == "Raqqa Voices"
    assert r.source_url == URL
    assert r.language == "en-GB"
    assert r.description == "ISIS tries to separate the city from the world."
    assert r.body == PARAGRAPHS
    assert r.comments == EXPECTED_COMMENTS
    assert r.comments_closed is True
    assert r.provenance == {
        "title": "html-meta", "creator": "html-meta", "issued": "html-meta",
        "publisher": "html-meta", "source_url": "html-meta", "language": "html-meta",
        "description": "html-meta", "body": "extracted", "comments": "extracted",
        "comments_closed": "extracted"}
    assert missing_fields(r) == []


def test_news_page_fields_and_comments():
    data = news_page().encode("utf-8")
    r = extract_html(data, "page.html")
    check_news_page(r)
    assert r.source.encoding == "utf-8" and r.source.media_type == "text/html"
    assert r.source.size == len(data)
    assert r.warnings == []


@pytest.mark.parametrize("charset, codec, label", [
    ("windows-1252", "cp1252", "cp1252"),
    ("iso-8859-1", "cp1252", "cp1252"),  # browsers read latin-1 labels as windows-1252
    ("utf-8", "utf-8-sig", "UTF-8"),  # a byte order mark outranks the declaration
])
def test_declared_encodings(charset, codec, label):
    r = extract_html(news_page(charset).encode(codec), "page.html")
    check_news_page(r)
    assert r.source.encoding == label


def test_undeclared_encoding_is_detected():
    page = news_page().replace('<meta charset="utf-8">', "")
    r = extract_html(page.encode("utf-16"), "page.htm")
    check_news_page(r)
    assert r.source.encoding == "UTF-16"


def test_wrong_declaration_is_noted_and_detected():
    r = extract_html(news_page("windows-1252").encode("utf-8"), "page.html")
    check_news_page(r)
    assert r.source.encoding == "UTF-8"
    assert r.warnings == ["declared charset windows-1252 does not fit the bytes; detected instead"]


def test_malformed_page_keeps_what_it_has():
    data = b"<html><head><title>Broken page</title><body><div><p>Only one line <b>unclosed"
    r = extract_html(data, "broken.html")
    assert r.title == "Broken page" and r.provenance["title"] == "html-meta"
    assert r.body == ["Only one line unclosed"] and r.comments == []
    assert r.language == "en" and r.provenance["language"] == "detected"
    assert missing_fields(r) == ["publication date", "author", "site name", "canonical URL"]
    r = extract_html(b"<<<>>>&&&", "junk.html")
    assert missing_fields(r) == ["title", "publication date", "author", "site name",
                                 "canonical URL", "language", "article text"]


def test_comments_without_structure_are_kept_together():
    page = (news_page().replace('class="comment depth-1"', 'class="note"')
            .replace('id="comment-', 'id="note-'))
    r = extract_html(page.encode("utf-8"), "page.html")
    assert r.body == PARAGRAPHS
    if r.comments:  # trafilatura still sees a comments section: one unattributed comment
        assert [(c.author, c.published) for c in r.comments] == [(None, None)]
        assert r.warnings == ["comment text without author or date structure kept as one comment"]


@pytest.mark.parametrize("data, code", [
    (b"", "INPUT-EMPTY"), (b"   \n", "INPUT-EMPTY"), (bytes(range(256)) * 8, "INPUT-BINARY"),
])
def test_bad_input_is_refused(data, code):
    with pytest.raises(ArchiverError) as err:
        extract_html(data, "bad.html")
    assert err.value.code == code and err.value.path == "bad.html"
