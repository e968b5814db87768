"""RFC 8493 parsing: the bag declaration, tag files, manifests and fetch.txt.

Each parser reads one file once, streams it line by line, and returns what it found plus the
problems it met; none raises on malformed input. Paths come back decoded (percent-encoding
undone) and checked for escapes before anything could open them.
"""
from __future__ import annotations

import codecs
import io
import os
import re
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from urllib.parse import urlsplit

from archiver.problem_codes import problem
from archiver.problems import WARNING, Problem

# BagIt versions still found in the wild; 0.93-0.95 bags call bag-info.txt package-info.txt.
SUPPORTED_VERSIONS = ("0.93", "0.94", "0.95", "0.96", "0.97", "1.0")
DECLARATION_LIMIT = 4096  # bagit.txt is two short lines; anything longer is not a declaration

# Reserved labels that describe the bag as a whole, so a second occurrence is contradictory
# (RFC 8493 §2.2.2 lets other labels repeat).
SINGLE_VALUED = ("payload-oxum", "bag-size", "bagging-date", "bag-count")

_VERSION = re.compile(r"\d+\.\d+\Z")
_OXUM = re.compile(r"(\d+)\.(\d+)\Z")
_DATE = re.compile(r"\d{4}-\d{2}-\d{2}\Z")
_BAG_COUNT = re.compile(r"\d+ of (\d+|\?)\Z", re.IGNORECASE)
_BAG_SIZE = re.compile(r"\d+(\.\d+)?\s*([KMGTPE]i?B|bytes?|B)?\Z", re.IGNORECASE)
_HEX = frozenset("0123456789abcdefABCDEF")
_DRIVE = re.compile(r"[A-Za-z]:")
_PERCENT = re.compile(r"%(25|0[dDaA])")


@dataclass
class Declaration:
    version: str | None = None
    encoding: str = "utf-8"  # a Python codec name
    declared_encoding: str | None = None


@dataclass
class ManifestEntries:
    algorithm: str
    name: str  # the manifest's file name, e.g. manifest-sha256.txt
    entries: dict[str, str] = field(default_factory=dict)  # decoded path -> lowercase hex


@dataclass(frozen=True)
class FetchEntry:
    url: str
    length: int | None  # None for '-'
    path: str
    line: int


# -- the declaration -------------------------------------------------------------------------
def parse_declaration(data: bytes, path: str = "bagit.txt") -> tuple[Declaration, list[Problem]]:
    """Check bagit.txt's exact form (RFC 8493 §2.1.1) and return its version and encoding."""
    decl, problems = Declaration(), []
    if data.startswith(codecs.BOM_UTF8) or data.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)):
        problems.append(problem("BAGIT-DECLARATION-BOM", path,
                                "bagit.txt begins with a byte-order mark; it must not"))
        data = data.lstrip(codecs.BOM_UTF8)
        if data[:2] in (codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE):
            try:
                data = data.decode("utf-16").encode("utf-8")
            except UnicodeDecodeError:
                pass
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError as e:
        problems.append(problem("BAGIT-DECLARATION-NOT-UTF8", path,
                                f"bagit.txt is not UTF-8 (byte {e.start}); it must be"))
        text = data.decode("utf-8", "replace")
    lines = _split_lines(text)
    if lines and lines[-1] == "":
        lines.pop()  # the terminator of the last line
    else:
        # the RFC's two lines are terminated, but bagit-python and others accept a bare last
        # line, and nothing is ambiguous about it: a warning, not a reason to reject the bag
        problems.append(problem("BAGIT-DECLARATION-MALFORMED", path,
                                "the last line of bagit.txt has no line ending", WARNING))
    expected = ("BagIt-Version", "Tag-File-Character-Encoding")
    values: dict[str, str] = {}
    for number, line in enumerate(lines, 1):
        label, sep, value = line.partition(":")
        if not sep:
            problems.append(problem("BAGIT-DECLARATION-MALFORMED", path,
                                    f"line {number} is not 'Label: value': {line[:60]!r}"))
            continue
        if label.strip() != label or value[:1] != " " or value[1:].strip() != value[1:]:
            problems.append(problem("BAGIT-DECLARATION-WHITESPACE", path,
                                    f"line {number} has stray whitespace: {line[:60]!r} "
                                    f"(expected '{label.strip()}: {value.strip()}')"))
        label, value = label.strip(), value.strip()
        if number <= 2 and label != expected[number - 1]:
            if label.lower() == expected[number - 1].lower():
                problems.append(problem("BAGIT-DECLARATION-MALFORMED", path,
                                        f"line {number} label is {label!r}; it must be spelled "
                                        f"{expected[number - 1]!r}"))
            else:
                problems.append(problem("BAGIT-DECLARATION-MALFORMED", path,
                                        f"line {number} must be {expected[number - 1]}, found {label!r}"))
        values.setdefault(label.lower(), value)
    if len(lines) != 2:
        problems.append(problem("BAGIT-DECLARATION-MALFORMED", path,
                                f"bagit.txt has {len(lines)} lines; it must have exactly 2"))
    version = values.get("bagit-version")
    if version is None:
        problems.append(problem("BAGIT-DECLARATION-MALFORMED", path, "BagIt-Version is missing"))
    elif not _VERSION.match(version):
        problems.append(problem("BAGIT-VERSION-MALFORMED", path,
                                f"BagIt-Version {version!r} is not of the form M.N"))
    elif version not in SUPPORTED_VERSIONS:
        problems.append(problem("BAGIT-VERSION-UNSUPPORTED", path,
                                f"BagIt-Version {version} is not one of {', '.join(SUPPORTED_VERSIONS)}"))
        decl.version = version
    else:
        decl.version = version
    declared = values.get("tag-file-character-encoding")
    if declared is None:
        problems.append(problem("BAGIT-DECLARATION-MALFORMED", path,
                                "Tag-File-Character-Encoding is missing"))
    else:
        decl.declared_encoding = declared
        try:
            decl.encoding = codecs.lookup(declared).name
        except LookupError:
            problems.append(problem("BAGIT-ENCODING-UNSUPPORTED", path,
                                    f"Tag-File-Character-Encoding {declared!r} is not an encoding "
                                    f"this validator knows; tag files are read as UTF-8"))
        else:
            if decl.encoding != "utf-8" and decl.version == "1.0":
                problems.append(problem("BAGIT-ENCODING-NOT-UTF8", path,
                                        f"tag files are declared {declared}; BagIt 1.0 bags should use UTF-8"))
    return decl, problems


def _split_lines(text: str) -> list[str]:
    # RFC 8493 ends lines with LF, CR or CRLF, and only those (str.splitlines knows more).
    return text.replace("\r\n", "\n").replace("\r", "\n").split("\n")


# -- tag files (bag-info.txt and others) --------------------------------------------------------
def _open_text(fspath: str | bytes, encoding: str):
    # newline=None is universal newlines: exactly LF, CR and CRLF, each read as LF.
    if isinstance(fspath, (bytes, bytearray)):
        return io.TextIOWrapper(io.BytesIO(fspath), encoding=encoding, errors="strict", newline=None)
    return open(fspath, encoding=encoding, errors="strict", newline=None)


# A line longer than this is never held whole (memory stays bounded whatever the file): it
# comes as long_line(its length), which the parsers report. A tag value may be long (archiver
# writes values of up to a million characters); no file system has a path of a megabyte.
MAX_TAG_LINE = 16 << 20
MAX_MANIFEST_LINE = 1 << 20
_LONG = "\x00line too long: "  # a NUL first: no parser can take it for a line of its format


def long_line(length: int) -> str:
    return f"{_LONG}{length}"


def long_line_length(line: str) -> int | None:
    """The length of the over-long line `line` stands for; None for any real line."""
    return int(line[len(_LONG):]) if line.startswith(_LONG) else None


def read_lines(fspath: str | bytes, encoding: str, max_line: int = MAX_TAG_LINE) -> Iterator[str]:
    """Stream a tag file's lines without terminators; LF, CR and CRLF all end a line; a line
    over `max_line` characters comes as long_line(length), read past, never held.

    `fspath` is a path, or the file's bytes (a member of an archive read in passing).
    Raises UnicodeDecodeError / OSError to the caller, which turns them into problems.
    """
    with _open_text(fspath, encoding) as f:
        first = True
        while line := f.readline(max_line + 1):
            if first:
                line = line.lstrip("\ufeff")
                first = False
            if len(line) > max_line and not (len(line) == max_line + 1 and line.endswith("\n")):
                length = len(line)
                while not line.endswith("\n") and (line := f.readline(BLOCK_CHARS)):
                    length += len(line)
                yield long_line(length - (1 if line.endswith("\n") else 0))
                continue
            yield line[:-1] if line.endswith("\n") else line


BLOCK_CHARS = 1 << 20  # a manifest is read a megabyte of text at a time


def undecodable_line(fspath: str | bytes, encoding: str) -> int | None:
    """The line (from 1) holding the first bytes that are not valid `encoding`, counted as
    read_lines counts (LF, CR, CRLF); None if every byte decodes. A text reader fails a whole
    buffer at a time, often lines before the bad one, so an error names the line found here."""
    decoder = codecs.getincrementaldecoder(encoding)("strict")
    line, last = 1, ""

    def count(text: str) -> None:
        nonlocal line, last
        if text:
            line += text.count("\n") + text.count("\r") - text.count("\r\n") - (last == "\r" and text[0] == "\n")
            last = text[-1]

    try:
        f = open(fspath, "rb") if not isinstance(fspath, (bytes, bytearray)) else io.BytesIO(fspath)
    except OSError:
        return None
    with f:
        while chunk := f.read(1 << 16):
            state = decoder.getstate()
            try:
                count(decoder.decode(chunk))
                continue
            except UnicodeError:
                decoder.setstate(state)
            for i in range(len(chunk)):  # the failing chunk again, a byte at a time
                try:
                    count(decoder.decode(chunk[i:i + 1]))
                except UnicodeError:
                    return line
            return line
        try:
            decoder.decode(b"", final=True)
        except UnicodeError:
            return line
    return None


def _bad_line(fspath: str | bytes | None, encoding: str, fallback: int) -> int:
    return (undecodable_line(fspath, encoding) if fspath is not None else None) or fallback


def read_line_blocks(fspath: str | bytes, encoding: str, max_line: int = MAX_MANIFEST_LINE
                     ) -> Iterator[list[str]]:
    """The lines of read_lines, a list at a time (about BLOCK_CHARS of text each): for files
    of many lines (a manifest of a million files), where a list is cheaper than a line."""
    with _open_text(fspath, encoding) as f:
        pending: list[str] = []
        held = 0  # characters in pending
        skipped = 0  # of an over-long line read past, not held
        first = True
        while chunk := f.read(BLOCK_CHARS):
            if first:
                chunk = chunk.lstrip("\ufeff")
                first = not chunk
            cut = chunk.rfind("\n") + 1
            if not cut:  # a line longer than a block: gathered, not copied block after block
                if skipped or held + len(chunk) > max_line:
                    skipped += held + len(chunk)
                    pending, held = [], 0
                else:
                    pending.append(chunk)
                    held += len(chunk)
                continue
            if skipped:  # the over-long line ends in this chunk
                end = chunk.find("\n")
                pending, held = [long_line(skipped + end) + chunk[end:cut - 1]], 0
                skipped = 0
            else:
                pending.append(chunk[:cut - 1])
            lines = "".join(pending).split("\n")
            if max_line < BLOCK_CHARS or len(lines[0]) > max_line:
                lines = [long_line(len(line)) if len(line) > max_line else line for line in lines]
            pending = [chunk[cut:]]
            held = len(pending[0])
            yield lines
        if skipped:
            yield [long_line(skipped + held)]
            return
        tail = "".join(pending)
        if tail:
            yield [long_line(len(tail)) if len(tail) > max_line else tail]


def parse_tag_file(fspath: str, path: str, encoding: str, version: str | None = None
                   ) -> tuple[list[tuple[str, str]], list[Problem]]:
    """(label, value) pairs of a tag file in file order, continuation lines joined.

    `version` is the BagIt version the bag declares: before 1.0, "optional whitespace" around
    the colon was allowed (BagIt 0.97 section 2.2.2), so a label ending in whitespace is only a
    warning there; RFC 8493 forbids it."""
    label_space = WARNING if version and _before_1_0(version) else None
    pairs: list[tuple[str, str]] = []
    problems: list[Problem] = []
    number = 0
    try:
        for number, line in enumerate(read_lines(fspath, encoding), 1):
            if (length := long_line_length(line)) is not None:
                problems.append(problem("BAGIT-TAGFILE-LINE-MALFORMED", path,
                                        f"line {number} is {length:,} characters long (at most "
                                        f"{MAX_TAG_LINE:,} are read); not read"))
                continue
            if not line.strip():
                continue
            if line[0] in " \t":
                if pairs:
                    label, value = pairs[-1]
                    pairs[-1] = (label, f"{value} {line.strip()}" if value else line.strip())
                else:
                    problems.append(problem("BAGIT-TAGFILE-LINE-MALFORMED", path,
                                            f"line {number} continues a value but no label precedes it"))
                continue
            label, sep, value = line.partition(":")
            if not sep:
                problems.append(problem("BAGIT-TAGFILE-LINE-MALFORMED", path,
                                        f"line {number} has no ':' between label and value: {line[:60]!r}"))
                continue
            if label != label.rstrip():
                problems.append(problem("BAGIT-TAGFILE-LABEL-WHITESPACE", path,
                                        f"line {number}: label {label!r} ends with whitespace"
                                        + (f" (allowed by BagIt {version}, not by 1.0)" if label_space else ""),
                                        label_space))
            pairs.append((label.strip(), value.strip()))
    except UnicodeError as e:
        problems.append(problem("BAGIT-TAGFILE-UNREADABLE", path,
                                f"not valid {encoding} at line {_bad_line(fspath, encoding, number + 1)}: "
                                f"{getattr(e, 'reason', e)}"))
    except OSError as e:
        problems.append(problem("BAGIT-TAGFILE-UNREADABLE", path, f"cannot read: {e.strerror or e}"))
    return pairs, problems


def _before_1_0(version: str) -> bool:
    try:
        return tuple(int(n) for n in version.split(".")) < (1, 0)
    except ValueError:
        return False


def check_bag_info(pairs: list[tuple[str, str]], path: str) -> list[Problem]:
    """Reserved-label rules of RFC 8493 §2.2.2 that need no look at the payload."""
    problems: list[Problem] = []
    seen: dict[str, list[str]] = {}
    for label, value in pairs:
        seen.setdefault(label.lower(), []).append(value)
    for key in SINGLE_VALUED:
        values = seen.get(key, [])
        if len(values) > 1:
            label = next(lab for lab, _ in pairs if lab.lower() == key)
            code = "BAGIT-OXUM-MALFORMED" if key == "payload-oxum" and len(set(values)) > 1 \
                else "BAGIT-INFO-REPEATED-LABEL"
            problems.append(problem(code, path, f"{label} appears {len(values)} times "
                                                f"({', '.join(values)}); it describes the whole bag once"))
    for value in seen.get("payload-oxum", [])[:1]:
        if not _OXUM.match(value):
            problems.append(problem("BAGIT-OXUM-MALFORMED", path,
                                    f"Payload-Oxum {value!r} is not octetcount.streamcount"))
    for value in seen.get("bagging-date", []):
        if not _DATE.match(value):
            problems.append(problem("BAGIT-INFO-BAD-DATE", path,
                                    f"Bagging-Date {value!r} is not YYYY-MM-DD"))
    for value in seen.get("bag-count", []):
        match = _BAG_COUNT.match(value)
        bad = not match
        if match and match.group(1) != "?":
            n, total = int(value.split()[0]), int(match.group(1))
            bad = n < 1 or n > total
        if bad:
            problems.append(problem("BAGIT-INFO-BAD-BAG-COUNT", path,
                                    f"Bag-Count {value!r} is not 'N of T' with 1 <= N <= T"))
    for value in seen.get("bag-size", []):
        if not _BAG_SIZE.match(value):
            problems.append(problem("BAGIT-INFO-BAD-BAG-SIZE", path,
                                    f"Bag-Size {value!r} is not a size such as '260 GB'"))
    return problems


def parse_oxum(value: str | None) -> tuple[int, int] | None:
    match = _OXUM.match(value or "")
    return (int(match.group(1)), int(match.group(2))) if match else None


# -- paths -------------------------------------------------------------------------------------
def decode_path(raw: str) -> tuple[str, bool]:
    """Undo RFC 8493 §2.1.3 percent-encoding; the flag says whether a stray '%' was seen."""
    if "%" not in raw:
        return raw, False
    stray = raw.count("%") != len(_PERCENT.findall(raw))
    decoded = _PERCENT.sub(lambda m: {"25": "%", "0d": "\r", "0a": "\n"}[m.group(1).lower()], raw)
    return decoded, stray


def unsafe_reason(path: str) -> str | None:
    """Why `path` could leave the bag (RFC 8493 §6), or None when it stays inside.

    Cheap for ordinary paths: one pass of character tests before any splitting.
    """
    if not path:
        return "empty path"
    first = path[0]
    if first == "/" or first == "\\":
        return "absolute path" if path[:2] not in ("\\\\", "//") else "UNC path"
    if first == "~":
        return "home-directory path ('~')"
    if "\x00" in path:
        return "NUL character in path"
    if len(path) > 1 and path[1] == ":" and _DRIVE.match(path):
        return "drive letter"
    if ".." in path:
        for part in path.replace("\\", "/").split("/"):
            if part == "..":
                return "'..' component"
    return None


def normalize_relative(path: str) -> str:
    """Drop './' and empty components (unsafe paths must have been refused before)."""
    parts = [p for p in path.split("/") if p not in ("", ".")]
    return "/".join(parts)


# -- manifests ----------------------------------------------------------------------------------
def manifest_algorithm(name: str, prefix: str) -> str:
    return name[len(prefix):-len(".txt")]


def parse_manifest(fspath: str | bytes, name: str, algorithm: str, encoding: str,
                   digest_length: int | None) -> tuple[ManifestEntries, list[Problem]]:
    """Read a payload or tag manifest once (RFC 8493 §2.1.3, §2.2.1).

    Per line: split at the first space or tab, check the digest, decode the path. Duplicate
    entries are reported (equal digests: warning; different: error) and the first one is kept.
    """
    try:
        return _parse_manifest(read_line_blocks(fspath, encoding), name, algorithm, encoding,
                               digest_length, whole_blocks=True)
    except UnicodeError:  # read again line by line: the lines before the bad one count, and it is named
        return _parse_manifest(([line] for line in read_lines(fspath, encoding, MAX_MANIFEST_LINE)),
                               name, algorithm, encoding, digest_length, whole_blocks=False, source=fspath)


def _parse_manifest(blocks: Iterable[list[str]], name: str, algorithm: str, encoding: str,
                    digest_length: int | None, *, whole_blocks: bool, source: str | bytes | None = None
                    ) -> tuple[ManifestEntries, list[Problem]]:
    result = ManifestEntries(algorithm=algorithm, name=name)
    problems: list[Problem] = []
    entries = result.entries
    number = 0
    try:
        for lines in blocks:
            if whole_blocks and _plain_lines(lines, digest_length, entries):
                number += len(lines)
                continue
            for line in lines:
                number += 1
                _manifest_line(line, number, name, algorithm, digest_length, entries, problems)
    except UnicodeError as e:
        if whole_blocks:
            raise
        problems.append(problem("BAGIT-MANIFEST-UNREADABLE", name,
                                f"not valid {encoding} at line {_bad_line(source, encoding, number + 1)}: "
                                f"{getattr(e, 'reason', e)}; later lines were not read"))
    except OSError as e:
        problems.append(problem("BAGIT-MANIFEST-UNREADABLE", name, f"cannot read: {e.strerror or e}"))
    return result, problems


def _plain_lines(lines: list[str], digest_length: int | None, entries: dict[str, str]) -> bool:
    """Enter the lines into entries when every one is plain: 'digest  path' with a lowercase
    hex digest of the right length and a path that needs no decoding, no normalizing and no
    warning, listed once. Then _manifest_line would find nothing to say about any of them;
    otherwise nothing is entered and it reads them one by one."""
    new: dict[str, str] = {}
    digests: list[str] = []
    for line in lines:
        digest, _, path = line.partition(" ")
        path = path.lstrip(" ")
        if (not path or path[0] in "./~*" or path[-1] == "/" or path[1:2] == ":"
                or (len(digest) != digest_length if digest_length else not digest)):
            return False
        new[path] = digest
        digests.append(digest)
    text = "".join(digests)
    paths = "".join(new)
    try:
        whole = len(bytes.fromhex(text)) * 2 == len(text)  # every character hex (none skipped)
    except ValueError:
        return False
    if (not whole or text.lower() != text or len(new) != len(lines) or not entries.keys().isdisjoint(new)
            or any(c in paths for c in "\t%\\\x00") or "/." in paths or "//" in paths):
        return False
    entries.update(new)
    return True


def _manifest_line(line: str, number: int, name: str, algorithm: str, digest_length: int | None,
                   entries: dict[str, str], problems: list[Problem]) -> None:
    if (length := long_line_length(line)) is not None:
        problems.append(problem("BAGIT-MANIFEST-LINE-MALFORMED", name,
                                f"line {number} is {length:,} characters long, longer than any "
                                "'checksum filepath' line can be; not read"))
        return
    sep = line.find(" ")
    tab = line.find("\t")
    if tab != -1 and (sep == -1 or tab < sep):
        sep = tab
    if sep <= 0:
        if line.strip():
            problems.append(problem("BAGIT-MANIFEST-LINE-MALFORMED", name,
                                    f"line {number} is not 'checksum filepath': {line[:80]!r}"))
        return
    digest = line[:sep]
    raw = line[sep:].lstrip(" \t")
    if not raw:
        problems.append(problem("BAGIT-MANIFEST-LINE-MALFORMED", name,
                                f"line {number} has a checksum but no file path"))
        return
    if raw[0] == "*":
        problems.append(problem("BAGIT-MANIFEST-BINARY-MARKER", name,
                                f"line {number}: '*{raw[1:60]}' read as '{raw[1:60]}' "
                                "(md5sum binary marker)"))
        raw = raw[1:]
    path, stray = decode_path(raw)
    if stray:
        problems.append(problem("BAGIT-MANIFEST-PERCENT-ENCODING", name,
                                f"line {number}: '%' in {raw!r} is not followed by 25, 0D or 0A; "
                                "read literally"))
    reason = unsafe_reason(path)
    if reason:
        problems.append(problem("BAGIT-PATH-UNSAFE", path,
                                f"{name} line {number} lists {path!r}: {reason}; never opened"))
        return
    if "\\" in path:
        problems.append(problem("BAGIT-PATH-BACKSLASH", path,
                                f"{name} line {number}: backslash in path, read as part of a name"))
    if path.startswith("./") or "//" in path or "/./" in path or path.endswith("/"):
        normalized = normalize_relative(path)
        problems.append(problem("BAGIT-PATH-NOT-NORMALIZED", path,
                                f"{name} line {number}: read as {normalized!r}"))
        path = normalized
    if (digest_length and len(digest) != digest_length) or not _HEX.issuperset(digest):
        problems.append(problem("BAGIT-MANIFEST-BAD-DIGEST", path,
                                f"{name} line {number}: {digest[:80]!r} is not a "
                                f"{algorithm} checksum"))
        digest = ""
    digest = digest.lower()
    previous = entries.get(path)
    if previous is None:
        entries[path] = digest
    elif previous == digest:
        problems.append(problem("BAGIT-MANIFEST-DUPLICATE-ENTRY", path,
                                f"{name} lists {path} twice (line {number} repeats it)"))
    else:
        problems.append(problem("BAGIT-MANIFEST-CONFLICTING-ENTRY", path,
                                f"{name} lists {path} twice with different checksums "
                                f"({short_digest(previous)}, then {short_digest(digest)} on line {number})"))


def short_digest(digest: str) -> str:
    return digest[:12] + "…" if len(digest) > 12 else digest or "(invalid)"


# -- fetch.txt ----------------------------------------------------------------------------------
def parse_fetch(fspath: str, encoding: str) -> tuple[list[FetchEntry], list[Problem]]:
    """Read fetch.txt (RFC 8493 §2.2.3). URLs are recorded, never followed."""
    entries: list[FetchEntry] = []
    problems: list[Problem] = []
    number = 0
    try:
        for number, line in enumerate(read_lines(fspath, encoding, MAX_MANIFEST_LINE), 1):
            if (length := long_line_length(line)) is not None:
                problems.append(problem("BAGIT-FETCH-LINE-MALFORMED", "fetch.txt",
                                        f"line {number} is {length:,} characters long; not read"))
                continue
            if not line.strip():
                continue
            fields = line.split(None, 2)
            if len(fields) != 3:
                problems.append(problem("BAGIT-FETCH-LINE-MALFORMED", "fetch.txt",
                                        f"line {number} is not 'url length filepath': {line[:80]!r}"))
                continue
            url, length, raw = fields
            if length != "-" and not length.isdigit():
                problems.append(problem("BAGIT-FETCH-LINE-MALFORMED", "fetch.txt",
                                        f"line {number}: length {length!r} is neither a number nor '-'"))
                continue
            try:
                scheme = urlsplit(url).scheme
            except ValueError:
                scheme = ""
            if not scheme:
                problems.append(problem("BAGIT-FETCH-BAD-URL", "fetch.txt",
                                        f"line {number}: {url[:80]!r} is not an absolute URL"))
            path, _ = decode_path(raw)
            reason = unsafe_reason(path)
            if reason:
                problems.append(problem("BAGIT-PATH-UNSAFE", path,
                                        f"fetch.txt line {number} lists {path!r}: {reason}"))
                continue
            path = normalize_relative(path)
            if not path.startswith("data/"):
                problems.append(problem("BAGIT-FETCH-TAG-FILE", path,
                                        f"fetch.txt line {number} lists {path}, which is not payload"))
                continue
            entries.append(FetchEntry(url, None if length == "-" else int(length), path, number))
    except UnicodeError as e:
        problems.append(problem("BAGIT-TAGFILE-UNREADABLE", "fetch.txt",
                                f"not valid {encoding} at line {_bad_line(fspath, encoding, number + 1)}: "
                                f"{getattr(e, 'reason', e)}"))
    except OSError as e:
        problems.append(problem("BAGIT-TAGFILE-UNREADABLE", "fetch.txt", f"cannot read: {e.strerror or e}"))
    return entries, problems


def fs_path(bag_dir: str, rel: str) -> str:
    """The on-disk path of a bag-relative POSIX path that unsafe_reason() has accepted."""
    return os.path.join(bag_dir, *rel.split("/"))
