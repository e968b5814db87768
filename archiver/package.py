"""Changing an existing package's metadata: add a PREMIS event, tag files, refresh tag manifests.

The payload is never touched. Each file is replaced atomically (temp file + rename) and the
tag manifests are rewritten last, so an interruption leaves the previous state or the new one
for every file.
"""
from __future__ import annotations

import os
from collections.abc import Iterable, Mapping
from pathlib import Path, PurePosixPath

from archiver.bag import atomic_write, rewrite_tag_manifests
from archiver.metadata.premis import add_event
from archiver.model import Agent, Event
from archiver.problems import ArchiverError


def _tag_path(bag: Path, rel: str) -> Path:
    parts = PurePosixPath(rel).parts
    if not parts or parts[0] != "metadata" or ".." in parts or PurePosixPath(rel).is_absolute():
        raise ArchiverError(rel, "extra tag files must live under metadata/", "PACKAGE-PATH")
    return bag.joinpath(*parts)


def record_event(bag_dir: str | os.PathLike, event: Event, agents: Iterable[Agent] = (),
                 extra_files: Mapping[str, bytes] | None = None) -> None:
    """Append `event` (and any agents it names that are new) to metadata/premis.xml, write
    `extra_files` ({"metadata/...": bytes}), then rewrite the tag manifests."""
    bag = Path(bag_dir)
    premis = bag / "metadata" / "premis.xml"
    if not premis.is_file():
        raise ArchiverError(str(bag), "not an archiver package: metadata/premis.xml is missing",
                            "PACKAGE-NOT-ARCHIVER")
    targets = {rel: _tag_path(bag, rel) for rel in (extra_files or {})}
    for rel, data in (extra_files or {}).items():
        atomic_write(targets[rel], data)
    atomic_write(premis, add_event(premis.read_bytes(), event, agents))
    rewrite_tag_manifests(bag)
