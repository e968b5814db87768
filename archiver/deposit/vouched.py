"""What a just-validated bag's manifests vouch for: {bag path: digest}.

A deposit validates the bag first, every checksum; until the bag changes, the digests its
manifests state are the digests of its files, so a deposit takes them from there instead of
reading every file again (the OCFL copy still hashes each file it writes and compares).
"""
from __future__ import annotations

import os
from pathlib import Path

from archiver.bagit.rules import parse_declaration, parse_manifest


def manifest_digests(bag: Path, algorithm: str, payload: bool = True) -> dict[str, str]:
    """{bag path: lower-case digest} from the bag's tag manifest for `algorithm`, and its
    payload manifest too unless `payload` is False; {} for a manifest the bag lacks."""
    try:
        encoding = parse_declaration((bag / "bagit.txt").read_bytes())[0].encoding
    except OSError:
        encoding = "utf-8"
    digests: dict[str, str] = {}
    names = (f"manifest-{algorithm}.txt",) if payload else ()
    for name in names + (f"tagmanifest-{algorithm}.txt",):
        path = bag / name
        if path.is_file():
            entries, _ = parse_manifest(os.fspath(path), name, algorithm, encoding, None)
            digests.update(entries.entries)  # lower-case already
    return digests
