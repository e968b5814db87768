"""Credentials in URLs: archiver refuses them wherever a URL is configured (it would be
written into receipts, seals and messages) and masks them in what it must quote."""
from __future__ import annotations

import re


def has_userinfo(url: str) -> bool:
    """user or user:password before the host (RFC 3986 §3.2.1), in any URL, parsed or not."""
    authority = url.split("://", 1)[1] if "://" in url else url
    return "@" in authority.split("/", 1)[0].split("?", 1)[0].split("#", 1)[0]


def without_userinfo(text: str) -> str:
    """`text` with the userinfo of every URL in it replaced by "***"."""
    return re.sub(r"(?i)\b([a-z][a-z0-9+.-]*://)[^/?#\s@]*@", r"\1***@", text)
