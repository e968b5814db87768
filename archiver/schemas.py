"""Access to the project's own schemas: `schemas/` of the source tree beside the package, or,
for an installed wheel, `share/archiver/schemas` under the environment's prefix."""
from __future__ import annotations

import json
from functools import cache
import sys
from pathlib import Path

_SOURCE_TREE = Path(__file__).resolve().parent.parent / "schemas"
SCHEMA_DIR = _SOURCE_TREE if _SOURCE_TREE.is_dir() else Path(sys.prefix) / "share" / "archiver" / "schemas"


def schema_path(name: str) -> Path:
    return SCHEMA_DIR / name


@cache
def load_json_schema(name: str) -> dict:
    return json.loads(schema_path(name).read_text(encoding="utf-8"))
