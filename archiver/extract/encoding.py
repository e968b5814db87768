"""Decoding a report's bytes for extraction; the payload keeps the original bytes."""
from __future__ import annotations

import codecs

from charset_normalizer import from_bytes

from archiver.problems import ArchiverError

_BOMS = (
    (codecs.BOM_UTF8, "utf-8-sig", "UTF-8"),
    (codecs.BOM_UTF32_LE, "utf-32", "UTF-32"),
    (codecs.BOM_UTF32_BE, "utf-32", "UTF-32"),
    (codecs.BOM_UTF16_LE, "utf-16", "UTF-16"),
    (codecs.BOM_UTF16_BE, "utf-16", "UTF-16"),
)


_UNLIKELY = ("mac_", "cp437", "cp737", "cp775", "cp85", "cp86")


def _utf16_without_bom(data: bytes) -> str | None:
    """Guess BOM-less UTF-16 from where the NUL bytes fall (mostly ASCII-range text)."""
    if len(data) < 2 or len(data) % 2:
        return None
    even, odd = data[0::2].count(0), data[1::2].count(0)
    half = len(data) // 2
    if odd > 0.3 * half and even < 0.05 * half:
        return "utf-16-le"
    if even > 0.3 * half and odd < 0.05 * half:
        return "utf-16-be"
    return None


def decode_text(data: bytes, name: str) -> tuple[str, str]:
    """Return (text, encoding label) or raise ArchiverError naming the file.

    Order: BOM, strict UTF-8, BOM-less UTF-16, then charset detection for legacy encodings.
    A NUL byte outside UTF-16/32 means binary, not text.
    """
    if not data.strip():
        raise ArchiverError(name, "empty file: nothing to package", "INPUT-EMPTY")
    for bom, codec, label in _BOMS:
        if data.startswith(bom):
            try:
                return data.decode(codec), label
            except UnicodeDecodeError as e:
                raise ArchiverError(name, f"undecodable {label} text at byte {e.start}",
                                    "INPUT-UNDECODABLE") from None
    try:
        return data.decode("utf-8"), "UTF-8"
    except UnicodeDecodeError:
        pass
    codec = _utf16_without_bom(data)
    if codec:
        try:
            return data.decode(codec), codec.upper()
        except UnicodeDecodeError:
            pass
    if b"\x00" in data:
        raise ArchiverError(name, "binary file, not a text report", "INPUT-BINARY")
    best = from_bytes(data).best()
    if best is not None and best.encoding.startswith(_UNLIKELY):
        # Mac and DOS code pages tie with Windows-1252 on Latin text; reports from the web or
        # from Windows are far likelier to be Windows-1252 (the web's legacy default)
        windows = from_bytes(data, cp_isolation=["cp1252"]).best()
        if windows is not None and windows.chaos <= best.chaos:
            best = windows
    if best is None or best.encoding is None:
        raise ArchiverError(name, "undecodable text: no character encoding fits",
                            "INPUT-UNDECODABLE")
    text = str(best)
    if sum(1 for c in text if ord(c) < 32 and c not in "\r\n\t\f") > len(text) * 0.01:
        raise ArchiverError(name, "binary file, not a text report", "INPUT-BINARY")
    return text, codecs.lookup(best.encoding).name
