"""What a package holds now: every file with its size and digests, and what its manifests say.

One reader per kind of location, each returning the same Inventory, so that findings.py judges
a bag directory, a serialized bag and the bag inside an OCFL object alike:
- a bag directory: one walk (validate.scan: links out of the bag, devices and FIFOs are named,
  never opened), manifests read first, then every file hashed once for all algorithms;
- a .zip, .tar or .tar.gz: streamed member by member, each hashed as it passes, never
  unpacked to disk; only small tag files (manifests, bag-info, premis.xml) are kept in memory;
- an OCFL object: inventory.json read, every content file hashed once and compared with the
  inventory's digests, and the head version's logical files, which are the bag, taken from
  those digests (no second read).

Readers run in worker processes; they know nothing of the ledger. One package read here, on
a cluster, may have its files hashed by the cluster's workers (`executor`).
"""
from __future__ import annotations

import hashlib
import json
import lzma
import os
import tarfile
import zipfile
import zlib
from dataclasses import dataclass, field

from archiver.bagit.rules import (DECLARATION_LIMIT, parse_declaration, parse_manifest,
                                  parse_tag_file, unsafe_reason)
from archiver.bagit.tarstream import TarStreamError, members as tar_members, open_tar
from archiver.executor import ClusterError
from archiver.fixity import ALGORITHMS, BLOCK, hash_many, hash_stream
from archiver.problem_codes import problem
from archiver.problems import Problem

LEDGER_ALGORITHM = "sha256"  # always computed: the ledger compares on it whatever the manifests use
STREAM_ALGORITHMS = ("sha256", "sha512")  # hashed while streaming, before the manifests are known
KEPT = 64 << 20  # tag files kept in memory from an archive (a manifest of a huge bag is large)
PREMIS = "metadata/premis.xml"


@dataclass
class Inventory:
    location: str
    kind: str  # "bag", "zip", "tar", "ocfl"
    identifier: str = ""
    files: dict[str, tuple[int, dict[str, str]]] = field(default_factory=dict)
    unreadable: dict[str, str] = field(default_factory=dict)  # path -> why
    manifests: dict[str, dict[str, str]] = field(default_factory=dict)  # alg -> {path: digest}
    tag_manifests: dict[str, dict[str, str]] = field(default_factory=dict)
    premis: dict[str, str] | None = None  # element digest -> label, for metadata/premis.xml
    problems: list[Problem] = field(default_factory=list)
    damaged: bool = False  # an archive unreadable beyond some point: files after it unseen
    readable: bool = True  # False: nothing of the package could be read

    @property
    def bytes(self) -> int:
        return sum(size for size, _ in self.files.values())


def read_location(location: str, kind: str, jobs: int = 1, executor=None) -> Inventory:
    """The inventory of one package; never raises on what the package holds (a cluster that
    fails is not the package's doing: ClusterError)."""
    try:
        if kind == "bag":
            return read_bag_dir(location, jobs, executor)
        if kind == "ocfl":
            return read_ocfl_object(location, jobs, executor)
        return read_archive(location, kind)
    except ClusterError:
        raise
    except Exception as e:  # a package must not stop the round: say what happened to it
        inv = Inventory(location, kind, readable=False)
        inv.problems.append(problem("AUDIT-PACKAGE-UNREADABLE", "",
                                    f"cannot be read: {type(e).__name__}: {e}"))
        return inv


# -- what every reader shares: tag files from bytes or paths ---------------------------------------
def _read_tags(inv: Inventory, source, names: list[str]) -> set[str]:
    """Parse bagit.txt, bag-info.txt and the manifests; `source(rel)` gives bytes or a path.

    Returns the algorithms the payload and tag manifests use (those this module computes)."""
    encoding = "utf-8"
    if "bagit.txt" in names:
        data = source("bagit.txt")
        if isinstance(data, str):
            with open(data, "rb") as f:
                data = f.read(DECLARATION_LIMIT)
        decl, _ = parse_declaration(data[:DECLARATION_LIMIT])
        encoding = decl.encoding
    if "bag-info.txt" in names:
        pairs, _ = parse_tag_file(source("bag-info.txt"), "bag-info.txt", encoding)
        inv.identifier = next((v for k, v in pairs if k.lower() == "external-identifier"), "") or ""
    algorithms = set()
    for name in sorted(n for n in names if "/" not in n and n.endswith(".txt")):
        for prefix, into in (("manifest-", inv.manifests), ("tagmanifest-", inv.tag_manifests)):
            if name.startswith(prefix):
                alg = name[len(prefix):-4].lower()
                if alg not in ALGORITHMS:
                    continue
                length = None if alg == "blake2b" else ALGORITHMS[alg]().digest_size * 2
                entries, problems = parse_manifest(source(name), name, alg, encoding, length)
                inv.problems += [p for p in problems if p.severity == "error"]
                into[alg] = entries.entries
                algorithms.add(alg)
    return algorithms


def _named_algorithms(names) -> set[str]:
    found = set()
    for name in names:
        for prefix in ("manifest-", "tagmanifest-"):
            if "/" not in name and name.startswith(prefix) and name.endswith(".txt"):
                alg = name[len(prefix):-4].lower()
                if alg in ALGORITHMS:
                    found.add(alg)
    return found


def premis_elements(data: bytes) -> dict[str, str] | None:
    """{digest of each top-level PREMIS element (canonical XML): a short label}.

    Whitespace between elements is dropped first, so rewriting the document with another
    indentation changes nothing; any change inside an element changes its digest."""
    from lxml import etree

    try:
        parser = etree.XMLParser(remove_blank_text=True, resolve_entities=False, no_network=True,
                                 huge_tree=False)
        root = etree.fromstring(data, parser)
    except (etree.XMLSyntaxError, ValueError):
        return None
    out = {}
    for child in root:
        if not isinstance(child.tag, str):
            continue
        digest = hashlib.sha256(etree.tostring(child, method="c14n")).hexdigest()
        out[digest] = _label(child)
    return out


def _label(el) -> str:
    local = el.tag.rsplit("}", 1)[-1]
    texts = [t.strip() for t in el.itertext() if t.strip()]
    if local == "event":
        # identifier type, value, event type, date, ...: enough to name it in a message
        ns = el.tag[:-len(local)]
        when = el.findtext(f"{ns}eventDateTime") or ""
        kind = el.find(f"{ns}eventType")
        code = (kind.get("valueURI") or "").rsplit("/", 1)[-1] if kind is not None else ""
        outcome = el.findtext(f"{ns}eventOutcomeInformation/{ns}eventOutcome") or ""
        return f"event {texts[1] if len(texts) > 1 else ''} ({code} {outcome} {when})".strip()
    return f"{local} {texts[1] if len(texts) > 1 else ''}".strip()


# -- a bag directory -------------------------------------------------------------------------------
def read_bag_dir(bag_dir: str, jobs: int = 1, executor=None) -> Inventory:
    from archiver.validate.walk import Tree, scan  # the same walk validate makes, with its safety rules

    inv = Inventory(bag_dir, "bag")
    if not os.path.isdir(bag_dir):
        inv.readable = False
        return inv
    sent: set[str] = set()  # what the job was given (a file the bag links to twice, once)
    job = None

    def start(top: Tree):
        """Once the top is listed (scan always calls this): the manifests' names say which
        algorithms to compute, and each payload file is hashed as the walk finds it, as
        validate's walk does."""
        nonlocal job
        algorithms = tuple(sorted(_named_algorithms(list(top.tags)) | {LEDGER_ALGORITHM}))
        job = hash_stream(algorithms, jobs=jobs, executor=executor)
        return lambda disk, size: _send(job, sent, disk, size)

    try:
        tree = scan(bag_dir, Tree(), start)
    except BaseException:  # the workers the walk started go with it
        if job is not None:
            job.close()
        raise
    inv.problems += [p for p in tree.problems if p.severity == "error"]
    for rel in tree.blocked:
        inv.unreadable[rel] = "not a regular file inside the bag; not opened"
    names = [rel for rel in tree.tags if rel in tree.disk]
    targets = {}
    for rel, disk in tree.disk.items():
        if rel in tree.blocked:
            continue
        targets[disk] = rel
        _send(job, sent, disk, tree.payload.get(rel, tree.tags.get(rel, 0)))  # the tag files
    job.finish()
    _read_tags(inv, lambda rel: tree.disk[rel], names)
    for disk, size, digests in job:
        rel = targets[disk]
        if isinstance(digests, str):
            inv.unreadable[rel] = digests
        else:
            inv.files[rel] = (size, digests)
    if PREMIS in inv.files:
        try:
            with open(tree.disk[PREMIS], "rb") as f:
                inv.premis = premis_elements(f.read())
        except OSError as e:
            inv.unreadable[PREMIS] = e.strerror or str(e)
    if not inv.identifier:
        inv.identifier = os.path.basename(os.path.normpath(bag_dir))
    return inv


def _send(job, sent: set[str], disk: str, size: int) -> None:
    if disk not in sent:
        sent.add(disk)
        job.add(disk, size)


# -- a serialized bag, streamed --------------------------------------------------------------------
class _Hasher:
    def __init__(self, algorithms):
        self.hashers = {a: ALGORITHMS[a]() for a in algorithms}
        self.size = 0
        self.kept: bytearray | None = None

    def update(self, chunk) -> None:
        for h in self.hashers.values():
            h.update(chunk)
        self.size += len(chunk)
        if self.kept is not None:
            self.kept += chunk
            if len(self.kept) > KEPT:
                self.kept = None

    def digests(self) -> dict[str, str]:
        return {a: h.hexdigest() for a, h in self.hashers.items()}


def _keep(rel: str) -> bool:
    return "/" not in rel and rel.endswith(".txt") or rel == PREMIS


def read_archive(path: str, kind: str) -> Inventory:
    inv = Inventory(path, kind)
    kept: dict[str, bytes] = {}
    names: dict[str, bool] = {}  # bag path -> its first member is a file (not a directory)
    duplicated: set[str] = set()
    top = None
    seen = 0
    try:
        for name, size, stream, is_file in _members(path, kind):
            parts = name.strip("/").removeprefix("./").split("/")
            if not parts or parts == [""]:
                continue
            if top is None:
                top = parts[0]
            reason = unsafe_reason(name.removeprefix("./"))
            if reason or parts[0] != top or ".." in parts:
                inv.problems.append(problem("ARCHIVE-UNSAFE-MEMBER", name,
                                            f"member {name!r}: {reason or 'outside the bag directory'}"))
                continue
            rel = "/".join(parts[1:])
            if not rel:
                continue
            if rel in names and (is_file or names[rel]):  # one directory listed twice is harmless
                if rel not in duplicated:
                    duplicated.add(rel)
                    inv.problems.append(problem("ARCHIVE-DUPLICATE-MEMBER", name, f"member {name!r} "
                                                "appears more than once: which one a reader gets "
                                                "depends on the extractor; the first was read"))
                continue
            names.setdefault(rel, is_file)
            if not is_file:
                continue
            if stream is None:  # a link, device or FIFO member: named, never followed
                inv.unreadable[rel] = "not a regular file in the archive; not read"
                continue
            hasher = _Hasher(STREAM_ALGORITHMS)
            if _keep(rel):
                hasher.kept = bytearray()
            seen = 0
            while chunk := stream.read(BLOCK):
                hasher.update(chunk)
                seen += len(chunk)
            if hasher.size != size:
                raise EOFError(f"member {rel} ends after {hasher.size} of {size} bytes")
            inv.files[rel] = (hasher.size, hasher.digests())
            if hasher.kept is not None:
                kept[rel] = bytes(hasher.kept)
    except (TarStreamError, OSError, EOFError, tarfile.TarError, zipfile.BadZipFile, zlib.error,
            ValueError, NotImplementedError, lzma.LZMAError) as e:
        inv.damaged = True
        inv.problems.append(problem("AUDIT-ARCHIVE-DAMAGED", "", f"{e} ({len(inv.files)} file(s) read "
                                    "before it)" if isinstance(e, TarStreamError) else
                                    f"the archive cannot be read beyond {len(inv.files)} file(s): {e}; "
                                    "what follows was not checked"))
    inv.readable = bool(inv.files) or not inv.damaged
    algorithms = _read_tags(inv, lambda rel: kept.get(rel, b""), [n for n in kept if "/" not in n])
    missing_algs = algorithms - set(STREAM_ALGORITHMS)
    if missing_algs and not inv.damaged:
        _rehash_archive(inv, path, kind, top, missing_algs)  # a manifest of another algorithm
    if PREMIS in kept:
        inv.premis = premis_elements(kept[PREMIS])
    if not inv.identifier:
        inv.identifier = top or os.path.basename(path)
    return inv


def _members(path: str, kind: str):
    """(name, size, readable stream or None, is a file) for each member, in archive order."""
    if kind == "zip":
        with zipfile.ZipFile(path) as zf:
            for info in zf.infolist():
                mode = info.external_attr >> 16
                if info.is_dir():
                    yield info.filename, 0, None, False
                elif mode and (mode & 0o170000) not in (0, 0o100000):
                    yield info.filename, info.file_size, None, True
                else:
                    with zf.open(info) as stream:
                        yield info.filename, info.file_size, stream, True
        return
    # one pass; tar_members reads on past the last member to the end of the stream, so that a
    # damaged or zeroed header is found and the compressor's own check (gzip's CRC-32 and length,
    # bzip2's and xz's) has its say
    with _decompressed(path) as raw, open_tar(fileobj=raw, mode="r|") as tf:
        for info in tar_members(tf):
            if info.isdir():
                yield info.name, 0, None, False
            elif info.isreg():
                yield info.name, info.size, tf.extractfile(info), True
            else:
                yield info.name, 0, None, True


def _decompressed(path: str):
    """The archive's bytes as a tar stream, through a decompressor that checks its trailer
    (tarfile's own gzip stream never checks the CRC)."""
    import bz2
    import gzip

    with open(path, "rb") as f:
        magic = f.read(6)
    if magic.startswith(b"\x1f\x8b"):
        return gzip.open(path, "rb")
    if magic.startswith(b"BZh"):
        return bz2.open(path, "rb")
    if magic.startswith(b"\xfd7zXZ\x00"):
        return lzma.open(path, "rb")
    return open(path, "rb")


def _rehash_archive(inv: Inventory, path: str, kind: str, top: str | None, algorithms) -> None:
    for name, size, stream, is_file in _members(path, kind):
        parts = name.strip("/").removeprefix("./").split("/")
        rel = "/".join(parts[1:])
        if stream is None or rel not in inv.files or parts[0] != top:
            continue
        hasher = _Hasher(algorithms)
        while chunk := stream.read(BLOCK):
            hasher.update(chunk)
        inv.files[rel][1].update(hasher.digests())


# -- OCFL ----------------------------------------------------------------------------------------
OCFL_DIGESTS = {"sha512": "sha512", "sha256": "sha256", "sha1": "sha1", "md5": "md5"}


def read_ocfl_object(objdir: str, jobs: int = 1, executor=None) -> Inventory:
    inv = Inventory(objdir, "ocfl")
    inventory_path = os.path.join(objdir, "inventory.json")
    try:
        with open(inventory_path, "rb") as f:
            raw = f.read()
        data = json.loads(raw)
        algorithm = data["digestAlgorithm"]
        head = data["head"]
        manifest = data["manifest"]
        state = data["versions"][head]["state"]
        inv.identifier = data["id"]
    except (OSError, ValueError, KeyError, TypeError) as e:
        inv.readable = False
        inv.problems.append(problem("AUDIT-OCFL-INVENTORY", "inventory.json",
                                    f"unreadable OCFL inventory: {e}"))
        return inv
    if algorithm not in OCFL_DIGESTS:
        inv.problems.append(problem("AUDIT-OCFL-INVENTORY", "inventory.json",
                                    f"digestAlgorithm {algorithm!r} is not one this audit computes"))
        return inv
    _check_sidecar(inv, objdir, raw, algorithm)
    content = {}  # content path -> digest the inventory gives it
    for digest, paths in manifest.items():
        for p in paths:
            content[p] = digest.lower()
    logical = {}  # logical path (bag path) -> content path
    for digest, paths in state.items():
        sources = manifest.get(digest) or []
        for p in paths:
            logical[p] = sources[0] if sources else None
    # the bag's own manifests, read from their content files before any hashing
    def source(rel):
        c = logical.get(rel)
        return os.path.join(objdir, *c.split("/")) if c else b""
    names = [p for p in logical if "/" not in p or p.startswith("metadata/")]
    bag_algs = _read_tags(inv, source, [n for n in names if "/" not in n])
    algorithms = tuple(sorted(bag_algs | {LEDGER_ALGORITHM, OCFL_DIGESTS[algorithm]}))
    targets = {}
    for c in content:
        if unsafe_reason(c):
            inv.problems.append(problem("AUDIT-OCFL-INVENTORY", c, "unsafe content path; not opened"))
            continue
        targets[os.path.join(objdir, *c.split("/"))] = c
    present = _object_files(objdir)
    results = {}
    for disk, size, digests in hash_many([d for d in targets if targets[d] in present], algorithms,
                                         jobs=jobs, executor=executor):
        results[targets[disk]] = (size, digests)
    for c, expected in content.items():
        if c not in present:
            inv.problems.append(problem("AUDIT-FILE-MISSING", c,
                                        "content file named by inventory.json is missing"))
            continue
        got = results.get(c)
        if got is None or isinstance(got[1], str):
            inv.problems.append(problem("AUDIT-FILE-UNREADABLE", c, f"cannot read: {got and got[1]}"))
            continue
        if got[1][OCFL_DIGESTS[algorithm]] != expected:
            inv.problems.append(problem("AUDIT-FILE-CHANGED", c,
                                        f"{algorithm} differs from inventory.json: inventory says "
                                        f"{expected[:12]}…, file is {got[1][OCFL_DIGESTS[algorithm]][:12]}…"))
    for c in sorted(present - set(content)):
        inv.problems.append(problem("AUDIT-FILE-NEW", c, "in the object's content, not in inventory.json"))
    for rel, c in logical.items():
        got = results.get(c) if c else None
        if got is None:
            inv.unreadable[rel] = f"its content file {c} could not be read"
        else:
            inv.files[rel] = (got[0], {a: d for a, d in got[1].items() if a in bag_algs or
                                       a == LEDGER_ALGORITHM})
    if PREMIS in logical and PREMIS in inv.files:
        with open(source(PREMIS), "rb") as f:
            inv.premis = premis_elements(f.read())
    return inv


def _check_sidecar(inv: Inventory, objdir: str, raw: bytes, algorithm: str) -> None:
    sidecar = os.path.join(objdir, f"inventory.json.{algorithm}")
    try:
        with open(sidecar, encoding="utf-8") as f:
            expected = f.read().split()[0].lower()
    except (OSError, IndexError, UnicodeDecodeError):
        inv.problems.append(problem("AUDIT-OCFL-INVENTORY", f"inventory.json.{algorithm}",
                                    "the inventory's digest sidecar is missing or unreadable"))
        return
    if hashlib.new(algorithm, raw).hexdigest() != expected:
        inv.problems.append(problem("AUDIT-OCFL-INVENTORY", "inventory.json",
                                    f"inventory.json does not match inventory.json.{algorithm}"))


def _object_files(objdir: str) -> set[str]:
    """Content files of every version directory, as object-relative paths."""
    found = set()
    for version in os.listdir(objdir):
        vdir = os.path.join(objdir, version)
        if not (version.startswith("v") and os.path.isdir(vdir)):
            continue
        for folder, dirs, files in os.walk(vdir):
            rel_folder = os.path.relpath(folder, objdir).replace(os.sep, "/")
            for name in files:
                rel = f"{rel_folder}/{name}"
                if rel.count("/") >= 2:  # vN/<content directory>/...; not vN/inventory.json
                    found.add(rel)
    return found
