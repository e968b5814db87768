"""archiver.toml: in the working directory, else the user's config directory."""
from __future__ import annotations

import os
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
        return tomllib.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, tomllib.TOMLDecodeError) as e:
        raise ArchiverError(str(path), f"unreadable configuration: {e}", "CONFIG") from None
