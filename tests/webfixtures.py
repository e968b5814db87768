"""Reports as they arrive from the web, written by the tests themselves: a news page with a
comments list, small but well-formed images and PDF, WARC and WACZ captures (warcio)."""
from __future__ import annotations

import io
import json
import struct
import zipfile
import zlib
from pathlib import Path

from warcio.statusandheaders import StatusAndHeaders
from warcio.warcwriter import WARCWriter

URL = "https://raqqa-voices.example.org/2015/11/raqqa-cut-off/"
SOFTWARE = "Webrecorder ArchiveWeb.page 0.11.2"
CAPTURED = "2016-01-05T10:00:00Z"

PARAGRAPHS = [
    "ISIS announced last Wednesday that all internet cafés in the city would be closed and "
    "that satellite dishes must be handed in within a week.",
    "Residents told our correspondent that the decision is meant to cut the city off from the "
    "world, so that news of the air strikes and of the executions cannot reach anyone outside.",
    "“We are living in a big prison,” said Abo Alaa, a civilian from Raqqa, who asked that his "
    "real name not be used. Prices of food have doubled since the summer.",
]

COMMENTS = [
    (1, "Edwin", "2015-11-20T23:03+00:00", "Much thank you for real news of Raqqa!"),
    (2, "Brandi Taylor", "2015-11-21T13:27+00:00",
     "Stay safe. The world is watching.\n\nWe share every report you write."),
    (3, "Sami", "2015-11-24T22:16+00:00", "Are the bakeries still open in the old city?"),
]


def _comment(cid: int, author: str, iso: str, shown: str, paragraphs: list[str],
             replies: str = "") -> str:
    body = "".join(f"<p>{p}</p>" for p in paragraphs)
    children = f'<ol class="children">{replies}</ol>' if replies else ""
    return f"""<li id="comment-{cid}" class="comment depth-1">
<article id="div-comment-{cid}" class="comment-body">
<footer class="comment-meta"><div class="comment-author vcard"><b class="fn">{author}</b>
<span class="says">says:</span></div>
<div class="comment-metadata"><a href="#comment-{cid}"><time datetime="{iso}">{shown}</time></a></div>
</footer>
<div class="comment-content">{body}</div>
</article>{children}</li>
"""


def news_page(charset: str = "utf-8", title: str = "Raqqa cut off from the world",
              url: str = URL) -> str:
    """A WordPress-style news article with a threaded comments list (the reply nested)."""
    reply = _comment(102, "Brandi Taylor", "2015-11-21T13:27:00+00:00", "November 21, 2015 at 1:27 pm",
                     ["Stay safe. The world is watching.", "We share every report you write."])
    comments = (_comment(101, "Edwin", "2015-11-20T23:03:00+00:00", "November 20, 2015 at 11:03 pm",
                         ["Much thank you for real news of Raqqa!"], reply)
                + _comment(103, "Sami", "2015-11-24T22:16:00+00:00", "November 24, 2015 at 10:16 pm",
                           ["Are the bakeries still open in the old city?"]))
    paragraphs = "\n".join(f"<p>{p}</p>" for p in PARAGRAPHS)
    return f"""<!DOCTYPE html>
<html lang="en-GB">
<head>
<meta charset="{charset}">
<title>{title} | Raqqa Voices</title>
<link rel="canonical" href="{url}">
<link rel="stylesheet" href="page_files/style.css">
<meta property="og:title" content="{title}">
<meta property="og:site_name" content="Raqqa Voices">
<meta property="og:type" content="article">
<meta name="author" content="Abu Ibrahim">
<meta property="article:published_time" content="2015-11-19T08:30:00+00:00">
<meta name="description" content="ISIS tries to separate the city from the world.">
</head>
<body>
<header><nav><a href="/">Home</a> <a href="/news">News</a> <a href="/about">About us</a></nav></header>
<main>
<article class="post">
<h1 class="entry-title">{title}</h1>
<p class="byline">By <span class="author">Abu Ibrahim</span>,
<time datetime="2015-11-19T08:30:00+00:00">19 November 2015</time></p>
<figure><img src="page_files/street.jpg" alt="A street in Raqqa"></figure>
<div class="entry-content">
{paragraphs}
</div>
</article>
<section id="comments" class="comments-area">
<h2 class="comments-title">3 thoughts on “{title}”</h2>
<ol class="comment-list">
{comments}</ol>
<p class="no-comments">Comments are closed.</p>
</section>
</main>
<footer><p>© 2015 Raqqa Voices</p></footer>
</body>
</html>
"""


def jpeg() -> bytes:
    """The smallest JFIF 1.01 file Siegfried recognises: SOI, APP0 (JFIF), EOI."""
    return (b"\xff\xd8\xff\xe0\x00\x10JFIF\x00\x01\x01\x00\x00\x01\x00\x01\x00\x00\xff\xd9")


def png() -> bytes:
    """A 1x1 grey PNG, built chunk by chunk."""
    def chunk(kind: bytes, data: bytes) -> bytes:
        return (struct.pack(">I", len(data)) + kind + data
                + struct.pack(">I", zlib.crc32(kind + data) & 0xFFFFFFFF))
    return (b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", struct.pack(">IIBBBBB", 1, 1, 8, 0, 0, 0, 0))
            + chunk(b"IDAT", zlib.compress(b"\x00\x80")) + chunk(b"IEND", b""))


def pdf() -> bytes:
    return (b"%PDF-1.4\n1 0 obj\n<< /Type /Catalog /Pages 2 0 R >>\nendobj\n"
            b"2 0 obj\n<< /Type /Pages /Kids [] /Count 0 >>\nendobj\n"
            b"trailer\n<< /Root 1 0 R >>\n%%EOF\n")


def write_warc(path: Path, pages: list[tuple[str, str]], gzip: bool = True,
               software: str | None = SOFTWARE, date: str = CAPTURED) -> list[int]:
    """A WARC with warcinfo, one response per (url, html) and an image resource; returns the
    byte offset where each record starts."""
    offsets = []
    with open(path, "wb") as f:
        writer = WARCWriter(f, gzip=gzip)
        if software:
            offsets.append(f.tell())
            writer.write_record(writer.create_warcinfo_record(
                path.name, {"software": software, "format": "WARC File Format 1.1"}))
        for url, html in pages:
            headers = StatusAndHeaders("200 OK", [("Content-Type", "text/html; charset=utf-8")],
                                       protocol="HTTP/1.1")
            offsets.append(f.tell())
            writer.write_record(writer.create_warc_record(
                url, "response", payload=io.BytesIO(html.encode("utf-8")), http_headers=headers,
                warc_headers_dict={"WARC-Date": date}))
        offsets.append(f.tell())
        writer.write_record(writer.create_warc_record(
            URL + "street.jpg", "resource", payload=io.BytesIO(jpeg()), warc_content_type="image/jpeg",
            warc_headers_dict={"WARC-Date": date}))
    return offsets


def write_wacz(path: Path, warc: Path, main_url: str) -> None:
    """A WACZ 1.1 layout: archive/, pages/pages.jsonl naming the main page, datapackage.json."""
    with zipfile.ZipFile(path, "w") as z:
        z.write(warc, f"archive/{warc.name}")
        z.writestr("pages/pages.jsonl",
                   json.dumps({"format": "json-pages-1.0", "id": "pages"}) + "\n"
                   + json.dumps({"url": main_url, "ts": CAPTURED}) + "\n")
        z.writestr("datapackage.json", json.dumps({
            "profile": "data-package", "wacz_version": "1.1.1", "software": SOFTWARE,
            "resources": [{"name": warc.name, "path": f"archive/{warc.name}"}]}))
