"""metadata/report.json: the structured extraction, validated against schemas/report.schema.json."""
from __future__ import annotations

import json
from collections.abc import Callable
from functools import cache
from json.encoder import encode_basestring  # what json.dumps uses with ensure_ascii=False
from typing import TYPE_CHECKING

from archiver.model import Report
from archiver.problems import ArchiverError
from archiver.schemas import load_json_schema

if TYPE_CHECKING:
    import jsonschema

SCHEMA_ID = "https://archiver.example.org/schemas/report.schema.json"
DESCRIPTIVE = ("source_url", "publisher", "creator", "issued", "subjects", "places", "rights",
               "description", "captured", "capturing_agent")


@cache
def _validator() -> jsonschema.protocols.Validator:
    import jsonschema  # here: slow to import, and validate does not need it

    schema = load_json_schema("report.schema.json")
    return jsonschema.validators.validator_for(schema)(schema)


def report_dict(report: Report, package_id: str, payload_path: str,
                withhold_names: bool = False) -> dict:
    comments = []
    for c in report.comments:
        entry = {"number": c.number, "author": None if withhold_names else c.author,
                 "published": c.published, "text": c.text}
        if withhold_names and c.author:
            entry["author_withheld"] = True
        comments.append(entry)
    return {
        "$schema": SCHEMA_ID,
        "package_id": package_id,
        "title": report.title,
        "subtitle": report.subtitle,
        "body": list(report.body),
        "author_note": report.author_note,
        "comments": comments,
        "comments_closed": report.comments_closed,
        "language": report.language,
        "source": {
            "name": report.source.name,
            "path": payload_path,
            "size": report.source.size,
            "media_type": report.source.media_type,
            "encoding": report.source.encoding,
            "capture": _capture(report),
        },
        "metadata": {k: getattr(report, k) for k in DESCRIPTIVE},
        "attachments": [{"path": a.path, "size": a.size, "media_type": a.media_type}
                        for a in report.attachments],
        "provenance": dict(sorted(report.provenance.items())),
    }


def _capture(report: Report) -> dict | None:
    c = report.source.capture
    if c is None:
        return None
    return {"target_url": c.target_url, "date": c.date, "record_id": c.record_id,
            "warc": c.warc, "software": c.software}


def check_report_dict(data: dict) -> list[str]:
    """Schema violations as 'field: message' strings (empty when valid)."""
    out = []
    for err in sorted(_validator().iter_errors(data), key=lambda e: list(e.path)):
        field = "/".join(str(p) for p in err.path) or "(top level)"
        out.append(f"{field}: {err.message}")
    return out


@cache
def _fast_check() -> Callable[[dict], object]:
    """The schema compiled to Python code (fastjsonschema): about 20 times faster than
    jsonschema on the valid documents a build writes, one per report. jsonschema stays the
    reference: it has the last word and the messages whenever this check refuses."""
    import fastjsonschema

    return fastjsonschema.compile(load_json_schema("report.schema.json"))


def fits_schema(data) -> bool:
    """Whether the compiled schema accepts `data` (about 20 times faster than jsonschema).
    It refuses everything jsonschema refuses (tests/metadata/test_report_json.py); when it
    refuses, jsonschema (check_report_dict) has the last word and gives the messages."""
    import fastjsonschema

    try:
        _fast_check()(data)
        return True
    except fastjsonschema.JsonSchemaException:
        return False


def report_json_bytes(data: dict, name: str) -> bytes:
    """Serialize after validating: an invalid report.json is never written."""
    if not fits_schema(data):
        errors = check_report_dict(data)
        if errors:
            raise ArchiverError(name, f"extraction does not fit report.schema.json: {errors[0]}",
                                "REPORT-SCHEMA") from None
    return (dumps(data) + "\n").encode("utf-8")


class _Unsupported(Exception):
    pass


def dumps(data) -> str:
    """json.dumps(data, ensure_ascii=False, indent=2), the same text: with an indent the json
    module encodes in Python, item by item, at three times the cost of this. Anything but
    dicts with string keys, lists, strings, ints, booleans and None goes to json.dumps."""
    try:
        out: list[str] = []
        _encode(data, "\n", out)
        return "".join(out)
    except _Unsupported:
        return json.dumps(data, ensure_ascii=False, indent=2)


def _encode(value, newline: str, out: list[str]) -> None:
    if isinstance(value, str):
        out.append(encode_basestring(value))
    elif value is None:
        out.append("null")
    elif value is True:
        out.append("true")
    elif value is False:
        out.append("false")
    elif isinstance(value, int):
        out.append(int.__repr__(value))
    elif isinstance(value, dict):
        if not value:
            out.append("{}")
            return
        inner = newline + "  "
        first = True
        for key, item in value.items():
            if not isinstance(key, str):
                raise _Unsupported
            out.append(f"{{{inner}" if first else f",{inner}")
            first = False
            out.append(encode_basestring(key))
            out.append(": ")
            _encode(item, inner, out)
        out.append(newline + "}")
    elif isinstance(value, list):
        if not value:
            out.append("[]")
            return
        inner = newline + "  "
        for i, item in enumerate(value):
            out.append(f",{inner}" if i else f"[{inner}")
            _encode(item, inner, out)
        out.append(newline + "]")
    else:
        raise _Unsupported
