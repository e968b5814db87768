"""What a record pins, and how the package's current state compares with it.

A statement is plain JSON (layout.canonical_json):
- `format`, `kind` ("seal" or "renewal"), `record` (its number), `package` (External-Identifier),
  `created` (the sealer's clock; what is proven is the tokens' genTime), `algorithm`;
- `payload_manifests`: digest of each payload manifest. The first seal keeps copies of them
  beside its statement (`manifest-ALG.txt`), so the payload stays pinned for ever and a
  verifier can name each file that changed, even after every manifest was regenerated;
- `tag_files`: digest of every tag file as it stands, tag manifests included, the seal's own
  PREMIS event already in premis.xml;
- `events`: the PREMIS event identifiers at sealing time (so later ones can be named);
- `evidence`: digest of every file of every earlier record (the hash chain);
- `signer`: the key id (seals; renewals carry it when they are signed too).
"""
from __future__ import annotations

import os
from collections.abc import Mapping
from pathlib import Path

from archiver.bagit.bag import decode_manifest_path, tag_files
from archiver.evidence.layout import Record, digest


def payload_manifests(bag: Path) -> dict[str, bytes]:
    return {p.name: p.read_bytes() for p in sorted(bag.glob("manifest-*.txt")) if p.is_file()}


def current_tag_files(bag: Path, overlay: Mapping[str, bytes] | None = None) -> dict[str, bytes]:
    """Every tag file (what the tag manifests list, and the tag manifests), with `overlay`
    (files about to be written) in place of the ones on disk."""
    names = set(tag_files(bag)) | {p.name for p in bag.glob("tagmanifest-*.txt") if p.is_file()}
    names |= set(overlay or {})
    out = {}
    for rel in sorted(names):
        if overlay and rel in overlay:
            out[rel] = overlay[rel]
        else:
            out[rel] = (bag / rel).read_bytes()
    return out


def chain_digests(records: list[Record], algorithm: str) -> dict[str, str]:
    """Every file of these records, by its path inside evidence/: what the next record pins."""
    return {f"{r.name}/{name}": digest(algorithm, data) for r in records for name, data in r.files.items()}


def manifest_entries(text: bytes) -> dict[str, str]:
    """{payload path: digest} of a manifest archiver wrote (or one in its copy)."""
    out = {}
    for line in text.decode("utf-8", errors="replace").splitlines():
        value, sep, path = line.partition(" ")
        if sep:
            # "digest  path": the second space belongs to the separator, as bagit writes it
            out[decode_manifest_path(path[1:] if path.startswith(" ") else path)] = value.lower()
    return out


def differing(pinned: Mapping[str, str], now: Mapping[str, str]) -> list[str]:
    """Paths added, removed or changed between two {path: digest} listings, sorted."""
    return sorted(p for p in set(pinned) | set(now) if pinned.get(p) != now.get(p))


def changes(pinned: Mapping[str, str], now: Mapping[str, str | None]) -> dict[str, str]:
    """{path: "added" | "removed" | "changed"} between two {path: digest} listings."""
    return {rel: "added" if rel not in pinned else "removed" if rel not in now else "changed"
            for rel in differing(pinned, now)}


def listed_tag_files(bag: Path) -> set[str]:
    """Every path the tag manifests list (an unreadable one lists nothing: the bag's own
    checks name it)."""
    listed: set[str] = set()
    for manifest in bag.glob("tagmanifest-*.txt"):
        try:
            listed |= set(manifest_entries(manifest.read_bytes()))
        except OSError:
            pass
    return listed


def payload_files_on_disk(bag: Path) -> set[str]:
    found, stack = set(), [(bag / "data", "data")]
    while stack:
        folder, rel = stack.pop()
        with os.scandir(folder) as entries:
            for e in entries:
                path = f"{rel}/{e.name}"
                if e.is_dir(follow_symlinks=False):
                    stack.append((Path(e.path), path))
                else:
                    found.add(path)
    return found


def payload_differences(bag: Path, listed: Mapping[str, str], algorithm: str) -> list[tuple[str, str]]:
    """(path, what) for each payload file that is missing, unlisted or not the bytes
    `listed` ({path: digest}) says, every listed file hashed once."""
    from archiver.fixity import hash_many

    on_disk = payload_files_on_disk(bag)
    found: dict[str, str | None] = {rel: None for rel in on_disk - set(listed)}
    present = [os.path.join(bag, *rel.split("/")) for rel in listed if rel in on_disk]
    for path, _size, result in hash_many(present, (algorithm,)):
        found[os.path.relpath(path, bag).replace(os.sep, "/")] = (
            result[algorithm] if isinstance(result, dict) else None)
    return listing_differences(listed, found)


def listing_differences(listed: Mapping[str, str], found: Mapping[str, str | None]) -> list[tuple[str, str]]:
    """(path, what) for each payload file that is missing, unlisted or not the bytes `listed`
    says; `found`: {path: digest, or None when unreadable} of every payload file there is."""
    out = []
    for rel in sorted(set(listed) | set(found)):
        if rel not in found:
            out.append((rel, "missing"))
        elif rel not in listed:
            out.append((rel, "not listed in the manifest"))  # found[rel] may be None: unlisted all the same
        elif found[rel] is None:
            out.append((rel, "unreadable"))
        elif found[rel] != listed[rel]:
            out.append((rel, "its bytes are not those listed"))
    return out
