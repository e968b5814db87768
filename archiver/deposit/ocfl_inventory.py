"""OCFL 1.1 inventories (section 3.5) and their digest sidecars (section 3.6), as plain data.

An inventory is kept as the JSON object itself (a dict): archiver writes what the
specification shows and reads back what any OCFL client wrote, keeping keys it does not
change (`fixity`, `contentDirectory`) as they are.
"""
from __future__ import annotations

import hashlib
import json
import re
from pathlib import Path

SPEC_VERSION = "1.1"
INVENTORY_TYPE = "https://ocfl.io/1.1/spec/#inventory"
ROOT_DECLARATION = "0=ocfl_1.1"
INVENTORY = "inventory.json"
CONTENT_ALGORITHMS = ("sha512", "sha256")  # E025: content addressing uses one of these
DEFAULT_ALGORITHM = "sha512"  # W004
_VERSION = re.compile(r"^v(\d+)$")


class InventoryError(ValueError):
    """An inventory archiver cannot build on (unreadable, inconsistent, or not OCFL)."""


def declaration_text(name: str) -> bytes:
    """A NAMASTE declaration's content: its name after `0=`, then a newline (E007, E080)."""
    return name[2:].encode("ascii") + b"\n"


def version_number(name: str) -> int | None:
    match = _VERSION.match(name)
    return int(match.group(1)) if match else None


def next_version(head: str) -> str:
    """The version after `head`, in the naming convention the object began with (E012):
    `v3` after `v2`, `v003` after `v002`."""
    number = version_number(head)
    if number is None:
        raise InventoryError(f"head {head!r} is not a version directory name")
    digits = len(head) - 1
    if head[1] == "0":  # zero-padded: fixed width, and it must keep a leading zero (E011)
        name = f"v{number + 1:0{digits}d}"
        if len(name) != len(head) or name[1] != "0":
            raise InventoryError(f"no version after {head} fits its zero-padded naming")
        return name
    return f"v{number + 1}"


def serialize(inventory: dict) -> bytes:
    """json.dumps(inventory, sort_keys=True, indent=2, ensure_ascii=False) and a newline,
    byte for byte, without the pure-Python encoder json falls back to when asked to indent
    (an inventory is written twice for every object: that encoder was a tenth of a new
    object's cost). Keys are strings, as in any inventory read from JSON."""
    out: list[str] = []
    _encode(inventory, out, "\n")
    out.append("\n")
    return "".join(out).encode("utf-8")


_string = json.encoder.encode_basestring  # json.dumps's own, for ensure_ascii=False


def _encode(value, out: list[str], newline: str) -> None:
    if isinstance(value, dict) and value:
        inner, opening = newline + "  ", "{"
        for key in sorted(value):
            out += (opening, inner, _string(key), ": ")
            _encode(value[key], out, inner)
            opening = ","
        out.append(newline + "}")
    elif isinstance(value, (list, tuple)) and value:
        inner, opening = newline + "  ", "["
        for item in value:
            out += (opening, inner)
            _encode(item, out, inner)
            opening = ","
        out.append(newline + "]")
    elif isinstance(value, str):
        out.append(_string(value))
    else:  # numbers, true, false, null, {} and []: json's own C encoder
        out.append(json.dumps(value, ensure_ascii=False))


def digest_of(data: bytes, algorithm: str) -> str:
    return hashlib.new(algorithm, data).hexdigest()


def sidecar(data: bytes, algorithm: str) -> bytes:
    return f"{digest_of(data, algorithm)} {INVENTORY}\n".encode("ascii")


def sidecar_name(algorithm: str) -> str:
    return f"{INVENTORY}.{algorithm}"


def sidecar_digest(text: bytes) -> str | None:
    """The digest a sidecar states (E061: DIGEST, whitespace, inventory.json), or None."""
    parts = text.decode("ascii", "replace").split()
    return parts[0].lower() if len(parts) == 2 and parts[1] == INVENTORY else None


def parse(data: bytes, where: str) -> dict:
    try:
        inventory = json.loads(data)
    except ValueError as e:
        raise InventoryError(f"{where}: not JSON ({e})") from None
    if not isinstance(inventory, dict) or not isinstance(inventory.get("versions"), dict) \
            or not isinstance(inventory.get("manifest"), dict):
        raise InventoryError(f"{where}: not an OCFL inventory (no manifest and versions)")
    if inventory.get("digestAlgorithm") not in CONTENT_ALGORITHMS:
        raise InventoryError(f"{where}: digestAlgorithm {inventory.get('digestAlgorithm')!r} "
                             "is neither sha512 nor sha256")
    head = inventory.get("head")
    if not isinstance(head, str) or head not in inventory["versions"] or version_number(head) is None:
        raise InventoryError(f"{where}: head {head!r} names no version of the inventory")
    return inventory


def read_checked(folder: Path) -> tuple[dict, bytes, bytes]:
    """(inventory, its bytes, its sidecar's bytes) of `folder`, the sidecar's digest checked."""
    data = (folder / INVENTORY).read_bytes()
    inventory = parse(data, str(folder / INVENTORY))
    algorithm = inventory["digestAlgorithm"]
    side = (folder / sidecar_name(algorithm)).read_bytes()
    if sidecar_digest(side) != digest_of(data, algorithm):
        raise InventoryError(f"{folder / sidecar_name(algorithm)} does not state the digest of "
                             f"{folder / INVENTORY}")
    return inventory, data, side


def content_directory(inventory: dict) -> str:
    return inventory.get("contentDirectory") or "content"


def head_state(inventory: dict) -> dict[str, list[str]]:
    return inventory["versions"][inventory["head"]]["state"]


def logical_state(state: dict[str, list[str]]) -> dict[str, str]:
    """{logical path: digest} of a version's state block (digests compared lower-case)."""
    return {path: digest.lower() for digest, paths in state.items() for path in paths}


def state_block(files: dict[str, str]) -> dict[str, list[str]]:
    """The state block of {logical path: digest}."""
    state: dict[str, list[str]] = {}
    for path, digest in sorted(files.items()):
        state.setdefault(digest, []).append(path)
    return state


def with_version(inventory: dict | None, identifier: str, version: str,
                 files: dict[str, str], new_content: dict[str, list[str]],
                 created: str, message: str, user: dict) -> dict:
    """The inventory after adding `version`: `files` its logical state, `new_content`
    {digest: [content paths]} what the version directory stores (forward delta)."""
    if inventory is None:
        inventory = {"digestAlgorithm": DEFAULT_ALGORITHM, "id": identifier, "manifest": {},
                     "type": INVENTORY_TYPE, "versions": {}}
    # an object begun under OCFL 1.0 keeps its type: its declaration file says 1.0 (E038)
    updated = {**inventory, "head": version,
               "manifest": {d: list(p) for d, p in inventory["manifest"].items()},
               "versions": dict(inventory["versions"])}
    known = {d.lower(): d for d in updated["manifest"]}
    for digest, paths in new_content.items():
        key = known.get(digest, digest)
        updated["manifest"].setdefault(key, []).extend(paths)
    # a state names each digest as the manifest spells it (E050), whatever its case
    spelled = {path: known.get(d, d) for path, d in files.items()}
    updated["versions"][version] = {"created": created, "message": message,
                                    "state": state_block(spelled), "user": user}
    return updated
