"""Merkle batching: one timestamp token covers many digests, each keeping its own path.

A leaf is H(0x00 || digest) and an inner node H(0x01 || left || right) (the prefixes of RFC
6962 §2.1, so a leaf can never pass for a node); a level with an odd node carries it up
unchanged. The token's message is the root; a digest is in the batch when folding its path
into its leaf gives that root, so each package verifies alone, without its neighbours.
"""
from __future__ import annotations

import hashlib
from collections.abc import Sequence
from dataclasses import dataclass


@dataclass(frozen=True)
class Inclusion:
    """Where one digest sits in a batch: the sibling hashes from its leaf up to the root."""
    algorithm: str
    digest: bytes
    path: tuple[tuple[str, bytes], ...]  # ("left" | "right", sibling hash): the sibling's side
    root: bytes
    size: int  # leaves in the batch

    def to_dict(self) -> dict:
        return {"algorithm": self.algorithm, "digest": self.digest.hex(), "root": self.root.hex(),
                "size": self.size, "path": [{side: h.hex()} for side, h in self.path]}

    @classmethod
    def from_dict(cls, d: dict) -> "Inclusion":
        path = tuple((side, bytes.fromhex(h)) for step in d["path"] for side, h in step.items())
        if any(side not in ("left", "right") for side, _ in path):
            raise ValueError("a path step is neither left nor right")
        return cls(d["algorithm"], bytes.fromhex(d["digest"]), path, bytes.fromhex(d["root"]),
                   int(d["size"]))


def _h(algorithm: str, *parts: bytes) -> bytes:
    h = hashlib.new(algorithm)
    for p in parts:
        h.update(p)
    return h.digest()


def leaf(algorithm: str, digest: bytes) -> bytes:
    return _h(algorithm, b"\x00", digest)


def batch(algorithm: str, digests: Sequence[bytes]) -> list[Inclusion]:
    """The inclusion of every digest, in order, in one tree over them all."""
    if not digests:
        return []
    level = [leaf(algorithm, d) for d in digests]
    paths: list[list[tuple[str, bytes]]] = [[] for _ in digests]
    where = list(range(len(digests)))  # each digest's node index on the current level
    while len(level) > 1:
        up = [_h(algorithm, b"\x01", level[i], level[i + 1]) for i in range(0, len(level) - 1, 2)]
        if len(level) % 2:
            up.append(level[-1])
        for k, i in enumerate(where):
            sibling = i ^ 1
            if sibling < len(level):
                paths[k].append(("left" if sibling < i else "right", level[sibling]))
            where[k] = i // 2
        level = up
    root = level[0]
    return [Inclusion(algorithm, d, tuple(p), root, len(digests)) for d, p in zip(digests, paths)]


def root_of(inclusion: Inclusion) -> bytes:
    """The root this inclusion path leads to (compare it with the root the token covers)."""
    node = leaf(inclusion.algorithm, inclusion.digest)
    for side, sibling in inclusion.path:
        node = (_h(inclusion.algorithm, b"\x01", sibling, node) if side == "left"
                else _h(inclusion.algorithm, b"\x01", node, sibling))
    return node
