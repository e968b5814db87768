"""OCFL storage layouts: where an object identifier lives under a storage root.

Three OCFL Community Extensions, from their texts:
- 0002 Flat Direct Storage Layout: the identifier itself, as one directory name;
- 0003 Hashed Truncated N-tuple Trees with Object ID Encapsulating Directory: tuples of the
  identifier's digest, then the identifier percent-encoded (truncated past 100 characters);
- 0004 Hashed N-tuple Storage Layout (the one Fedora 6 uses): tuples of the digest, then the
  whole digest (or what the tuples left of it, with shortObjectRoot).

A root names its layout in ocfl_layout.json and its parameters in
extensions/<name>/config.json (absent: the extension's defaults).
"""
from __future__ import annotations

import hashlib
from dataclasses import dataclass

LAYOUT_0002 = "0002-flat-direct-storage-layout"
LAYOUT_0003 = "0003-hash-and-id-n-tuple-storage-layout"
LAYOUT_0004 = "0004-hashed-n-tuple-storage-layout"
LAYOUT_ALIASES = {
    "0004": LAYOUT_0004, "hashed-n-tuple": LAYOUT_0004, LAYOUT_0004: LAYOUT_0004,
    "0002": LAYOUT_0002, "flat-direct": LAYOUT_0002, "flat": LAYOUT_0002, LAYOUT_0002: LAYOUT_0002,
    "0003": LAYOUT_0003, "hash-and-id-n-tuple": LAYOUT_0003, LAYOUT_0003: LAYOUT_0003,
}
# 0003 by default: hashed like 0004, and ocfl-py's own validator (ocfl-validate.py) walks it;
# its 2.1 release refuses a root that names 0004 (E071), although 0004 is a registered extension
DEFAULT_LAYOUT = LAYOUT_0003
DESCRIPTIONS = {
    LAYOUT_0002: "Extension 0002: Flat Direct Storage Layout",
    LAYOUT_0003: "Extension 0003: Hashed Truncated N-tuple Trees with Object ID Encapsulating "
                 "Directory for OCFL Storage Hierarchies",
    LAYOUT_0004: "OCFL object identifiers are hashed and encoded as hex strings. These digests "
                 "are then divided into N n-tuple segments, which are used to create nested "
                 "paths under the OCFL storage root.",
}

# The digest algorithms an OCFL fixity block allows (OCFL 1.1 section 3.4, extension 0001):
# what 0003 and 0004 may hash identifiers with.
DIGESTS = {
    "md5": hashlib.md5, "sha1": hashlib.sha1, "sha256": hashlib.sha256, "sha512": hashlib.sha512,
    "blake2b-512": lambda data=b"": hashlib.blake2b(data, digest_size=64),
    "blake2b-160": lambda data=b"": hashlib.blake2b(data, digest_size=20),
    "blake2b-256": lambda data=b"": hashlib.blake2b(data, digest_size=32),
    "blake2b-384": lambda data=b"": hashlib.blake2b(data, digest_size=48),
    "sha512/256": lambda data=b"": hashlib.new("sha512_256", data),
}
_SAFE = frozenset("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_")


class LayoutError(ValueError):
    """A layout configuration the extension forbids, or an identifier it cannot place."""


@dataclass(frozen=True)
class StorageLayout:
    name: str
    digest_algorithm: str = "sha256"
    tuple_size: int = 3
    number_of_tuples: int = 3
    short_object_root: bool = False

    @property
    def description(self) -> str:
        return DESCRIPTIONS[self.name]

    @property
    def config(self) -> dict | None:
        """extensions/<name>/config.json, or None for a layout without parameters."""
        if self.name == LAYOUT_0002:
            return None
        config = {"extensionName": self.name, "digestAlgorithm": self.digest_algorithm,
                  "tupleSize": self.tuple_size, "numberOfTuples": self.number_of_tuples}
        if self.name == LAYOUT_0004:
            config["shortObjectRoot"] = self.short_object_root
        return config

    def _digest(self, identifier: str) -> str:
        return DIGESTS[self.digest_algorithm](identifier.encode("utf-8")).hexdigest().lower()

    def object_path(self, identifier: str) -> str:
        """The object root of `identifier`, relative to the storage root (POSIX separators)."""
        if not identifier:
            raise LayoutError("an empty identifier has no object root")
        if self.name == LAYOUT_0002:
            # the identifier, unchanged, as one directory name of a POSIX file system
            if identifier in (".", "..") or "/" in identifier or "\0" in identifier:
                raise LayoutError(f"identifier {identifier!r} is not a directory name")
            if len(identifier.encode("utf-8", "surrogateescape")) > 255:
                raise LayoutError("identifier longer than a directory name may be (255 bytes)")
            return identifier
        digest = self._digest(identifier)
        size, count = self.tuple_size, self.number_of_tuples
        parts = [digest[i * size:(i + 1) * size] for i in range(count)]
        if self.name == LAYOUT_0004:
            parts.append(digest[size * count:] if self.short_object_root else digest)
        else:
            encoded = "".join(c if c in _SAFE else "".join(f"%{b:02x}" for b in c.encode("utf-8"))
                              for c in identifier)
            parts.append(f"{encoded[:100]}-{digest}" if len(encoded) > 100 else encoded)
        return "/".join(parts)


def _count(config: dict, key: str) -> int:
    value = config.get(key, 3)
    if isinstance(value, bool) or not isinstance(value, int) or not 0 <= value <= 32:
        raise LayoutError(f"{key} must be an integer between 0 and 32 inclusive")
    return value


def storage_layout(name: str, config: dict | None = None) -> StorageLayout:
    """The layout `name` with the parameters of its config.json (None: the defaults),
    checked as its extension requires."""
    name = LAYOUT_ALIASES.get(name, name)
    if name not in DESCRIPTIONS:
        raise LayoutError(f"storage layout {name!r} is not one archiver knows "
                          f"({', '.join(sorted(DESCRIPTIONS))})")
    if config is not None and not isinstance(config, dict):
        raise LayoutError("config.json must hold a JSON object")
    config = config or {}
    if config.get("extensionName", name) != name:
        raise LayoutError(f"config.json names extension {config.get('extensionName')!r}, not {name}")
    if name == LAYOUT_0002:
        return StorageLayout(name)
    algorithm = config.get("digestAlgorithm", "sha256")
    if not isinstance(algorithm, str) or algorithm not in DIGESTS:
        raise LayoutError(f"digestAlgorithm {algorithm!r} is not an OCFL fixity algorithm")
    size, count = _count(config, "tupleSize"), _count(config, "numberOfTuples")
    short = config.get("shortObjectRoot", False) if name == LAYOUT_0004 else False
    if not isinstance(short, bool):
        raise LayoutError("shortObjectRoot must be a boolean")
    if (size == 0) != (count == 0):
        raise LayoutError("tupleSize and numberOfTuples must both be 0 if either is")
    width = len(DIGESTS[algorithm](b"").hexdigest())
    if size * count > width:
        raise LayoutError("tupleSize * numberOfTuples exceeds the length of the hex digest")
    if size * count == width and short:
        raise LayoutError("shortObjectRoot must be false when the tuples use the whole digest")
    return StorageLayout(name, algorithm, size, count, short)
