"""Format identification: MIME type and PRONOM identifier (Siegfried, via pygfried), offline."""
from __future__ import annotations

import mimetypes
from dataclasses import dataclass
from pathlib import Path


ZIP_PUIDS = {"x-fmt/263"}
ZIP_PROFILES = (".wacz",)


@dataclass(frozen=True)
class Format:
    media_type: str
    pronom: str | None
    name: str | None
    warning: str | None  # e.g. an extension that disagrees with the content


def identify(path: str | Path) -> Format:
    # imported here: Siegfried's Go runtime must not be loaded before a process pool forks
    import pygfried

    try:
        result = pygfried.identify(str(path), detailed=True)
        match = result["files"][0]["matches"][0]
    except Exception:  # Siegfried refuses empty files and some special files
        return Format(_guessed(path) or "application/octet-stream", None, None, None)
    puid = match.get("id") if match.get("id") not in (None, "", "UNKNOWN") else None
    media_type = match.get("mime") or _guessed(path) or "application/octet-stream"
    warning = match.get("warning") or None
    if warning and "extension mismatch" not in warning:
        warning = None  # "match on extension only" and the like are not worth a warning
    if warning and puid in ZIP_PUIDS and str(path).lower().endswith(ZIP_PROFILES):
        warning = None  # zip profiles PRONOM does not know (WACZ): a zip is what they should be
    return Format(media_type, puid, match.get("format") or None, warning)


def _guessed(path: str | Path) -> str | None:
    """The media type the name suggests: only where Siegfried names none (asking first cost
    every file a look-up, and each worker the reading of the system's MIME tables)."""
    return mimetypes.guess_type(str(path))[0]
