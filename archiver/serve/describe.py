"""What the web view says about one package, read from the package's own files.

`summary()` is the little the package list and search need (one row of the index);
`describe()` is everything the package page shows. Both only read, never fail on a damaged
package (what cannot be read becomes a Problem naming the file) and read no metadata file
over MAX_METADATA_BYTES, so a hostile package cannot take the server's memory.
"""
from __future__ import annotations

import json
import os
import stat
from dataclasses import dataclass, field
from datetime import datetime, timezone
from pathlib import Path

from lxml import etree

from archiver.bagit.bag import read_bag_info
from archiver.bagit.rules import (manifest_algorithm, parse_declaration,
                                  parse_manifest, parse_oxum, unsafe_reason)
from archiver.deposit.receipt import DEPOSITS_DIR, read_receipts
from archiver.evidence import is_sealed
from archiver.metadata.dc import read_dc
from archiver.metadata.premis import read_agents, read_events, read_objects
from archiver.metadata.vocabulary import EVENT_TYPES
from archiver.metadata.xmlread import parse_untrusted
from archiver.model import Event
from archiver.problem_codes import problem
from archiver.problems import Problem
from archiver.serve.standing import check_of, instant, standing

PROFILE = "https://archiver.example.org/profiles/report-package/v1.json"
MAX_METADATA_BYTES = 64 * 1024 * 1024
CHECK_EVENTS = ("fix", "val")        # a recorded validation or fixity check
DEPOSIT_EVENTS = ("rep", "tra")      # replication (OCFL, S3) and transfer (SWORD)
MAX_FILES_SHOWN = 2000               # payload files listed on one page
_NEVER = datetime.min.replace(tzinfo=timezone.utc)


@dataclass
class Read:
    """The package files read once, shared by summary() and describe()."""
    bag: Path
    problems: list[Problem] = field(default_factory=list)
    bag_info: list[tuple[str, str]] = field(default_factory=list)
    report: dict = field(default_factory=dict)
    premis: etree._Element | None = None
    events: list[Event] = field(default_factory=list)
    receipts: list[dict] = field(default_factory=list)

    def info(self, label: str) -> str | None:
        return next((v for k, v in self.bag_info if k.lower() == label.lower()), None)


def _bytes(bag: Path, rel: str, problems: list[Problem], required: bool = True) -> bytes | None:
    """A regular file of the package (never through a symbolic link), or None with a problem."""
    path = bag / rel
    try:
        st = os.lstat(path)
        if not stat.S_ISREG(st.st_mode):
            problems.append(problem("SERVE-METADATA-UNREADABLE", rel, "not a regular file"))
            return None
        if st.st_size > MAX_METADATA_BYTES:
            problems.append(problem("SERVE-METADATA-UNREADABLE", rel,
                                    f"{st.st_size} bytes: larger than the web view reads "
                                    f"({MAX_METADATA_BYTES} bytes)"))
            return None
        fd = os.open(path, os.O_RDONLY | getattr(os, "O_NOFOLLOW", 0))
        with os.fdopen(fd, "rb") as f:
            return f.read(MAX_METADATA_BYTES + 1)[:MAX_METADATA_BYTES]
    except FileNotFoundError:
        if required:
            problems.append(problem("SERVE-METADATA-UNREADABLE", rel, "missing"))
    except OSError as e:
        problems.append(problem("SERVE-METADATA-UNREADABLE", rel, f"cannot read: {e.strerror or e}"))
    return None


def read(bag_dir: str | os.PathLike) -> Read:
    bag = Path(bag_dir)
    r = Read(bag)
    if _bytes(bag, "bagit.txt", r.problems) is not None and (bag / "bag-info.txt").is_file():
        try:
            r.bag_info = read_bag_info(bag)
        except (OSError, UnicodeError, LookupError) as e:
            r.problems.append(problem("SERVE-METADATA-UNREADABLE", "bag-info.txt", f"cannot read: {e}"))
    archiver_package = r.info("BagIt-Profile-Identifier") == PROFILE
    data = _bytes(bag, "metadata/report.json", r.problems, required=archiver_package)
    if data is not None:
        try:
            report = json.loads(data.decode("utf-8"))
            if not isinstance(report, dict):
                raise ValueError("not a JSON object")
            r.report = report
        except (UnicodeError, ValueError, RecursionError) as e:
            r.problems.append(problem("SERVE-METADATA-UNREADABLE", "metadata/report.json",
                                      f"not readable JSON: {e}"))
    data = _bytes(bag, "metadata/premis.xml", r.problems, required=archiver_package)
    if data is not None:
        try:
            r.premis = parse_untrusted(data)
            r.events = read_events(r.premis)
        except etree.XMLSyntaxError as e:
            r.problems.append(problem("SERVE-METADATA-UNREADABLE", "metadata/premis.xml",
                                      f"not well-formed XML: {e}"))
    folder = bag / DEPOSITS_DIR
    if folder.is_dir() and not folder.is_symlink():
        r.receipts = read_receipts(bag)
        unread = sorted({p.name for p in folder.glob("*.xml")} - {x["file"] for x in r.receipts})
        r.problems += [problem("SERVE-METADATA-UNREADABLE", f"{DEPOSITS_DIR}/{name}",
                               "not a readable deposit receipt") for name in unread]
    return r


def _text(value) -> str | None:
    return value if isinstance(value, str) and value.strip() else None


def _list(value) -> list:
    return value if isinstance(value, list) else []


def _dict(value) -> dict:
    return value if isinstance(value, dict) else {}


def last_check(events: list[Event]) -> Event | None:
    """The latest recorded validation or fixity check (on a tie, a failure)."""
    checks = [e for e in events if e.type in CHECK_EVENTS]
    return max(checks, key=lambda e: (instant(e.date_time) or _NEVER, e.outcome != "success"),
               default=None)


def checks(events: list[Event]) -> list[dict]:
    """The recorded checks, as archiver.serve.standing compares them."""
    return [check_of(e.type, e.detail, e.date_time, e.outcome, e.outcome_detail)
            for e in events if e.type in CHECK_EVENTS]


def summary(r: Read) -> dict:
    """One row of the index: the list's columns and the text search reads."""
    report, meta = r.report, _dict(r.report.get("metadata"))
    source = _dict(report.get("source"))
    capture = _dict(source.get("capture"))
    oxum = parse_oxum(r.info("Payload-Oxum"))
    created = [e.date_time for e in r.events if e.type == "cre"]
    check = last_check(r.events)
    deposits = [x for x in r.receipts if x.get("outcome") == "success"]
    body = [p for p in _list(report.get("body")) if isinstance(p, str)]
    comments = [c.get("text") for c in _list(report.get("comments"))
                if isinstance(c, dict) and isinstance(c.get("text"), str)]
    text = "\n".join(filter(None, [_text(report.get("subtitle")), *body,
                                   _text(report.get("author_note")), *comments,
                                   _text(meta.get("description"))]))
    title = (_text(report.get("title")) or r.info("External-Description")
             or r.info("Title") or r.bag.name)
    return {
        "name": r.bag.name,
        "identifier": r.info("External-Identifier") or _text(report.get("package_id")) or r.bag.name,
        "title": title,
        "source_url": _text(meta.get("source_url")) or _text(capture.get("target_url")),
        "publisher": _text(meta.get("publisher")) or r.info("Source-Organization"),
        "issued": _text(meta.get("issued")),
        "captured": _text(meta.get("captured")) or _text(capture.get("date")),
        "language": _text(report.get("language")),
        "size": oxum[0] if oxum else None,
        "files": oxum[1] if oxum else None,
        "built": min(created) if created else r.info("Bagging-Date"),
        "archiver_package": r.info("BagIt-Profile-Identifier") == PROFILE,
        "check_type": check.type if check else None,
        "check_time": check.date_time if check else None,
        "check_outcome": check.outcome if check else None,
        "check_detail": check.outcome_detail if check else None,
        "standing": standing(checks(r.events)),  # failures no later check cleared
        "sealed": is_sealed(r.bag),
        "deposits": len(deposits),
        "deposit_targets": sorted({x.get("target") or "" for x in deposits}),
        "last_deposit": max((x.get("ended") or "" for x in deposits), default=None),
        "problems": [p.to_dict() for p in r.problems],
        "text": text,
    }


def describe(r: Read) -> dict:
    """Everything the package page shows, as plain data (also the page's JSON)."""
    report = r.report
    page = summary(r)
    del page["text"]
    page["bag_info"] = r.bag_info
    page["dc"] = _dc(r)
    page["report"] = {
        "title": _text(report.get("title")),
        "subtitle": _text(report.get("subtitle")),
        "body": [p for p in _list(report.get("body")) if isinstance(p, str)],
        "author_note": _text(report.get("author_note")),
        "comments": [_comment(c) for c in _list(report.get("comments")) if isinstance(c, dict)],
        "comments_closed": report.get("comments_closed") is True,
        "source": _dict(report.get("source")),
        "metadata": _dict(report.get("metadata")),
        "attachments": [a for a in _list(report.get("attachments")) if isinstance(a, dict)],
        "provenance": _dict(report.get("provenance")),
    }
    page["payload"], page["payload_total"] = _payload(r)
    page["tag_files"] = _tag_files(r)
    page["timeline"] = timeline(r)
    page["receipts"] = r.receipts
    page["problems"] = [p.to_dict() for p in r.problems]
    return page


def _comment(c: dict) -> dict:
    withheld = c.get("author_withheld") is True
    return {"number": c.get("number"), "published": _text(c.get("published")),
            "author": None if withheld else _text(c.get("author")), "author_withheld": withheld,
            "text": _text(c.get("text")) or ""}


def _dc(r: Read) -> list[dict]:
    data = _bytes(r.bag, "metadata/dc.xml", r.problems,
                  required=r.info("BagIt-Profile-Identifier") == PROFILE)
    if data is None:
        return []
    try:
        return [{"term": t, "value": v, "lang": lang} for t, v, lang in read_dc(parse_untrusted(data))]
    except etree.XMLSyntaxError as e:
        r.problems.append(problem("SERVE-METADATA-UNREADABLE", "metadata/dc.xml",
                                  f"not well-formed XML: {e}"))
        return []


def _manifests(r: Read, prefix: str) -> dict[str, dict[str, str]]:
    """{path: {algorithm: digest}} from every manifest with `prefix`."""
    encoding = "utf-8"
    declaration = _bytes(r.bag, "bagit.txt", [])
    if declaration is not None:
        encoding = parse_declaration(declaration)[0].encoding
    out: dict[str, dict[str, str]] = {}
    try:
        names = sorted(n for n in os.listdir(r.bag) if n.startswith(prefix) and n.endswith(".txt"))
    except OSError:
        return out
    for name in names:
        if not (r.bag / name).is_file() or (r.bag / name).is_symlink():
            continue
        algorithm = manifest_algorithm(name, prefix)
        entries, problems = parse_manifest(str(r.bag / name), name, algorithm, encoding, None)
        r.problems.extend(p for p in problems if p.severity == "error")
        for path, digest in entries.entries.items():
            out.setdefault(path, {})[algorithm] = digest
    return out


def _payload(r: Read) -> tuple[list[dict], int]:
    manifests = _manifests(r, "manifest-")
    objects = read_objects(r.premis) if r.premis is not None else {}
    report_path = _dict(r.report.get("source")).get("path")
    files = []
    for path in sorted(manifests)[:MAX_FILES_SHOWN]:
        recorded = objects.get(path, {})
        size = recorded.get("size")
        if size is None:
            try:
                size = os.lstat(r.bag / path).st_size if unsafe_reason(path) is None else None
            except OSError:
                size = None
        files.append({"path": path, "size": size, "format": recorded.get("format"),
                      "pronom": recorded.get("pronom"), "checksums": manifests[path],
                      "role": "report" if path == report_path else "attachment"})
    return files, len(manifests)


def _tag_files(r: Read) -> list[dict]:
    manifests = _manifests(r, "tagmanifest-")
    return [{"path": p, "checksums": manifests[p]} for p in sorted(manifests)]


def timeline(r: Read) -> list[dict]:
    """The package's history as its PREMIS records it, oldest first; each deposit event with
    the receipt written beside it."""
    agents = {a.identifier: a for a in (read_agents(r.premis) if r.premis is not None else [])}
    receipts = {x.get("event"): x for x in r.receipts}
    out = []
    for e in r.events:
        entry = {"time": e.date_time, "type": e.type, "label": EVENT_TYPES.get(e.type, e.type),
                 "outcome": e.outcome, "detail": e.detail, "outcome_detail": e.outcome_detail,
                 "agents": [{"name": agents[a].name if a in agents else a, "role": role}
                            for a, role in e.agents],
                 "source": "premis"}
        if e.identifier in receipts:
            entry["receipt"] = receipts[e.identifier]
        out.append(entry)
    out.sort(key=lambda x: x["time"] or "")
    return out


def payload_path(bag_dir: str | os.PathLike, rel: str) -> Path | None:
    """The file a download may send: a path the package's manifests list (payload or tag
    files), inside the package, reached without following a link; else None."""
    r = Read(Path(bag_dir))
    if unsafe_reason(rel) is not None:
        return None
    listed = set(_manifests(r, "manifest-")) | set(_manifests(r, "tagmanifest-"))
    if rel not in listed:
        return None
    path = r.bag
    for part in rel.split("/"):
        path = path / part
        try:
            if stat.S_ISLNK(os.lstat(path).st_mode):
                return None
        except OSError:
            return None
    return path if path.is_file() else None
