"""ocfl_inventory.serialize writes what json.dumps(sort_keys, indent=2) writes, byte for byte
(inventories written before it must read as they did; a sidecar digests these bytes)."""
from __future__ import annotations

import json
import random

from archiver.deposit import ocfl_inventory as inv


def _reference(inventory) -> bytes:
    return (json.dumps(inventory, sort_keys=True, indent=2, ensure_ascii=False) + "\n").encode("utf-8")


def _random_value(rng: random.Random, depth: int):
    kinds = ["str", "int", "float", "bool", "null"] + (["dict", "list", "empty"] if depth < 4 else [])
    kind = rng.choice(kinds)
    if kind == "dict":
        return {_random_text(rng): _random_value(rng, depth + 1) for _ in range(rng.randint(1, 4))}
    if kind == "list":
        return [_random_value(rng, depth + 1) for _ in range(rng.randint(1, 4))]
    if kind == "empty":
        return rng.choice([{}, []])
    return {"str": lambda: _random_text(rng), "int": lambda: rng.randint(-10**12, 10**12),
            "float": lambda: rng.choice([0.1, -2.5e300, 1e-7, 3.0]), "bool": lambda: rng.random() < .5,
            "null": lambda: None}[kind]()


def _random_text(rng: random.Random) -> str:
    alphabet = 'abc/. "\\\n\t\x00\x1féü\u2028日本\U0001f600'
    return "".join(rng.choice(alphabet) for _ in range(rng.randint(0, 8)))


def test_an_inventory_as_archiver_writes_it():
    inventory = inv.with_version(None, "rpt-ü 日本", "v1", {"data/a b.txt": "ab" * 64, "bag-info.txt": "cd" * 64},
                                 {"ab" * 64: ["v1/content/data/a b.txt"], "cd" * 64: ["v1/content/bag-info.txt"]},
                                 "2026-12-01T00:00:00Z", "Deposit of package \"x\"", {"name": "archiver"})
    inventory["fixity"] = {"md5": {}, "sha1": {"00": ["v1/content/x"]}}
    assert inv.serialize(inventory) == _reference(inventory)


def test_any_json_document_as_json_dumps_writes_it():
    rng = random.Random(14)
    for _ in range(500):
        document = {_random_text(rng): _random_value(rng, 0) for _ in range(rng.randint(0, 6))}
        assert inv.serialize(document) == _reference(document), document
