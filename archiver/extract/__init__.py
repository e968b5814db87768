"""Extraction: one module per input kind, each turning a report into a Report."""
from __future__ import annotations

from dataclasses import fields, replace
from pathlib import Path

from archiver.extract.encoding import decode_text
from archiver.extract.language import detect_language
from archiver.extract.text import parse_text_report
from archiver.model import Report, SourceFile

TEXT_SUFFIXES = {".txt", ".text", ".md", ""}
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


def apply_sidecar(report: Report, sidecar: dict | None) -> Report:
    """Sidecar values win over extracted ones; provenance records which is which."""
    if not sidecar:
        return report
    values = {k: v for k, v in sidecar.items() if k in SIDECAR_FIELDS}
    provenance = dict(report.provenance)
    provenance.update({k: "sidecar" for k in values})
    return replace(report, **values, provenance=provenance)
