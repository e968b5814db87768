"""Decoding a report's bytes for extraction; the payload keeps the original bytes."""
from __future__ import annotations

import codecs

from archiver.problems import ArchiverError

_BOMS = (
    (codecs.BOM_UTF8, "utf-8-sig", "UTF-8"),
    (codecs.BOM_UTF32_LE, "utf-32", "UTF-32"),
    (codecs.BOM_UTF32_BE, "utf-32", "UTF-32"),
    (codecs.BOM_UTF16_LE, "utf-16", "UTF-16"),
    (codecs.BOM_UTF16_BE, "utf-16", "UTF-16"),
)


def _utf16_without_bom(data: bytes) -> str | None:
    """Guess BOM-less UTF-16 from where the NUL bytes fall: the high byte of every ASCII
    character (spaces, digits, punctuation: a few percent of any script's text, Arabic or
    Cyrillic included, where the other high bytes are 0x06 or 0x04), never the low byte."""
    if len(data) < 2 or len(data) % 2:
        return None
    even, odd = data[0::2].count(0), data[1::2].count(0)
    half = len(data) // 2
    if odd > 0.03 * half and even < 0.01 * half:
        return "utf-16-le"
    if even > 0.03 * half and odd < 0.01 * half:
        return "utf-16-be"
    return None


def _plausible(text: str) -> bool:
    return sum(1 for c in text if ord(c) < 32 and c not in "\r\n\t\f") <= len(text) * 0.01


# Where the detector finds several legacy encodings equally plausible (it often ranks a Mac
# code page first for Western text), take the one reports are far likelier to be written in:
# the Windows code pages, then ISO 8859 (the WHATWG encoding standard's legacy defaults).
PREFERRED = ("cp1252", "cp1256", "cp1251", "cp1250", "cp1253", "cp1254", "cp1255", "cp1257",
             "cp1258", "latin_1", "iso8859_15", "iso8859_2", "iso8859_5", "iso8859_6", "iso8859_7")
TIE = 0.01  # chaos difference under which two candidates count as equally plausible


def _detect(data: bytes) -> str | None:
    from charset_normalizer import from_bytes  # here: slow to import, seldom needed

    matches = list(from_bytes(data))
    if not matches:
        return None
    best = matches[0]
    tied = {name for m in matches if m.chaos - best.chaos <= TIE
            for name in (m.could_be_from_charset or [m.encoding])}
    for name in PREFERRED:
        if name in tied:
            return name
    return best.encoding


def decode_text(data: bytes, name: str) -> tuple[str, str]:
    """Return (text, encoding label) or raise ArchiverError naming the file.

    Order: BOM, BOM-less UTF-16 (text with NUL bytes where UTF-16 has them: strict UTF-8
    would take those for control characters), strict UTF-8, then charset detection for legacy
    encodings. A NUL byte outside UTF-16/32 means binary, not text.
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
    codec = _utf16_without_bom(data) if b"\x00" in data else None
    if codec:
        try:
            text = data.decode(codec)
            if _plausible(text):
                return text, codec.upper()
        except UnicodeDecodeError:
            pass
    try:
        return data.decode("utf-8"), "UTF-8"
    except UnicodeDecodeError:
        pass
    if b"\x00" in data:
        raise ArchiverError(name, "binary file, not a text report", "INPUT-BINARY")
    encoding = _detect(data)
    if encoding is None:
        raise ArchiverError(name, "undecodable text: no character encoding fits",
                            "INPUT-UNDECODABLE")
    text = data.decode(encoding)
    if not _plausible(text):
        raise ArchiverError(name, "binary file, not a text report", "INPUT-BINARY")
    return text, codecs.lookup(encoding).name
