"""Saved web pages: article text, metadata and reader comments with trafilatura; the comments'
author and date structure, which trafilatura flattens, with a few lxml lookups."""
from __future__ import annotations

import codecs
import re

import lxml.html
from lxml import etree

from archiver.extract.encoding import decode_text
from archiver.extract.language import detect_language
from archiver.extract.text import parse_date
from archiver.model import Comment, Report, SourceFile
from archiver.problems import ArchiverError

_META_CHARSET = re.compile(rb"""<meta[^>]+charset\s*=\s*["']?\s*([A-Za-z0-9._:-]+)""", re.I)
_XML_DECLARATION = re.compile(r"^\s*<\?xml[^>]*\?>")
_CLOSED = re.compile(r"comments are closed", re.I)
_SPLIT_AUTHORS = re.compile(r"\s*;\s*")

# The fields a news page usually gives, and how a warning names them when it does not.
EXPECTED = {"title": "title", "issued": "publication date", "creator": "author",
            "publisher": "site name", "source_url": "canonical URL", "language": "language",
            "body": "article text"}

_CLASS = "contains(concat(' ', normalize-space(@class), ' '), ' {} ')"
_COMMENT_ITEMS = ("//*[self::li or self::article or self::div or self::section]"
                  f"[{_CLASS.format('comment')} or starts-with(@id, 'comment-')"
                  " or contains(@itemtype, 'schema.org/Comment')]")
_AUTHOR = (f".//*[{_CLASS.format('fn')}] | .//*[@itemprop='author'] | "
           f".//*[{_CLASS.format('comment-author')}] | .//cite")
_DATE_ATTR = (".//time/@datetime | .//*[@itemprop='dateCreated' or @itemprop='datePublished']"
              "/@content | .//*[@itemprop='dateCreated' or @itemprop='datePublished']/@datetime")
_DATE_TEXT = (f".//*[{_CLASS.format('comment-date')} or {_CLASS.format('comment-metadata')}"
              f" or {_CLASS.format('comment-meta')}] | .//time")


def decode_html(data: bytes, name: str, declared: str | None = None) -> tuple[str, str, list[str]]:
    """(text, encoding, warnings): the charset the HTTP header or the page declares when the
    bytes fit it, else what decode_text detects."""
    if not data.strip():
        raise ArchiverError(name, "empty file: nothing to package", "INPUT-EMPTY")
    warnings = []
    found = _META_CHARSET.search(data[:4096])
    candidates = [c for c in (declared, found and found.group(1).decode("ascii")) if c]
    if data.startswith((codecs.BOM_UTF8, codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)):
        candidates = []  # a byte order mark outranks any declaration (HTML standard)
    for label in candidates:
        try:
            codec = codecs.lookup(label).name
        except LookupError:
            warnings.append(f"unknown declared charset {label!r}")
            continue
        if codec in ("latin-1", "ascii", "iso8859-1"):
            codec = "cp1252"  # what browsers read for these labels (WHATWG Encoding)
        try:
            return data.decode(codec), codec, warnings
        except UnicodeDecodeError:
            warnings.append(f"declared charset {label} does not fit the bytes; detected instead")
    text, encoding = decode_text(data, name)
    return text, encoding, warnings


def _norm(text: str | None) -> str:
    return " ".join((text or "").split())


def _parse(markup: str) -> etree._Element | None:
    try:
        return lxml.html.document_fromstring(markup)
    except (etree.ParserError, ValueError):
        return None


def _language(tree: etree._Element | None) -> str | None:
    if tree is None:
        return None
    values = tree.xpath("/html/@lang | /html/@xml:lang | "
                        "//meta[translate(@http-equiv, 'CONTENT-LANGUAGE', 'content-language')"
                        "='content-language']/@content | //meta[@property='og:locale']/@content")
    for value in values:
        tag = value.strip().replace("_", "-").split(",")[0]
        if re.fullmatch(r"[A-Za-z]{2,3}(-[A-Za-z0-9]{1,8})*", tag):
            return tag
    return None


def _own(item: etree._Element, xpath: str, items: set) -> list:
    """xpath results inside `item` but not inside a reply nested in it."""
    out = []
    for hit in item.xpath(xpath):
        node = hit.getparent() if isinstance(hit, str) else hit
        owner = next((a for a in (node, *node.iterancestors()) if a in items), None)
        if owner is item:
            out.append(hit)
    return out


def _own_text(item: etree._Element, items: set) -> str:
    parts = []

    def walk(el):
        if el is not item and el in items:
            return
        if isinstance(el.tag, str) and el.text:
            parts.append(el.text)
        for child in el:
            walk(child)
            if child.tail:
                parts.append(child.tail)
    walk(item)
    return _norm(" ".join(parts))


def _structure(tree: etree._Element | None) -> list[tuple[str | None, str | None, str]]:
    """(author, date, own text) for each comment element of the page, in document order."""
    if tree is None:
        return []
    found = tree.xpath(_COMMENT_ITEMS)
    items = set(found)
    out = []
    for item in found:
        author = next((_norm(el.text_content()).removesuffix(" says:") for el in _own(item, _AUTHOR, items)
                       if _norm(el.text_content())), None)
        date = next((d for d in (parse_date(v) for v in _own(item, _DATE_ATTR, items)) if d), None)
        if date is None:
            date = next((d for d in (parse_date(_norm(el.text_content()))
                                     for el in _own(item, _DATE_TEXT, items)) if d), None)
        out.append((author, date, _own_text(item, items)))
    return out


def _comments(tree: etree._Element | None, text: str | None) -> tuple[list[Comment], list[str]]:
    """Comments as trafilatura found their text, each attributed to the page's comment element
    that holds it (for author and date)."""
    lines = [_norm(line) for line in (text or "").splitlines() if _norm(line)]
    if not lines:
        return [], []
    structure = _structure(tree)
    texts: dict[int, list[str]] = {}
    leftover, at = [], 0
    for line in lines:
        j = next((k for k in range(at, len(structure)) if line in structure[k][2]), None)
        if j is None:
            leftover.append(line)
            continue
        texts.setdefault(j, []).append(line)
        at = j
    comments = [Comment(number=n, author=structure[j][0], published=structure[j][1],
                        text="\n\n".join(texts[j]))
                for n, j in enumerate(sorted(texts), start=1)]
    warnings = []
    if leftover:
        comments.append(Comment(number=len(comments) + 1, author=None, published=None,
                                text="\n\n".join(leftover)))
        warnings.append("comment text without author or date structure kept as one comment")
    return comments, warnings


def extract_html(data: bytes, name: str, declared_charset: str | None = None) -> Report:
    """A saved web page from its bytes (the caller keeps the bytes for the payload)."""
    import trafilatura  # heavy import, only for HTML inputs

    text, encoding, warnings = decode_html(data, name, declared_charset)
    markup = _XML_DECLARATION.sub("", text, count=1)
    tree = _parse(markup)
    doc = None
    if tree is not None:
        try:
            doc = trafilatura.bare_extraction(
                markup, with_metadata=True, include_comments=True, include_tables=True,
                date_extraction_params={"extensive_search": False, "original_date": True})
        except Exception as e:  # trafilatura gives up on some broken trees; the page still packages
            warnings.append(f"article extraction failed: {type(e).__name__}")
    source = SourceFile(name=name.rsplit("/", 1)[-1], size=len(data), media_type="text/html",
                        encoding=encoding)
    report = Report(title=None, source=source)
    meta = {}
    if doc is not None:
        meta = {"title": doc.title, "publisher": doc.sitename, "source_url": doc.url,
                "issued": doc.date, "description": doc.description,
                "creator": [a for a in _SPLIT_AUTHORS.split(doc.author or "") if a],
                "subjects": list(dict.fromkeys([*(doc.categories or []), *(doc.tags or [])]))}
        body = [_norm(p) for p in (doc.text or "").splitlines() if _norm(p)]
        if body and meta["title"] and body[0] == _norm(meta["title"]):
            body.pop(0)
        report.body = body
        report.comments, more = _comments(tree, doc.comments)
        warnings += more
    if not meta.get("title") and tree is not None:
        meta["title"] = _norm(" ".join(tree.xpath("//title//text()"))) or None
    for key, value in meta.items():
        if value:
            setattr(report, key, value)
            report.provenance[key] = "html-meta"
    for key in ("body", "comments"):
        if getattr(report, key):
            report.provenance[key] = "extracted"
    if tree is not None and _CLOSED.search(tree.text_content() or ""):
        report.comments_closed = True
        report.provenance["comments_closed"] = "extracted"
    language = _language(tree)
    if language:
        report.language, report.provenance["language"] = language, "html-meta"
    else:
        language = detect_language(" ".join([report.title or "", *report.body]))
        if language:
            report.language, report.provenance["language"] = language, "detected"
    report.warnings = warnings
    return report


def missing_fields(report: Report) -> list[str]:
    """What a news page usually says that this one (with its sidecar) did not."""
    return [label for key, label in EXPECTED.items() if not getattr(report, key)]
