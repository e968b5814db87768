"""Extraction: one module per input kind, each turning a report into a Report."""
from __future__ import annotations

import os
from dataclasses import fields, replace
from pathlib import Path

from archiver.extract.encoding import decode_text
from archiver.extract.language import detect_language
from archiver.extract.text import parse_text_report
from archiver.model import Report, SourceFile

TEXT_SUFFIXES = {".txt", ".text", ".md", ""}
MAX_EXTRACT = 8 << 20  # bytes of a text or HTML report read for its metadata
SIDECAR_FIELDS = {f.name for f in fields(Report)} - {"source", "attachments", "provenance", "warnings"}


def extract_text(data: bytes, name: str) -> Report:
    """A plain-text report from its bytes (the caller keeps the bytes for the payload)."""
    text, encoding = decode_text(data, name)
    parsed = parse_text_report(text)
    source = SourceFile(name=Path(name).name, size=len(data), media_type="text/plain",
                        encoding=encoding)
    report = Report(source=source, **parsed)
    report.provenance = {k: "extracted" for k, v in parsed.items() if v not in (None, [], "")}
    report.provenance["comments_closed"] = "extracted"
    language = detect_language(" ".join([report.title or "", *report.body]))
    if language:
        report.language = language
        report.provenance["language"] = "detected"
    return report


def read_for_extraction(path: Path) -> tuple[bytes, str | None]:
    """The bytes of a report that extraction reads: all of it, or for a larger report its
    first MAX_EXTRACT bytes up to a line end, with a warning saying so (the payload is
    copied whole; extracting a gigabyte would take gigabytes of memory).

    os-level calls, reading what the size says: a file object's read(MAX_EXTRACT) allocates
    8 MiB (an mmap and a munmap) for every report of a few kilobytes."""
    fd = os.open(path, os.O_RDONLY | getattr(os, "O_CLOEXEC", 0) | getattr(os, "O_BINARY", 0))
    try:
        size = os.fstat(fd).st_size
        parts, left = [], min(size, MAX_EXTRACT)
        while left > 0 and (chunk := os.read(fd, left)):
            parts.append(chunk)
            left -= len(chunk)
    finally:
        os.close(fd)
    data = parts[0] if len(parts) == 1 else b"".join(parts)
    if size <= MAX_EXTRACT:
        return data, None
    cut = data.rfind(b"\n")
    data = data[:cut + 1] if cut > 0 else data
    return data, (f"the report is {size} bytes: its metadata was extracted from the first "
                  f"{len(data)}; the packaged original holds it whole")


def apply_sidecar(report: Report, sidecar: dict | None) -> Report:
    """Sidecar values win over extracted ones; provenance records which is which."""
    if not sidecar:
        return report
    values = {k: v for k, v in sidecar.items() if k in SIDECAR_FIELDS}
    provenance = dict(report.provenance)
    provenance.update({k: "sidecar" for k in values})
    return replace(report, **values, provenance=provenance)
