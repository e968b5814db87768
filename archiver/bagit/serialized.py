"""Serialized bags (RFC 8493 §4.2): .zip, .tar, .tar.gz / .tgz, unpacked safely.

Every member is checked before a single byte is written: names must stay inside the
extraction directory (no absolute names, '..', drive letters or UNC names), links must point
inside the bag, members must not pass through a link, device files and FIFOs are refused, and
the archive must unpack to exactly one top-level directory. If any member fails, nothing is
extracted. Extraction itself then runs with tarfile's 'data' filter as a second guard.
"""
from __future__ import annotations

import os
import posixpath
import shutil
import stat
import tarfile
import tempfile
import zipfile
import zlib
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field

from archiver.bagit.rules import unsafe_reason
from archiver.bagit.tarstream import TarStreamError, members as tar_members, open_tar
from archiver.limits import expansion_limit, expansion_refusal
from archiver.problem_codes import problem
from archiver.problems import Problem

# suffix -> MIME type as BagIt Profiles' Accept-Serialization names them
SUFFIXES = (
    (".tar.gz", "application/gzip"),
    (".tgz", "application/gzip"),
    (".tar", "application/tar"),
    (".zip", "application/zip"),
)
# the names profiles use for the same formats
MIME_ALIASES = {
    "application/gzip": {"application/gzip", "application/x-gzip", "application/tar+gzip",
                         "application/x-tar+gzip", "application/x-gtar"},
    "application/tar": {"application/tar", "application/x-tar"},
    "application/zip": {"application/zip", "application/x-zip-compressed"},
}
MAX_MEMBERS = 500_000  # each listed member costs memory before anything is unpacked


def serialization_of(path: str) -> str | None:
    """The MIME type of a serialized bag from its name, or None for anything else."""
    lower = path.lower()
    for suffix, mime in SUFFIXES:
        if lower.endswith(suffix):
            return mime
    return None


def archive_stem(path: str) -> str:
    name = os.path.basename(path)
    lower = name.lower()
    for suffix, _ in SUFFIXES:
        if lower.endswith(suffix):
            return name[:-len(suffix)]
    return name


@dataclass(slots=True)
class _Member:
    name: str  # normalized, no leading './', no trailing '/'
    kind: str  # "file", "dir", "symlink", "hardlink"
    size: int = 0
    link: str | None = None  # normalized target inside the archive for links


@dataclass
class Unpacked:
    mime: str
    top: str | None = None  # the single top-level directory's name
    bag_dir: str | None = None  # where the bag now lies on disk (None when refused)
    problems: list[Problem] = field(default_factory=list)


def _clean(name: str) -> str:
    while name.startswith("./"):
        name = name[2:]
    return name.rstrip("/")


def _check_members(members: list[_Member], raw_names: dict[str, str]) -> tuple[str | None, list[Problem]]:
    problems: list[Problem] = []
    tops: set[str] = set()
    links = {m.name for m in members if m.kind == "symlink"}
    top_is_file = False
    kinds: dict[str, str] = {}  # name -> kind of its first member
    for m in members:
        raw = raw_names[m.name]
        stripped = raw
        while stripped.startswith("./"):
            stripped = stripped[2:]
        reason = unsafe_reason(stripped) if stripped not in ("", ".") else None
        if reason:
            problems.append(problem("ARCHIVE-UNSAFE-MEMBER", raw, f"member {raw!r}: {reason}"))
            continue
        if not m.name or m.name == ".":
            continue
        if m.name in kinds:
            # tar -x keeps the last of two members of one name, other readers the first; the
            # same directory listed twice unpacks to one directory whichever is kept
            if not (m.kind == kinds[m.name] == "dir") and kinds[m.name] != "reported":
                problems.append(problem("ARCHIVE-DUPLICATE-MEMBER", raw, f"member {raw!r} appears more "
                                        "than once: which one a reader gets depends on the extractor"))
                kinds[m.name] = "reported"
            continue
        kinds[m.name] = m.kind
        parts = m.name.split("/")
        tops.add(parts[0])
        if len(parts) == 1 and m.kind != "dir":
            top_is_file = True
        for i in range(1, len(parts)):
            if "/".join(parts[:i]) in links:
                problems.append(problem("ARCHIVE-LINK-OUTSIDE", raw,
                                        f"member {raw!r} lies beneath a link member; refused"))
                break
        if m.kind in ("symlink", "hardlink"):
            target = m.link or ""
            if m.kind == "symlink":
                resolved = target if target.startswith("/") else posixpath.normpath(
                    posixpath.join(posixpath.dirname(m.name), target))
            else:
                resolved = posixpath.normpath(_clean(target))
            if (target.startswith(("/", "\\")) or unsafe_reason(resolved) or resolved.startswith("..")
                    or resolved.split("/")[0] != parts[0] or resolved == parts[0] and m.kind == "hardlink"):
                problems.append(problem("ARCHIVE-LINK-OUTSIDE", raw,
                                        f"{m.kind} {raw!r} points to {target!r}, outside the bag"))
    if problems:
        return None, problems
    if len(tops) != 1 or top_is_file:
        listed = ", ".join(sorted(tops)[:5]) or "nothing"
        problems.append(problem("ARCHIVE-TOP-LEVEL", "",
                                f"the archive must hold exactly one top-level directory; it holds {listed}"))
        return None, problems
    return tops.pop(), problems


def _tar_members(tf: tarfile.TarFile, limit: int) -> tuple[list[_Member], dict[str, str], list[Problem]]:
    """The members, read header by header, then the end of the archive checked (TarStreamError);
    stops as soon as they add up past `limit` bytes (reading on through a compressed tar would
    inflate what is being refused)."""
    members, raw, problems = [], {}, []
    total = 0
    for info in tar_members(tf, limit):
        if len(members) >= MAX_MEMBERS:
            problems.append(problem("ARCHIVE-TOO-LARGE", "", f"more than {MAX_MEMBERS} members"))
            break
        total += info.size if info.isreg() else 0
        if total > limit:
            members.append(_Member(_clean(info.name), "file", info.size))
            break
        name = _clean(info.name)
        raw[name] = info.name
        if info.isreg():
            members.append(_Member(name, "file", info.size))
        elif info.isdir():
            members.append(_Member(name, "dir"))
        elif info.issym():
            members.append(_Member(name, "symlink", link=info.linkname))
        elif info.islnk():
            members.append(_Member(name, "hardlink", link=info.linkname))
        else:
            kind = "device" if info.isdev() else "special"
            problems.append(problem("ARCHIVE-SPECIAL-MEMBER", info.name,
                                    f"member {info.name!r} is a {kind} file; refused"))
    return members, raw, problems


def _zip_members(zf: zipfile.ZipFile) -> tuple[list[_Member], dict[str, str], list[Problem]]:
    members, raw, problems = [], {}, []
    for info in zf.infolist():
        mode = info.external_attr >> 16
        name = _clean(info.filename)
        raw[name] = info.filename
        if info.is_dir():
            members.append(_Member(name, "dir"))
        elif stat.S_ISLNK(mode):
            with zf.open(info) as link:  # a link's target is short; a bomb posing as one is not
                target = link.read(4096).decode("utf-8", "replace")
            members.append(_Member(name, "symlink", link=target))
        elif mode and stat.S_IFMT(mode) not in (0, stat.S_IFREG):
            problems.append(problem("ARCHIVE-SPECIAL-MEMBER", info.filename,
                                    f"member {info.filename!r} is not a regular file; refused"))
        else:
            members.append(_Member(name, "file", info.file_size))
    return members, raw, problems


def _extract_zip(zf: zipfile.ZipFile, members: list[_Member], dest: str) -> None:
    by_name = {_clean(i.filename): i for i in zf.infolist()}
    for m in members:
        target = os.path.join(dest, *m.name.split("/"))
        if m.kind == "dir":
            os.makedirs(target, exist_ok=True)
            continue
        os.makedirs(os.path.dirname(target), exist_ok=True)
        if m.kind == "symlink":
            os.symlink(m.link, target)
            continue
        with zf.open(by_name[m.name]) as src, open(target, "xb") as dst:
            shutil.copyfileobj(src, dst, 1 << 20)


def _extraction_failed(e: Exception, tmp: str) -> Problem:
    """The problem, naming the member (the temporary folder it was unpacked into means nothing
    to the reader)."""
    where = getattr(e, "filename", None)
    if isinstance(where, str) and os.path.commonpath([tmp, os.path.abspath(where)]) == tmp:
        member = os.path.relpath(where, tmp).replace(os.sep, "/")
        return problem("ARCHIVE-UNREADABLE", member,
                       f"extraction failed at member {member!r}: {e.strerror or type(e).__name__}")
    return problem("ARCHIVE-UNREADABLE", "", f"extraction failed: {str(e).replace(tmp, '<archive>')}")


@contextmanager
def unpacked(path: str, work_dir: str | None = None) -> Iterator[Unpacked]:
    """Check and extract a serialized bag into a temporary directory removed on exit."""
    mime = serialization_of(path) or "application/octet-stream"
    result = Unpacked(mime=mime)
    tmp = None
    size = os.path.getsize(path)
    limit = expansion_limit(size)
    archive = None
    try:
        try:
            if mime == "application/zip" or zipfile.is_zipfile(path):
                archive = zipfile.ZipFile(path)
                members, raw, problems = _zip_members(archive)
            else:
                archive = open_tar(path)
                members, raw, problems = _tar_members(archive, limit)
        except (TarStreamError, OSError, tarfile.TarError, zipfile.BadZipFile, EOFError, ValueError,
                zlib.error) as e:
            if archive is not None:
                archive.close()
            if isinstance(e, TarStreamError):  # damaged or cut short at a byte offset
                result.problems.append(problem(e.code, "", f"{os.path.basename(path)}: {e}"))
            else:
                result.problems.append(problem("ARCHIVE-UNREADABLE", "", f"cannot read the archive: {e}"))
            yield result
            return
        with archive:
            total = sum(m.size for m in members)
            if total > limit:  # before any check that could read on, and before unpacking
                result.problems.append(problem("ARCHIVE-TOO-LARGE", "", "the archive holds "
                                               + expansion_refusal(size, total) + "; nothing unpacked"))
                yield result
                return
            top, more = _check_members(members, raw)
            result.problems += problems + more
            result.top = top
            if result.problems:
                yield result
                return
            tmp = tempfile.mkdtemp(prefix="archiver-validate-", dir=work_dir)
            free = shutil.disk_usage(tmp).free
            if total > free:
                result.problems.append(problem("ARCHIVE-TOO-LARGE", "",
                                               f"the archive unpacks to {total} bytes; only {free} free"))
                yield result
                return
            try:
                if isinstance(archive, zipfile.ZipFile):
                    _extract_zip(archive, members, tmp)
                else:
                    # the 'data' filter (Python 3.11.4+) is a second guard after our own checks
                    extra = {"filter": "data"} if hasattr(tarfile, "data_filter") else {}
                    archive.extractall(tmp, **extra)
            except (OSError, tarfile.TarError, zipfile.BadZipFile, EOFError, ValueError, zlib.error,
                    NotImplementedError) as e:  # corrupt deflate data, an unknown compression
                result.problems.append(_extraction_failed(e, tmp))
                yield result
                return
            result.bag_dir = os.path.join(tmp, top)
            yield result
    finally:
        if tmp:
            shutil.rmtree(tmp, ignore_errors=True)
