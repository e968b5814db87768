"""Sidecar metadata: REPORT.meta.json beside a report (or --meta FILE)."""
from __future__ import annotations

import json
from functools import cache
from pathlib import Path
from typing import TYPE_CHECKING

from dateutil import parser as dateparser

from archiver.problems import ArchiverError
from archiver.schemas import load_json_schema

if TYPE_CHECKING:
    import jsonschema

SUFFIX = ".meta.json"


def sidecar_names(report: Path) -> tuple[str, str]:
    """The names a sidecar of `report` may have, in order of preference."""
    return report.name + SUFFIX, report.stem + SUFFIX


def sidecar_for(report: Path) -> Path | None:
    """`report.txt.meta.json` or `report.meta.json` beside the report, if present."""
    for name in sidecar_names(report):
        if (candidate := report.with_name(name)).is_file():
            return candidate
    return None


def _is_date(value: object) -> bool:
    if not isinstance(value, str):
        return True
    try:
        dateparser.isoparse(value)
        return True
    except ValueError:
        return False


@cache
def _validator() -> jsonschema.protocols.Validator:
    import jsonschema  # here: slow to import, and only a build with sidecars needs it

    schema = load_json_schema("sidecar.schema.json")
    checker = jsonschema.FormatChecker()
    checker.checks("date-or-datetime")(_is_date)
    cls = jsonschema.validators.validator_for(schema)
    return cls(schema, format_checker=checker)


def load_sidecar(path: Path) -> dict:
    """Read and validate a sidecar; errors name the file and the field."""
    try:
        data = json.loads(path.read_bytes().decode("utf-8-sig"))
    except UnicodeDecodeError:
        raise ArchiverError(str(path), "sidecar is not UTF-8 JSON", "SIDECAR-INVALID") from None
    except json.JSONDecodeError as e:
        raise ArchiverError(str(path), f"sidecar is not valid JSON: {e.msg} at line {e.lineno}",
                            "SIDECAR-INVALID") from None
    except RecursionError:
        raise ArchiverError(str(path), "sidecar is nested too deeply to read", "SIDECAR-INVALID") from None
    except OSError as e:
        raise ArchiverError(str(path), f"cannot read sidecar: {e.strerror}",
                            "SIDECAR-UNREADABLE") from None
    errors = sorted(_validator().iter_errors(data), key=lambda e: list(e.path))
    if errors:
        err = errors[0]
        field = ".".join(str(p) for p in err.path) or "(top level)"
        if err.validator == "additionalProperties":
            extra = sorted(set(data) - set(err.schema["properties"]))
            field, reason = ", ".join(extra), "unknown field"
        elif err.validator == "format":
            reason = f"not a valid {err.validator_value}: {err.instance!r}"
        else:
            reason = err.message
        raise ArchiverError(str(path), f"bad sidecar field '{field}': {reason}", "SIDECAR-INVALID")
    if isinstance(data.get("creator"), str):
        data["creator"] = [data["creator"]]
    return data
