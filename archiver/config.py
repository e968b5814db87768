"""archiver.toml: in the working directory, else the user's config directory."""
from __future__ import annotations

import os
from functools import cache
from pathlib import Path

from archiver.problems import ArchiverError


def config_path() -> Path | None:
    # os.path, not pathlib: validate asks once per sealed package of a store
    base = os.environ.get("XDG_CONFIG_HOME") or os.path.join(os.path.expanduser("~"), ".config")
    for candidate in ("archiver.toml", os.path.join(base, "archiver", "archiver.toml")):
        if os.path.isfile(candidate):
            return Path(candidate)
    return None


def cache_dir() -> Path:
    """archiver's folder in the user's cache directory (what can be rebuilt at will)."""
    return Path(os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache") / "archiver"


def load_config(path: str | os.PathLike | None = None) -> dict:
    path = Path(path) if path else config_path()
    if path is None:
        return {}
    import tomllib  # only when there is a file to read: most runs have none

    try:
        config = tomllib.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, tomllib.TOMLDecodeError) as e:
        raise ArchiverError(str(path), f"unreadable configuration: {e}", "CONFIG") from None
    check_config(config, str(path))
    return config


def check_config(config: dict, where: str = "archiver.toml") -> None:
    """Refuse a setting of the wrong type, naming it (`signers = "k.pub"`, a string where a
    list belongs, was read a character at a time; `seal = "no"` as true): one schema,
    schemas/config.schema.json, rather than a check at every place a setting is read."""
    import fastjsonschema

    try:
        _config_validator()(config)
    except fastjsonschema.JsonSchemaException as e:
        setting = (e.name or "data").removeprefix("data").lstrip(".") or "the file"
        found = type(e.value).__name__ if e.value is not None else "nothing"
        found = {"str": "a string", "int": "a number", "float": "a number", "bool": "true/false",
                 "list": "a list", "dict": "a table"}.get(found, found)
        raise ArchiverError(where, f"{setting}: {e.message.removeprefix(e.name or '').strip()} "
                            f"(it is {found})", "CONFIG") from None


@cache
def _config_validator():
    import fastjsonschema

    from archiver.schemas import load_json_schema

    return fastjsonschema.compile(load_json_schema("config.schema.json"))
