"""Web-archive captures (WARC, WACZ): the captured page's metadata and when, where and by what
it was captured. The capture file itself goes into the payload unchanged.

Every record is read to the end, so a truncated or corrupt capture is refused (with the byte
offset of the record where reading failed) instead of being packaged as if whole.
"""
from __future__ import annotations

import io
import json
import zipfile
import zlib
from collections.abc import Iterator
from contextlib import redirect_stderr
from dataclasses import dataclass
from pathlib import Path
from typing import BinaryIO

from dateutil.parser import isoparse

from archiver.extract.html import extract_html
from archiver.limits import expansion_limit, expansion_refusal
from archiver.model import Capture, Report, SourceFile
from archiver.problems import ArchiverError

HTML_TYPES = ("text/html", "application/xhtml+xml")
BLOCK = 1 << 20
MAX_PAGE = 64 << 20  # bytes of a page or warcinfo record read into memory for extraction
MAX_LINE = 1 << 20  # a WARC or HTTP header line; warcio would read any line whole


@dataclass
class _Page:
    url: str
    date: str
    record_id: str | None
    html: bytes
    charset: str | None


def _corrupt(where: str, offset: int, why: str) -> ArchiverError:
    return ArchiverError(where, f"truncated or corrupt WARC: reading failed at the record at "
                         f"offset {offset}: {why}", "INPUT-WARC-CORRUPT")


def _check_gzip_members(stream: BinaryIO, where: str, compressed: int) -> None:
    """A gzipped WARC is one gzip member per record: each must end with its trailer. Data is
    inflated a bounded block at a time and the whole may expand only so far (a small file
    of zeros would otherwise take the machine's memory, then its time)."""
    offset, member_start, expanded = 0, 0, 0
    limit = expansion_limit(compressed)
    inflater = zlib.decompressobj(wbits=31)
    pending = b""
    try:
        while True:
            chunk = pending or stream.read(BLOCK)
            pending = b""
            if not chunk:
                break
            data = inflater.decompress(chunk, BLOCK)
            while True:
                expanded += len(data)
                if expanded > limit:
                    raise ArchiverError(where, "a compressed capture of "
                                        + expansion_refusal(compressed, limit, at_least=True), "INPUT-WARC-TOO-LARGE")
                if not inflater.unconsumed_tail or inflater.eof:
                    break
                data = inflater.decompress(inflater.unconsumed_tail, BLOCK)
            if inflater.eof:
                used = len(chunk) - len(inflater.unused_data)
                pending = inflater.unused_data
                offset += used
                member_start = offset
                inflater = zlib.decompressobj(wbits=31)
            else:
                offset += len(chunk)
    except zlib.error as e:
        raise _corrupt(where, member_start, f"bad gzip data ({e})") from None
    if offset != member_start:
        raise _corrupt(where, member_start, "the file ends inside the record's gzip member")


def _warcinfo_fields(block: bytes) -> dict[str, str]:
    fields = {}
    for line in block.decode("utf-8", "replace").splitlines():
        key, sep, value = line.partition(":")
        if sep and key.strip():
            fields.setdefault(key.strip().lower(), value.strip())
    return fields


def _charset(content_type: str | None) -> str | None:
    for part in (content_type or "").split(";")[1:]:
        key, _, value = part.strip().partition("=")
        if key.lower() == "charset" and value:
            return value.strip("\"'")
    return None


def _read_records(stream: BinaryIO, where: str, want_url: str | None, size: int
                  ) -> tuple[_Page | None, str | None]:
    """(the captured page, the capturing software) after reading every record to its end.

    `size` is the file's length when uncompressed, 0 when gzipped (checked member by member
    beforehand)."""
    head = stream.read(5)
    if head[:2] != b"\x1f\x8b" and head != b"WARC/":
        raise ArchiverError(where, "not a WARC file: it starts with neither 'WARC/' nor gzip data",
                            "INPUT-WARC-CORRUPT")
    from warcio.archiveiterator import ArchiveIterator  # here: warcio is slow to import
    from warcio.exceptions import ArchiveLoadFailed

    stream.seek(0)
    page, software = None, None
    records = ArchiveIterator(stream, check_digests="raise")
    records.reader.__class__ = _bounded_lines(type(records.reader))
    notes = io.StringIO()
    try:
        with redirect_stderr(notes):  # warcio prints its doubts about a record to stderr
            for record in records:
                info = record.rec_type == "warcinfo" and software is None
                ctype = _wanted_page(record, page, want_url)
                if info or ctype is not None:
                    block = record.content_stream().read(MAX_PAGE + 1)
                    if len(block) > MAX_PAGE:  # a real page is far smaller; a zip bomb is not
                        raise ArchiverError(where, f"the record at offset {records.offset} holds "
                                            f"more than {MAX_PAGE >> 20} MiB of "
                                            f"{'page' if ctype is not None else 'warcinfo'}: "
                                            "too large to read as one", "INPUT-WARC-TOO-LARGE")
                else:  # other records are only read through (for their length and digests)
                    while record.raw_stream.read(BLOCK):
                        pass
                # warcio stops quietly where the file ends: a record cut short leaves part of
                # its declared Content-Length unread
                short = getattr(record.raw_stream, "limit", 0)
                offset = records.get_record_offset()
                if short:
                    raise _corrupt(where, offset, "the record ends before its declared length")
                if notes.getvalue():
                    raise _corrupt(where, offset, notes.getvalue().split("\n")[0].strip())
                if info:
                    software = _warcinfo_fields(block).get("software")
                elif ctype is not None:
                    headers = record.rec_headers
                    page = _Page(url=headers.get_header("WARC-Target-URI") or "",
                                 date=headers.get_header("WARC-Date") or "",
                                 record_id=headers.get_header("WARC-Record-ID"),
                                 html=block, charset=_charset(ctype))
    except ArchiverError:
        raise
    except (ArchiveLoadFailed, ValueError, EOFError, zlib.error, OSError) as e:
        # records.offset: where the record being read starts
        raise _corrupt(where, records.offset, str(e).splitlines()[0][:120]) from None
    if size and records.offset < size:
        raise _corrupt(where, records.offset, "no complete record header")
    return page, software


def _bounded_lines(reader: type) -> type:
    """warcio's reader with header lines bounded: it reads a line whole, and a "line" of a
    gigabyte of zeros (no newline) is read into memory before anything can object."""
    class BoundedLines(reader):
        def readline(self, length=None):
            line = super().readline(MAX_LINE if not length or length > MAX_LINE else length)
            if len(line) >= MAX_LINE and not line.endswith(b"\n"):
                raise ValueError(f"a header line longer than {MAX_LINE >> 20} MiB")
            return line

    return BoundedLines


def _wanted_page(record, page: _Page | None, want_url: str | None) -> str | None:
    """The record's Content-Type when it is the page to read: the first HTML page captured
    with status 200, or the one the WACZ names."""
    if record.rec_type not in ("response", "resource"):
        return None
    if record.http_headers:
        status = record.http_headers.get_statuscode()
        ctype = record.http_headers.get_header("Content-Type")
    else:
        status, ctype = "200", record.rec_headers.get_header("Content-Type")
    if status != "200" or (ctype or "").split(";")[0].strip().lower() not in HTML_TYPES:
        return None
    url = record.rec_headers.get_header("WARC-Target-URI") or ""
    if page is None or (want_url and url == want_url and page.url != want_url):
        return ctype or ""
    return None


def _is_datetime(value: str) -> bool:
    """WARC-Date is W3C date-time (WARC 1.1 section 5.4); kept as written when it is one."""
    try:
        isoparse(value)
        return bool(value)
    except ValueError:
        return False


def _report(page: _Page | None, software: str | None, name: str, size: int, media_type: str,
            warc: str | None = None) -> Report:
    if page is None:
        raise ArchiverError(name, "the capture holds no HTML page (no 200 response with text/html)",
                            "INPUT-WARC-NO-PAGE")
    try:
        report = extract_html(page.html, name, page.charset)
    except ArchiverError as e:
        raise ArchiverError(name, f"the captured page {page.url}: {e.message}", e.code) from None
    captured = page.date if _is_datetime(page.date) else None
    capture = Capture(target_url=page.url, date=page.date, record_id=page.record_id,
                      warc=warc, software=software)
    report.source = SourceFile(name=name.rsplit("/", 1)[-1], size=size, media_type=media_type,
                               encoding=None, capture=capture)
    # the capture's own record says where and when: it outranks what the page claims
    report.source_url, report.provenance["source_url"] = page.url, "warc"
    if captured:
        report.captured, report.provenance["captured"] = captured, "warc"
    if software:
        report.capturing_agent, report.provenance["capturing_agent"] = software, "warc"
    return report


def extract_warc(path: Path, name: str) -> Report:
    """A WARC (.warc or .warc.gz) file: the first captured HTML page is the report."""
    size = path.stat().st_size
    if size == 0:
        raise ArchiverError(name, "empty file: nothing to package", "INPUT-EMPTY")
    with open(path, "rb") as f:
        gzipped = f.read(2) == b"\x1f\x8b"
        if gzipped:
            f.seek(0)
            _check_gzip_members(f, name, size)
        f.seek(0)
        page, software = _read_records(f, name, None, 0 if gzipped else size)
    return _report(page, software, name, size, "application/warc")


def _wacz_members(z: zipfile.ZipFile) -> Iterator[str]:
    for info in z.infolist():
        if info.filename.startswith("archive/") and info.filename.endswith((".warc", ".warc.gz")):
            yield info.filename


def _wacz_main_page(z: zipfile.ZipFile) -> str | None:
    """The first page listed in pages/pages.jsonl (WACZ 1.1), the capture's main page."""
    try:
        lines = z.read("pages/pages.jsonl").decode("utf-8").splitlines()
    except (KeyError, UnicodeDecodeError):
        return None
    for line in lines:
        try:
            entry = json.loads(line)
        except json.JSONDecodeError:
            continue
        if isinstance(entry, dict) and isinstance(entry.get("url"), str):
            return entry["url"]
    return None


def _wacz_software(z: zipfile.ZipFile) -> str | None:
    try:
        package = json.loads(z.read("datapackage.json"))
    except (KeyError, ValueError):
        return None
    software = package.get("software") if isinstance(package, dict) else None
    return software if isinstance(software, str) and software else None


def extract_wacz(path: Path, name: str) -> Report:
    """A WACZ (zip of WARCs and indexes): the page pages.jsonl names first, else the first
    HTML page of its WARCs."""
    size = path.stat().st_size
    try:
        with zipfile.ZipFile(path) as z:
            members = sorted(_wacz_members(z))
            if not members:
                raise ArchiverError(name, "not a WACZ: no archive/*.warc(.gz) inside",
                                    "INPUT-WACZ-INVALID")
            want = _wacz_main_page(z)
            found, software, source = None, _wacz_software(z), None
            for member in members:
                where = f"{name}: {member}"
                with z.open(member) as stream:
                    gzipped = stream.read(2) == b"\x1f\x8b"
                if gzipped:
                    with z.open(member) as stream:
                        _check_gzip_members(stream, where, z.getinfo(member).compress_size)
                with z.open(member) as stream:
                    page, member_software = _read_records(
                        stream, where, want, 0 if gzipped else z.getinfo(member).file_size)
                software = software or member_software
                if page and (found is None or (want and page.url == want and found.url != want)):
                    found, source = page, member
    except zipfile.BadZipFile as e:
        raise ArchiverError(name, f"not a valid WACZ (zip): {e}", "INPUT-WACZ-INVALID") from None
    return _report(found, software, name, size, "application/zip", source)
