"""What a just-validated bag's manifests vouch for: {bag path: digest}.

A deposit validates the bag first, every checksum; until the bag changes, the digests its
manifests state are the digests of its files, so a deposit takes them from there instead of
reading every file again (the OCFL copy still hashes each file it writes and compares).
The validation hands back the manifests it parsed (archiver.validate.report.Parsed): the
very entries it checked the files against, not a second reading that could differ.
"""
from __future__ import annotations

import os
from pathlib import Path
from typing import TYPE_CHECKING

from archiver.bagit.rules import parse_declaration, parse_manifest

if TYPE_CHECKING:
    from archiver.validate.report import Parsed


def manifest_digests(bag: Path, algorithm: str, payload: bool = True) -> dict[str, str]:
    """{bag path: lower-case digest} from the bag's tag manifest for `algorithm`, and its
    payload manifest too unless `payload` is False; {} for a manifest the bag lacks."""
    try:
        encoding = parse_declaration((bag / "bagit.txt").read_bytes())[0].encoding
    except OSError:
        encoding = "utf-8"
    digests: dict[str, str] = {}
    for name in _names(algorithm, payload):
        path = bag / name
        if path.is_file():
            entries, _ = parse_manifest(os.fspath(path), name, algorithm, encoding, None)
            digests.update(entries.entries)  # lower-case already
    return digests


def _names(algorithm: str, payload: bool) -> tuple[str, ...]:
    return ((f"manifest-{algorithm}.txt",) if payload else ()) + (f"tagmanifest-{algorithm}.txt",)


class Vouched:
    """manifest_digests of one bag, from what its validation parsed when it is given."""

    def __init__(self, bag: Path, parsed: Parsed | None = None):
        self.bag, self.parsed = bag, parsed

    def digests(self, algorithm: str, payload: bool = True) -> dict[str, str]:
        if self.parsed is None:
            return manifest_digests(self.bag, algorithm, payload)
        by_name = {m.name: m.entries for m in self.parsed.manifests + self.parsed.tag_manifests}
        digests: dict[str, str] = {}
        for name in _names(algorithm, payload):
            digests.update(by_name.get(name, {}))
        return digests
