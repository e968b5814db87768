"""Access to the project's own schemas in schemas/ (installed beside the package)."""
from __future__ import annotations

import json
from functools import cache
from pathlib import Path

SCHEMA_DIR = Path(__file__).resolve().parent.parent / "schemas"


def schema_path(name: str) -> Path:
    return SCHEMA_DIR / name


@cache
def load_json_schema(name: str) -> dict:
    return json.loads(schema_path(name).read_text(encoding="utf-8"))
