"""What `archiver build` is given, turned into reports: which files make up each report, which
one is the report itself and which are attachments.

The folder rule: a folder is *one report* when its top level holds a sidecar (`*.meta.json`)
naming `report_file`, or a report file together with anything else that is not a report (a
photo, a PDF, a video) or a subfolder. Otherwise it is a *folder of reports*: each report file
at its top level is a package of its own, `NAME.html` together with a `NAME_files/` folder
beside it (a page saved "complete") is one package, and each subfolder is judged by the same
rule.
"""
from __future__ import annotations

import json
import os
import stat
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path, PurePosixPath

from archiver.extract.sidecar import SUFFIX as SIDECAR_SUFFIX, sidecar_for, sidecar_names
from archiver.paths import path_list
from archiver.problems import ArchiverError

TEXT_SUFFIXES = {".txt", ".text", ".md", ""}
HTML_SUFFIXES = {".html", ".htm", ".xhtml"}
PAGE_FOLDER = "_files"  # what browsers call the assets folder of a page saved "complete"
LEFT_OUT = "INPUT-LEFT-OUT"  # the code of an input left out with a warning, not failed


@dataclass(frozen=True)
class ReportInput:
    """One report as given: its files relative to `root` (POSIX paths, sorted, the report
    file included), which of them is the report, and how to read it."""
    source: str  # the path as the user named it, for messages
    root: Path
    report: str
    files: tuple[str, ...]
    kind: str  # "text", "html", "warc" or "wacz"
    sidecar: Path | None = None
    skipped: tuple[str, ...] = ()  # hidden files left out (.DS_Store and the like)

    @property
    def attachments(self) -> tuple[str, ...]:
        return tuple(f for f in self.files if f != self.report)


def report_kind(name: str) -> str | None:
    """The kind of report a file name says it holds, or None for an attachment."""
    lower = name.lower()
    if lower.endswith((".warc", ".warc.gz")):
        return "warc"
    if lower.endswith(".wacz"):
        return "wacz"
    dot = lower.rfind(".")  # PurePosixPath's suffix, without making a path (thousands of names)
    suffix = lower[dot:] if 0 < dot < len(lower) - 1 else ""
    if suffix in HTML_SUFFIXES:
        return "html"
    if suffix in TEXT_SUFFIXES:
        return "text"
    return None


def check_name(name: str, where: str) -> None:
    """Refuse names a manifest cannot carry safely; never rename silently."""
    if any(ord(c) < 32 or ord(c) == 127 for c in name):
        raise ArchiverError(where, f"file name {name!r} contains a control character (newline, "
                            "tab...); rename it before packaging", "INPUT-NAME")
    try:
        name.encode("utf-8")
    except UnicodeEncodeError:  # bytes the file system could not decode (surrogate escapes)
        raise ArchiverError(where, f"file name {name!r} is not valid UTF-8 (BagIt manifests are "
                            "UTF-8); rename it before packaging", "INPUT-NAME") from None


def _page_folder(page: Path, listing: Listing | None = None) -> Path | None:
    if report_kind(page.name) != "html":
        return None
    folder = page.with_name(page.stem + PAGE_FOLDER)
    is_dir = listing.get(folder.name) == "dir" if listing is not None else folder.is_dir()
    return folder if is_dir else None


# A folder's entries, name -> "dir", "file", "link" or "other" (a FIFO, a device), read once
# with os.scandir: a folder of thousands of reports is judged without a stat per report.
Listing = dict[str, str]


def _sidecar(report: Path, listing: Listing | None) -> Path | None:
    if listing is None:
        return sidecar_for(report)
    for name in sidecar_names(report):
        if listing.get(name) == "file":
            return report.with_name(name)
    return None


def _walk(root: Path, top: Path, skipped: list[str], exclude: frozenset[Path] = frozenset()
          ) -> list[str]:
    """Every file under `top`, relative to `root`; hidden files are skipped and listed, links
    and special files refused (a package holds what was given, nothing a link points to);
    folders in `exclude` (the output store) are passed over."""
    found = []

    def unreadable(error: OSError) -> None:
        raise ArchiverError(error.filename or str(top), f"cannot read: {error.strerror}",
                            "INPUT-UNREADABLE")

    for dirpath, dirnames, filenames in os.walk(top, onerror=unreadable):
        here = Path(dirpath)
        for d in list(dirnames):
            rel = (here / d).relative_to(root).as_posix()
            check_name(d, str(here / d))
            if (here / d).resolve() in exclude:
                dirnames.remove(d)
            elif d.startswith("."):
                skipped.append(rel + "/")
                dirnames.remove(d)
            elif (here / d).is_symlink():
                raise ArchiverError(str(here / d), "is a symbolic link; copy what it points to "
                                    "into the folder instead", "INPUT-LINK")
        dirnames.sort()
        for f in sorted(filenames):
            path = here / f
            rel = path.relative_to(root).as_posix()
            check_name(f, str(path))
            if f.startswith("."):
                skipped.append(rel)
                continue
            mode = path.lstat().st_mode
            if stat.S_ISLNK(mode):
                raise ArchiverError(str(path), "is a symbolic link; copy what it points to into "
                                    "the folder instead", "INPUT-LINK")
            if not stat.S_ISREG(mode):
                raise ArchiverError(str(path), "is not a regular file", "INPUT-UNREADABLE")
            found.append(rel)
    return found


def _named_report(sidecar: Path) -> str | None:
    """`report_file` of a sidecar, read leniently: the build validates the sidecar later."""
    try:
        data = json.loads(sidecar.read_bytes().decode("utf-8-sig"))
    except (OSError, ValueError, RecursionError):
        return None
    if not isinstance(data, dict):
        return None
    value = data.get("report_file", data.get("report"))
    return value if isinstance(value, str) and value else None


def file_input(path: Path, source: str | None = None, exclude: frozenset[Path] = frozenset(),
               listing: Listing | None = None) -> ReportInput:
    """A single report file, or a page saved "complete" with its NAME_files/ folder.
    `listing` is the folder holding it, when already read."""
    check_name(path.name, str(path))
    kind = report_kind(path.name) or "text"
    folder = _page_folder(path, listing)
    skipped: list[str] = []
    files = [path.name]
    if folder:
        files += _walk(path.parent, folder, skipped, exclude)
    return ReportInput(source=source or str(path), root=path.parent, report=path.name,
                       files=tuple(sorted(files)), kind=kind, sidecar=_sidecar(path, listing),
                       skipped=tuple(skipped))


def folder_input(folder: Path, named: str | None = None, sidecar: Path | None = None,
                 exclude: frozenset[Path] = frozenset()) -> ReportInput:
    """A folder of one report: every file in it is payload; the report file is the one the
    sidecar names, else the only report file at its top level."""
    skipped: list[str] = []
    files = [f for f in _walk(folder, folder, skipped, exclude)
             if not ("/" not in f and f.endswith(SIDECAR_SUFFIX))]
    if named:
        report = PurePosixPath(named).as_posix()
        if report not in files:
            raise ArchiverError(str(folder), f"report_file {named!r} named in the sidecar is not "
                                "a file in the folder", "INPUT-NO-REPORT")
    else:
        candidates = [f for f in files if "/" not in f and report_kind(f)]
        if not candidates:
            raise ArchiverError(str(folder), "folder holds no report file (an HTML, text, WARC or "
                                "WACZ file at its top level); name one with report_file in a "
                                "sidecar", "INPUT-NO-REPORT")
        if len(candidates) > 1:
            raise ArchiverError(str(folder), "folder holds several report files ("
                                + ", ".join(candidates) + "); name one with report_file in a "
                                "sidecar", "INPUT-NO-REPORT")
        report = candidates[0]
    if sidecar is None:
        sidecar = sidecar_for(folder / report)
    return ReportInput(source=str(folder), root=folder, report=report, files=tuple(sorted(files)),
                       kind=report_kind(report) or "text", sidecar=sidecar, skipped=tuple(skipped))


def _judge_folder(folder: Path, meta: Path | None, exclude: frozenset[Path]
                  ) -> tuple[list[ReportInput], list[ArchiverError]]:
    try:
        listing = _list(folder)
    except OSError as e:
        return [], [ArchiverError(str(folder), f"cannot read: {e.strerror}", "INPUT-UNREADABLE")]
    inputs: list[ReportInput] = []
    failed: list[ArchiverError] = []
    holds = _holds_bags(folder, listing)
    if holds:  # packages are never reports (a store made in the folder by an earlier build)
        return [], [ArchiverError(str(folder), f"{holds}, not a report: left out", LEFT_OUT)]
    # the store may lie in the folder, or be the folder: it is never input, nor its packages
    is_store = folder.resolve() in exclude
    entries = []
    for name, kind in sorted(listing.items()):
        path = folder / name
        if name.startswith(".") or (kind == "dir" and (is_store or path.resolve() in exclude)):
            continue
        if kind == "link":  # never followed: a link to "." would make the walk endless
            failed.append(ArchiverError(str(path), "is a symbolic link; copy what it points to "
                                        "into the folder instead", "INPUT-LINK"))
        elif kind == "other":
            failed.append(ArchiverError(str(path), "is not a regular file", "INPUT-UNREADABLE"))
        elif kind == "dir" and (holds := _subfolder_holds_bags(path)):
            # left out before the folder rule: a store beside reports does not make them one report
            failed.append(ArchiverError(str(path), f"{holds}, not a report: left out", LEFT_OUT))
        else:
            entries.append(path)
    files = [e for e in entries if listing[e.name] == "file"]
    sidecars = [e for e in files if e.name.endswith(SIDECAR_SUFFIX)]
    reports = [e for e in files if not e.name.endswith(SIDECAR_SUFFIX) and report_kind(e.name)]
    others = [e for e in files if not e.name.endswith(SIDECAR_SUFFIX) and not report_kind(e.name)]
    page_folders = {f for r in reports if (f := _page_folder(r, listing))}
    subfolders = [e for e in entries if listing[e.name] == "dir" and e not in page_folders]

    for candidate in ([meta] if meta else sidecars):
        named = _named_report(candidate)
        if named:
            return _one(folder, named, candidate, exclude)
    if others or (reports and subfolders):
        sidecar = meta or (sidecars[0] if len(sidecars) == 1 else None)
        return _one(folder, None, sidecar, exclude)
    for report in reports:
        try:
            inputs.append(file_input(report, exclude=exclude, listing=listing))
        except ArchiverError as e:
            failed.append(e)
    for sub in subfolders:
        more, bad = _judge_folder(sub, meta, exclude)
        inputs += more
        failed += bad
    if not reports and not subfolders and not failed:
        failed.append(ArchiverError(str(folder), "directory holds no report files", "INPUT-NO-REPORT"))
    return inputs, failed


def _holds_bags(folder: Path, listing: Listing) -> str | None:
    """What the folder is when it is a bag, or a folder of bags with no report beside them."""
    if listing.get("bagit.txt") == "file":
        return "a bag (a package)"
    if any(listing[n] == "file" and report_kind(n) and not n.startswith(".") for n in listing):
        return None
    for name, kind in listing.items():
        if kind == "dir" and not name.startswith(".") and (folder / name / "bagit.txt").is_file():
            return "a folder of packages (bags)"
    return None


def _subfolder_holds_bags(folder: Path) -> str | None:
    try:
        return _holds_bags(folder, _list(folder))
    except OSError:
        return None  # judged (and reported) when walked


def _list(folder: Path) -> Listing:
    def kind(e: os.DirEntry) -> str:
        if e.is_symlink():
            return "link"
        return "dir" if e.is_dir() else "file" if e.is_file() else "other"

    with os.scandir(folder) as it:
        return {e.name: kind(e) for e in it}


def _one(folder: Path, named: str | None, sidecar: Path | None, exclude: frozenset[Path]
         ) -> tuple[list[ReportInput], list[ArchiverError]]:
    try:
        return [folder_input(folder, named, sidecar, exclude)], []
    except ArchiverError as e:
        return [], [e]


def collect_inputs(items, meta: str | None = None, exclude: Iterable[str | os.PathLike] = ()
                   ) -> tuple[list[ReportInput], list[ArchiverError]]:
    """Expand what the user named into reports, by the folder rule above; paths that cannot be
    packaged come back as errors naming them. Folders in `exclude` (the store the packages go
    to, which may well lie inside a folder of reports) are never read as input."""
    exclude = frozenset(Path(p).resolve() for p in exclude)
    inputs, failed = [], []
    meta_path = Path(meta) if meta else None
    for item in path_list(items):
        path = Path(item)
        try:
            if path.is_dir():
                more, bad = _judge_folder(path, meta_path, exclude)
                inputs += more
                failed += bad
            elif path.is_file():
                inputs.append(file_input(path, str(item), exclude))
            elif path.exists():  # a FIFO or a device: reading it could wait, or never end
                failed.append(ArchiverError(str(path), "is not a regular file", "INPUT-UNREADABLE"))
            else:
                failed.append(ArchiverError(str(path), "no such file or directory", "INPUT-MISSING"))
        except ArchiverError as e:
            failed.append(e)
    return inputs, failed
