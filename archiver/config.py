"""archiver.toml: in the working directory, else the user's config directory."""
from __future__ import annotations

import os
import tomllib
from pathlib import Path

from archiver.problems import ArchiverError


def config_path() -> Path | None:
    base = Path(os.environ.get("XDG_CONFIG_HOME") or Path.home() / ".config")
    for candidate in (Path("archiver.toml"), base / "archiver" / "archiver.toml"):
        if candidate.is_file():
            return candidate
    return None


def cache_dir() -> Path:
    """archiver's folder in the user's cache directory (what can be rebuilt at will)."""
    return Path(os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache") / "archiver"


def load_config(path: str | os.PathLike | None = None) -> dict:
    path = Path(path) if path else config_path()
    if path is None:
        return {}
    try:
        return tomllib.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, tomllib.TOMLDecodeError) as e:
        raise ArchiverError(str(path), f"unreadable configuration: {e}", "CONFIG") from None
