"""Text the metadata can carry: XML 1.0 has no place for most control characters.

Scraped and converted text holds them (a form feed from a PDF's page break, a stray \\x01 from
a bad conversion). The payload keeps every byte; the extracted values that go into dc.xml,
premis.xml, mets.xml and report.json lose them, and the package says so in a warning.
"""
from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import fields, is_dataclass, replace

from archiver.model import Report

# what XML 1.0 forbids (section 2.2), lone surrogates included
NOT_XML = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\ud800-\udfff\ufffe\uffff]")
PAGE_BREAKS = str.maketrans("\x0b\x0c", "  ")  # vertical tab, form feed: whitespace in the text


TITLE_LIMIT = 1_000  # characters of a title or subtitle in the metadata
VALUE_LIMIT = 1_000_000  # of any other value: lxml reads no text node over 10 MB back


def bounded(report: Report) -> Report:
    """`report` with every value cut to what the metadata can carry and read back (a title
    line of 20 MB would make a dc.xml that validate cannot parse), marked " […]", and a
    warning naming what was cut; the payload keeps the full text."""
    cut = []

    def clip(value: str, limit: int, what: str) -> str:
        if len(value) <= limit:
            return value
        cut.append(f"{what} ({len(value)} characters)")
        return value[:limit] + " […]"

    heads = {name: clip(getattr(report, name), TITLE_LIMIT, name)
             for name in ("title", "subtitle") if isinstance(getattr(report, name), str)}
    if not cut and max(map(len, _strings(report, [])), default=0) <= VALUE_LIMIT:
        return report
    clipped = _map_strings(replace(report, **heads), lambda s: clip(s, VALUE_LIMIT, "a value"))
    clipped.warnings = [*report.warnings, "metadata values cut to fit: " + ", ".join(cut)
                        + "; the packaged original holds the full text"]
    return clipped


def xml_safe(report: Report) -> Report:
    """`report` with every character XML cannot carry left out of its values (form feeds and
    vertical tabs become spaces), and a warning saying how many went; the report itself when
    there were none, the usual case, which costs one search per value."""
    found = _count("\n".join(_strings(report, [])))
    if not found:
        return report
    cleaned = _map_strings(report, lambda s: NOT_XML.sub("", s.translate(PAGE_BREAKS)))
    cleaned.warnings = [*report.warnings,
                        f"{found} control character(s) that XML cannot carry left out of the "
                        "metadata (form feeds and vertical tabs as spaces); the packaged original "
                        "keeps them"]
    return cleaned


_CONTROLS = bytes(c for c in range(32) if c not in (9, 10, 13))


def _count(text: str) -> int:
    """How many characters of `text` XML cannot carry; a byte-level count (three times faster
    than the regular expression) unless lone surrogates make UTF-8 impossible."""
    try:
        data = text.encode("utf-8")
    except UnicodeEncodeError:
        return len(NOT_XML.findall(text))
    return len(data) - len(data.translate(None, _CONTROLS)) + text.count("\ufffe") + text.count("\uffff")


def _strings(value, out: list[str]) -> list[str]:
    # over __dict__ rather than dataclasses.fields, into one list: this runs for every report
    if isinstance(value, str):
        out.append(value)
    elif isinstance(value, (list, tuple)):
        for v in value:
            _strings(v, out)
    elif isinstance(value, dict):
        out.extend(value)
        for v in value.values():
            _strings(v, out)
    elif hasattr(value, "__dataclass_fields__"):
        _strings(vars(value), out)
    return out


def _map_strings(value, fn: Callable[[str], str]):
    if isinstance(value, str):
        return fn(value)
    if isinstance(value, list):
        return [_map_strings(v, fn) for v in value]
    if isinstance(value, tuple):
        return tuple(_map_strings(v, fn) for v in value)
    if isinstance(value, dict):
        return {fn(k): _map_strings(v, fn) for k, v in value.items()}
    if is_dataclass(value) and not isinstance(value, type):
        return replace(value, **{f.name: _map_strings(getattr(value, f.name), fn) for f in fields(value)})
    return value
