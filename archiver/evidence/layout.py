"""The evidence directory of a package: one folder per seal or renewal, in order.

```
evidence/                      a tag directory of its own: the tag manifests do not list it
  0001/                        the first seal: pins the payload manifests for ever
    statement.json             what this record pins (canonical JSON, below)
    signature                  the signer's signature over statement.json (seals)
    signer.pem                 the signer's public key, then its certificate chain if any
    timestamps.json            the Merkle inclusion of this record in its batch, and the tokens
    tsa-1.tsr                  an authority's RFC 3161 TimeStampResp over the batch root
    tsa-1.chain.pem            the authority's certificates known at sealing time
    tsa-1.crls.pem             the CRLs they pointed to, fetched at sealing time
  0002/                        a later seal or a renewal: pins the tag files as they stand
                               and every file of the records before it (the hash chain)
```

A record is written as `.NNNN.tmp/` beside the others, with the tag files it changes (the
PREMIS event of the seal, the new tag manifests) under `pending/`; statement.json comes last.
Then the pending files are renamed into the bag, tag manifests last, and the folder into
place. An interrupted seal leaves a `.NNNN.tmp/`: without its statement it is removed
(undone); with it, the renames are finished (completed), each only onto the content it was
computed from, so nothing written since is ever overwritten.
"""
from __future__ import annotations

import hashlib
import json
import os
import shutil
from dataclasses import dataclass, field
from pathlib import Path

from archiver import durable
from archiver.bagit.bag import SEAL_DIRECTORY

FORMAT = "archiver-evidence/1"
STATEMENT = "statement.json"
SIGNATURE = "signature"
SIGNER = "signer.pem"
TIMESTAMPS = "timestamps.json"
PENDING = "pending"
PENDING_LIST = "pending.json"


def evidence_dir(bag: Path) -> Path:
    return bag / SEAL_DIRECTORY


def record_name(number: int) -> str:
    return f"{number:04d}"


def canonical_json(document: dict) -> bytes:
    """Sorted keys, fixed separators, UTF-8, a final newline: the bytes signed are the bytes
    kept, and the same statement is always the same bytes."""
    return (json.dumps(document, sort_keys=True, indent=1, ensure_ascii=False) + "\n").encode("utf-8")


def digest(algorithm: str, data: bytes) -> str:
    return hashlib.new(algorithm, data).hexdigest()


def record_digest(algorithm: str, statement: bytes, signature: bytes | None) -> bytes:
    """What a record's tokens cover (as a leaf of its batch): H(H(statement) || H(signature))."""
    return hashlib.new(algorithm, hashlib.new(algorithm, statement).digest()
                       + hashlib.new(algorithm, signature or b"").digest()).digest()


@dataclass
class Record:
    number: int
    folder: Path
    files: dict[str, bytes] = field(default_factory=dict)  # every file of the record, by name
    statement: dict = field(default_factory=dict)
    error: str | None = None  # why the record cannot be read

    @property
    def name(self) -> str:
        return record_name(self.number)

    @property
    def kind(self) -> str:
        return str(self.statement.get("kind", "?"))

    def timestamps(self) -> dict:
        return json.loads(self.files[TIMESTAMPS])

    @property
    def signed(self) -> bool:
        """Carries a signature (a seal, or a renewal made with a key); verify checks it."""
        return SIGNATURE in self.files

    def unexpected_files(self, first: bool) -> list[str]:
        """Files of the record that none of its parts names: statement, signature, signer,
        timestamps.json, the tokens it lists with their chains and CRLs, and (`first` seal)
        the copies of the payload manifests. Raises what timestamps() raises."""
        expected = {STATEMENT, SIGNATURE, SIGNER, TIMESTAMPS}
        for token in self.timestamps().get("tokens", []):
            expected |= {token.get(part) for part in ("response", "chain", "crls")}
        if first:
            expected |= set(self.statement.get("payload_manifests", {}))
        return sorted(set(self.files) - expected)


def _read_folder(folder: Path) -> dict[str, bytes]:
    files = {}
    for entry in sorted(os.scandir(folder), key=lambda e: e.name):
        if entry.is_file(follow_symlinks=False):
            with open(entry.path, "rb") as f:
                files[entry.name] = f.read()  # read(n) would allocate n bytes first
        else:
            raise ValueError(f"{entry.name} is not a regular file")
    return files


def read_records(bag: Path) -> tuple[list[Record], list[str]]:
    """The records in order, and the names in evidence/ that are neither records nor staged
    ones (reported, never opened)."""
    folder = evidence_dir(bag)
    records, strays = [], []
    for entry in sorted(os.scandir(folder), key=lambda e: e.name):
        if entry.name.startswith(".") and entry.name.endswith(".tmp"):
            continue  # an interrupted seal (staged)
        if not (entry.name.isdigit() and len(entry.name) == 4 and entry.is_dir(follow_symlinks=False)):
            strays.append(entry.name)
            continue
        record = Record(int(entry.name), Path(entry.path))
        try:
            record.files = _read_folder(Path(entry.path))
            record.statement = json.loads(record.files[STATEMENT])
            if record.statement.get("format") != FORMAT:
                raise ValueError(f"format is not {FORMAT}")
        except (OSError, ValueError, KeyError) as e:
            record.error = f"{type(e).__name__}: {e}" if not isinstance(e, KeyError) else f"{e.args[0]} is missing"
        records.append(record)
    return records, strays


def last_signed(records: list[Record]) -> Record | None:
    """The last record a signature covers: what metadata is judged against (an unsigned
    renewal re-timestamps the records before it and vouches for no content)."""
    return next((r for r in reversed(records) if not r.error and r.signed), None)


def staged_records(bag: Path) -> list[Path]:
    folder = evidence_dir(bag)
    if not folder.is_dir():
        return []
    return sorted(p for p in folder.iterdir() if p.name.startswith(".") and p.name.endswith(".tmp"))


def stage(bag: Path, number: int, files: dict[str, bytes], pending: dict[str, bytes]) -> Path:
    """Write a record into `.NNNN.tmp/` (not yet durable: the caller syncs once for a batch):
    its files, the tag files it changes under pending/ with their digests before and after,
    and statement.json last."""
    folder = evidence_dir(bag) / f".{record_name(number)}.tmp"
    durable.step(f"mkdir {folder}")
    folder.mkdir(parents=True)
    listing = {}
    for rel, data in pending.items():
        target = folder / PENDING / rel
        target.parent.mkdir(parents=True, exist_ok=True)
        durable.write_file(target, data)
        current = bag / rel
        listing[rel] = {"before": digest("sha256", current.read_bytes()) if current.exists() else None,
                        "after": digest("sha256", data)}
    durable.write_file(folder / PENDING_LIST, canonical_json({"order": list(pending), "files": listing}))
    for name, data in files.items():
        if name != STATEMENT:
            durable.write_file(folder / name, data)
    durable.write_file(folder / STATEMENT, files[STATEMENT])
    return folder


class Conflict(Exception):
    """A tag file changed since the interrupted seal computed its new content."""


def finish(bag: Path, folder: Path, durable_now: bool = True) -> Path:
    """Rename a staged record's pending files into the bag (tag manifests last), then the
    record into place. Safe to repeat after a crash at any step. `durable_now=False`: the
    caller syncs once for a whole batch instead of two directory fsyncs per package."""
    final = evidence_dir(bag) / folder.name[1:-4]
    pending_list = folder / PENDING_LIST
    if pending_list.exists():
        listing = json.loads(pending_list.read_bytes())
        for rel in listing["order"]:
            staged_file = folder / PENDING / rel
            expected = listing["files"][rel]
            current = bag / rel
            now = digest("sha256", current.read_bytes()) if current.exists() else None
            if not staged_file.exists():
                if now != expected["after"]:
                    raise Conflict(f"{rel} is neither what the seal wrote nor what it replaced")
                continue
            if digest("sha256", staged_file.read_bytes()) != expected["after"]:
                raise Conflict(f"the staged copy of {rel} is damaged")
            if now != expected["before"] and now != expected["after"]:
                raise Conflict(f"{rel} changed since the seal was prepared")
            durable.replace(staged_file, current)
        if durable_now:
            durable.fsync_directory(bag)
        durable.remove(pending_list)  # first: without it, what is left of pending/ is empty folders
    if (folder / PENDING).exists():
        durable.remove(folder / PENDING)
    durable.replace(folder, final)
    if durable_now:
        durable.fsync_directory(evidence_dir(bag))
    return final


def recover(bag: Path) -> list[tuple[str, str]]:
    """Finish or undo every interrupted seal of the package: ("completed" | "undone" |
    "conflict", message) for each."""
    done = []
    for folder in staged_records(bag):
        if not (folder / STATEMENT).exists():
            durable.remove(folder)
            done.append(("undone", f"{SEAL_DIRECTORY}/{folder.name}: an interrupted seal removed "
                         "(it had not changed the package)"))
            continue
        try:
            final = finish(bag, folder)
        except Conflict as e:
            done.append(("conflict", f"{SEAL_DIRECTORY}/{folder.name}: an interrupted seal cannot "
                         f"be completed: {e}"))
            continue
        done.append(("completed", f"{SEAL_DIRECTORY}/{final.name}: an interrupted seal completed"))
    return done


def remove_staged(folder: Path) -> None:
    shutil.rmtree(folder, ignore_errors=True)
