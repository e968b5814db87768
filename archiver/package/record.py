"""Changing an existing package's metadata: add a PREMIS event, tag files, refresh tag manifests.

The payload is never touched. Every new tag file and the new tag manifests are computed in
memory, written beside the files they replace and fsynced, and only then renamed into place,
tag manifests last (bag.replace_files): an interruption leaves the package as it was.
"""
from __future__ import annotations

import os
from collections.abc import Iterable, Mapping
from pathlib import Path, PurePosixPath

from archiver.bagit.bag import replace_files, tag_files, tag_manifest_algorithms, tag_manifests_for
from archiver.metadata.premis import add_event
from archiver.model import Agent, Event
from archiver.problems import ArchiverError


def _check_tag_path(rel: str) -> None:
    parts = PurePosixPath(rel).parts
    if not parts or parts[0] != "metadata" or ".." in parts or PurePosixPath(rel).is_absolute():
        raise ArchiverError(rel, "extra tag files must live under metadata/", "PACKAGE-PATH")


def event_files(bag_dir: str | os.PathLike, event: Event, agents: Iterable[Agent] = (),
                extra_files: Mapping[str, bytes] | None = None,
                drop_events: Iterable[str] = ()) -> dict[str, bytes]:
    """The files recording `event` would write ({bag path: bytes}: premis.xml with the event,
    `extra_files`, the new tag manifests last), computed in memory; nothing is written.
    `drop_events`: identifiers of earlier events the new one supersedes (audit --record)."""
    bag = Path(bag_dir)
    premis = bag / "metadata" / "premis.xml"
    if not premis.is_file():
        raise ArchiverError(str(bag), "not an archiver package: metadata/premis.xml is missing",
                            "PACKAGE-NOT-ARCHIVER")
    changed = dict(extra_files or {})
    for rel in changed:
        _check_tag_path(rel)
    changed["metadata/premis.xml"] = add_event(premis.read_bytes(), event, agents, drop_events)
    # the tag manifests of the bag as it will be: unchanged tag files read, new ones in memory
    tags = {rel: (bag / rel).read_bytes() for rel in tag_files(bag) if rel not in changed}
    tags.update(changed)
    changed.update(tag_manifests_for(tags, tag_manifest_algorithms(bag)))
    return changed


def record_event(bag_dir: str | os.PathLike, event: Event, agents: Iterable[Agent] = (),
                 extra_files: Mapping[str, bytes] | None = None,
                 drop_events: Iterable[str] = ()) -> None:
    """Append `event` (and any agents it names that are new) to metadata/premis.xml, add
    `extra_files` ({"metadata/...": bytes}) and rewrite the tag manifests, all together.
    `drop_events`: identifiers of earlier events the new one supersedes (audit --record)."""
    replace_files(Path(bag_dir), event_files(bag_dir, event, agents, extra_files, drop_events))
