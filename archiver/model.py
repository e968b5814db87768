"""Plain data that flows through archiver: no files, XML or CLI here."""
from __future__ import annotations

from dataclasses import dataclass, field


@dataclass(frozen=True)
class Comment:
    number: int
    author: str | None
    published: str | None  # ISO 8601, or None when the report gives no date
    text: str


@dataclass(frozen=True)
class Capture:
    """Where and when a web-archive capture (WARC/WACZ) took the page the report was read from."""
    target_url: str
    date: str  # WARC-Date, ISO 8601
    record_id: str | None  # WARC-Record-ID of the response read
    warc: str | None = None  # the WARC member read, for a WACZ
    software: str | None = None  # from warcinfo (or the WACZ datapackage)


@dataclass(frozen=True)
class SourceFile:
    """The file a report was read from, as found on disk."""
    name: str
    size: int
    media_type: str
    encoding: str | None  # detected character encoding; None for binary containers
    capture: Capture | None = None


@dataclass(frozen=True)
class Attachment:
    """A payload file other than the report itself (photo, video, page asset)."""
    path: str  # relative to the report's root, POSIX separators
    size: int
    media_type: str


@dataclass
class Report:
    """What extraction found in one report, plus what a sidecar supplied.

    `provenance` maps a field name to where its value came from
    ("extracted", "sidecar", "html-meta", ...), so the package records which is which.
    """
    title: str | None
    source: SourceFile
    subtitle: str | None = None
    body: list[str] = field(default_factory=list)
    author_note: str | None = None
    comments: list[Comment] = field(default_factory=list)
    comments_closed: bool = False
    language: str | None = None
    # descriptive metadata, mostly from the sidecar
    source_url: str | None = None
    publisher: str | None = None
    creator: list[str] = field(default_factory=list)
    issued: str | None = None
    subjects: list[str] = field(default_factory=list)
    places: list[str] = field(default_factory=list)
    rights: str | None = None
    description: str | None = None
    captured: str | None = None
    capturing_agent: str | None = None
    attachments: list[Attachment] = field(default_factory=list)
    provenance: dict[str, str] = field(default_factory=dict)
    # what extraction could not do (missing fields, comments without structure...)
    warnings: list[str] = field(default_factory=list)


@dataclass(frozen=True)
class Agent:
    identifier: str
    name: str
    type: str  # "software", "person" or "organization" (LoC agentType vocabulary)
    version: str | None = None


@dataclass(frozen=True)
class Event:
    """A PREMIS event. `type` is a code of the LoC eventType vocabulary (e.g. "mes", "cre")."""
    identifier: str
    type: str
    date_time: str
    outcome: str  # "success" or "failure"
    detail: str | None = None
    outcome_detail: str | None = None
    agents: tuple[tuple[str, str], ...] = ()  # (agent identifier, role)
    objects: tuple[str, ...] = ()  # object identifiers the event concerns


@dataclass(frozen=True)
class FileRecord:
    """A payload file as packaged: its path inside the bag and its digests."""
    path: str  # e.g. "data/report.txt"
    size: int
    digests: dict[str, str]
    media_type: str
    original_name: str
    pronom: str | None = None
