"""The provenance archiver records: its own agent, and the PREMIS events of a build.

Event types are codes of the Library of Congress eventType vocabulary (see vocabulary.py):
capture (`cap`, from a web archive or as a sidecar states it), message digest calculation
(`mes`), format identification (`for`), metadata extraction (`mee`) and creation (`cre`).
"""
from __future__ import annotations

import os
import uuid
from collections.abc import Sequence
from datetime import datetime, timezone
from pathlib import Path

from archiver import __version__
from archiver.model import Agent, Event, FileRecord, Report

SOFTWARE = Agent(identifier=f"archiver-{__version__}", name="archiver", type="software",
                 version=__version__)


def source_date() -> datetime | None:
    """SOURCE_DATE_EPOCH (reproducible-builds.org): the one clock of a reproducible build."""
    value = os.environ.get("SOURCE_DATE_EPOCH", "").strip()
    if not value:
        return None
    try:
        return datetime.fromtimestamp(int(value), timezone.utc)
    except (ValueError, OverflowError, OSError):
        raise ValueError(f"SOURCE_DATE_EPOCH must be whole seconds since 1970, not {value!r}") from None


def now() -> str:
    when = source_date() or datetime.now(timezone.utc)
    return when.replace(microsecond=0).isoformat().replace("+00:00", "Z")


# event identifiers of a reproducible build: names in this namespace, derived from the package
REPRODUCIBLE_EVENTS = uuid.UUID("5e5d0c8e-7a41-4a53-9a55-61b4f0a6f7d1")


def event(type_: str, when: str, agents: Sequence[tuple[str, str]], objects: Sequence[str],
          detail: str | None = None, outcome_detail: str | None = None,
          outcome: str = "success", name: str | None = None) -> Event:
    """A new event with a UUID; `agents` are (agent identifier, role) pairs. With `name` and
    SOURCE_DATE_EPOCH set, the UUID is derived from the name (a version 5 UUID), so the same
    build gives the same identifiers."""
    derived = name is not None and source_date() is not None
    identifier = uuid.uuid5(REPRODUCIBLE_EVENTS, name) if derived else uuid.uuid4()
    return Event(identifier=str(identifier), type=type_, date_time=when, outcome=outcome,
                 detail=detail, outcome_detail=outcome_detail, agents=tuple(agents),
                 objects=tuple(objects))


def capture_agent(report: Report) -> Agent | None:
    capture = report.source.capture
    if report.provenance.get("captured") != "warc" or not (capture and capture.software):
        return None
    slug = "".join(c if c.isalnum() or c in "._-" else "-" for c in capture.software)
    return Agent(identifier=f"capture-{slug}", name=capture.software, type="software")


def capture_event(report: Report, objects: list[str], capturer: Agent | None,
                  name: str | None = None) -> Event:
    capture = report.source.capture
    source = f" from {report.source_url}" if report.source_url else ""
    if report.provenance.get("captured") == "warc" and capture:
        by = f" by {capture.software}" if capture.software else ""
        member = f" in {capture.warc}" if capture.warc else ""
        detail = (f"web page captured{source}{by} (as the web archive records it: "
                  f"WARC record {capture.record_id}{member})")
    else:
        by = f" by {report.capturing_agent}" if report.capturing_agent else ""
        detail = f"report captured{source}{by} (as stated in the sidecar)"
    agents = [(capturer.identifier, "executing program")] if capturer else []
    return event("cap", report.captured, agents, objects, detail=detail, name=name)


def build_events(report: Report, payload: list[FileRecord], report_path: str,
                 sidecar_path: Path | None, operator: Agent | None, capturer: Agent | None,
                 when: str, mismatches: list[str], notes: list[str],
                 package_id: str | None = None) -> list[Event]:
    exe = [(SOFTWARE.identifier, "executing program")]

    def name(type_: str) -> str | None:  # identifiers derived from the package when reproducible
        return f"{package_id}/{type_}" if package_id else None

    objects = [f.path for f in payload]
    events = []
    if report.captured:
        events.append(capture_event(report, objects, capturer,
                                    name=name("cap")))
    events.append(event("mes", when, exe, objects,
                         detail="payload digests computed while copying: "
                         + ", ".join(sorted(payload[0].digests)), name=name("mes")))
    formats = sorted({f.pronom or f.media_type for f in payload})
    events.append(event("for", when, exe, objects,
                         detail="Siegfried via pygfried; formats: " + ", ".join(formats),
                         outcome_detail="; ".join(mismatches) or None, name=name("for")))
    extracted = sorted(f"{k} ({v})" for k, v in report.provenance.items() if v != "sidecar")
    detail = f"fields extracted from {report_path}: " + ", ".join(extracted)
    if sidecar_path:
        detail += f"; sidecar {sidecar_path.name} supplied: " + ", ".join(
            sorted(k for k, v in report.provenance.items() if v == "sidecar"))
    events.append(event("mee", when, exe, [report_path], detail=detail,
                         outcome_detail="; ".join(notes) or None, name=name("mee")))
    agents = exe + ([(operator.identifier, "implementer")] if operator else [])
    events.append(event("cre", when, agents, objects,
                         detail="BagIt 1.0 package created with Dublin Core, PREMIS and report.json", name=name("cre")))
    return events

