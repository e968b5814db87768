"""Validate bags: every check on a bag -> a list of problems, each with a code, a path, a message.

`validate_bag` judges one bag (a directory, or a .zip/.tar/.tar.gz/.tgz holding one) by
RFC 8493 for BagIt 0.93-1.0, optionally against a BagIt Profile, and, for archiver packages,
against the report-package profile and the package metadata rules. It never stops at the
first problem and never raises on what it finds in a bag.

How it stays fast and safe:
- one os.scandir walk stats every file once; nothing outside the bag is opened: files are
  hashed only if the walk found them inside the bag (symlinks are resolved and must stay in);
- each manifest is parsed once; completeness is set arithmetic; Unicode normalization is
  tried only for names that failed to match;
- each file is read once for all manifest algorithms, in parallel (archiver.fixity.hash_many).
"""
from __future__ import annotations

import os
import signal
import stat
import unicodedata
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass, field

from archiver.bagit_rules import (
    DECLARATION_LIMIT, Declaration, FetchEntry, ManifestEntries, short_digest, check_bag_info,
    manifest_algorithm, parse_declaration, parse_fetch, parse_manifest, parse_oxum, parse_tag_file,
    unsafe_reason,
)
from archiver.fixity import ALGORITHMS, HashJob, hash_many
from archiver.problem_codes import problem
from archiver.problems import ERROR, WARNING, Problem
from archiver.store import expand_bags

MODES = ("full", "fast", "completeness")
ARCHIVER_PROFILE_ID = "https://archiver.example.org/profiles/report-package/v1.json"
WEAK = ("md5", "sha1")

Progress = Callable[[int, int], None]  # (bytes hashed so far, bytes to hash)


@dataclass
class BagReport:
    path: str
    mode: str = "full"
    problems: list[Problem] = field(default_factory=list)
    version: str | None = None
    profile: str | None = None  # identifier (or file) of the profile checked
    payload_files: int = 0
    payload_bytes: int = 0
    serialization: str | None = None  # MIME type when the bag came as an archive
    archiver_package: bool = False
    readable: bool = True  # False: the path itself could not be read (CLI exit 2)
    checked: list[str] = field(default_factory=list)
    recorded: str | None = None  # identifier of the PREMIS event written by record=True

    @property
    def errors(self) -> list[Problem]:
        return [p for p in self.problems if p.severity == ERROR]

    @property
    def warnings(self) -> list[Problem]:
        return [p for p in self.problems if p.severity == WARNING]

    @property
    def valid(self) -> bool:
        return self.readable and not any(p.severity == ERROR for p in self.problems)

    def summary(self) -> str:
        verdict = "valid" if self.valid else "INVALID"
        return (f"{verdict}: {len(self.errors)} error(s), {len(self.warnings)} warning(s); "
                f"{self.payload_files} payload file(s), {self.payload_bytes} bytes; "
                f"checked {', '.join(self.checked) or 'nothing'}")

    def to_dict(self) -> dict:
        return {
            "path": self.path, "valid": self.valid, "mode": self.mode, "version": self.version,
            "profile": self.profile, "serialization": self.serialization,
            "archiver_package": self.archiver_package, "checked": self.checked,
            "summary": {"errors": len(self.errors), "warnings": len(self.warnings),
                        "payload_files": self.payload_files, "payload_bytes": self.payload_bytes},
            "recorded": self.recorded,
            "problems": [p.to_dict() for p in self.problems],
        }


# -- the walk ------------------------------------------------------------------------------------
@dataclass
class Tree:
    payload: dict[str, int] = field(default_factory=dict)  # "data/..." -> size
    tags: dict[str, int] = field(default_factory=dict)  # every other file -> size
    dirs: set[str] = field(default_factory=set)
    disk: dict[str, str] = field(default_factory=dict)  # rel -> path to open (links resolved)
    blocked: set[str] = field(default_factory=set)  # present but never to be opened
    has_data: bool = False
    problems: list[Problem] = field(default_factory=list)


def scan(bag_dir: str) -> Tree:
    """Walk the bag once with os.scandir; stat each entry once; follow no directory links."""
    tree = Tree()
    root_real = os.path.realpath(bag_dir)
    stack = [("", bag_dir)]
    while stack:
        rel_dir, full_dir = stack.pop()
        in_payload = rel_dir == "data" or rel_dir.startswith("data/")
        try:
            entries = os.scandir(full_dir)
        except OSError as e:
            tree.problems.append(problem("BAGIT-FILE-UNREADABLE", rel_dir or ".",
                                         f"cannot list directory: {e.strerror or e}"))
            continue
        count = 0
        with entries:
            for entry in entries:
                count += 1
                rel = f"{rel_dir}/{entry.name}" if rel_dir else entry.name
                try:
                    _classify(tree, entry, rel, root_real, stack)
                except OSError as e:
                    tree.blocked.add(rel)
                    tree.problems.append(problem("BAGIT-FILE-UNREADABLE", rel, f"cannot stat: {e.strerror or e}"))
        if count == 0 and in_payload:
            tree.problems.append(problem("BAGIT-PAYLOAD-EMPTY-DIRECTORY", rel_dir,
                                         "empty directory: no manifest can list it, so it is not preserved"))
    return tree


def _classify(tree: Tree, entry: os.DirEntry, rel: str, root_real: str, stack: list) -> None:
    payload = rel.startswith("data/")
    if entry.is_symlink():
        target = os.path.realpath(entry.path)
        if not target.startswith(root_real + os.sep):
            tree.blocked.add(rel)
            tree.problems.append(problem("BAGIT-SYMLINK-OUTSIDE", rel,
                                         "symbolic link points outside the bag; not followed"))
            return
        try:
            st = os.stat(target)
        except OSError:
            tree.blocked.add(rel)
            tree.problems.append(problem("BAGIT-SYMLINK-BROKEN", rel, "symbolic link points at nothing"))
            return
        if stat.S_ISDIR(st.st_mode):
            tree.blocked.add(rel)
            tree.problems.append(problem("BAGIT-SYMLINK-DIRECTORY", rel,
                                         "symbolic link to a directory; not followed, its files are not counted"))
            return
        if not stat.S_ISREG(st.st_mode):
            tree.blocked.add(rel)
            tree.problems.append(problem("BAGIT-PAYLOAD-SPECIAL-FILE", rel,
                                         "symbolic link to a device, FIFO or socket; not read"))
            return
        (tree.payload if payload else tree.tags)[rel] = st.st_size
        tree.disk[rel] = target
        return
    if entry.is_dir(follow_symlinks=False):
        if rel == "data":
            tree.has_data = True
        tree.dirs.add(rel)
        stack.append((rel, entry.path))
        return
    st = entry.stat(follow_symlinks=False)
    if not stat.S_ISREG(st.st_mode):
        tree.blocked.add(rel)
        tree.problems.append(problem("BAGIT-PAYLOAD-SPECIAL-FILE", rel,
                                     "a device, FIFO or socket, not a file; not read"))
        return
    if payload:
        tree.payload[rel] = st.st_size
        if entry.name == "bagit.txt":
            inner = rel[:-len("/bagit.txt")]
            tree.problems.append(problem("VALIDATE-NESTED-BAG", inner,
                                         f"{inner} is itself a bag; it is payload here (validate it "
                                         "separately by naming it)"))
    else:
        tree.tags[rel] = st.st_size
    tree.disk[rel] = entry.path


# -- the checks -----------------------------------------------------------------------------------
class _Run:
    """State for validating one bag directory: what was parsed, what was found."""

    def __init__(self, bag_dir: str, report: BagReport, jobs: int | None, progress: Progress | None):
        self.bag_dir = bag_dir
        self.report = report
        self.jobs = jobs
        self.progress = progress
        self.problems = report.problems
        self.decl = Declaration()
        self.bag_info: list[tuple[str, str]] = []
        self.tree = Tree()
        self.manifests: list[ManifestEntries] = []  # payload manifests (all algorithms)
        self.tag_manifests: list[ManifestEntries] = []
        self.fetch: list[FetchEntry] = []
        self.absent_fetch: set[str] = set()
        self.alias: dict[str, str] = {}  # manifest path -> differently normalized name on disk
        self._tag_cache: dict[str, list[tuple[str, str]] | None] = {}
        self.early: tuple[list[str], dict[str, str], HashJob] | None = None  # see start_hashing

    # declaration, tag files ---------------------------------------------------------------
    def declaration(self) -> bool:
        """Read bagit.txt as the walk found it (a link out of the bag is never followed)."""
        if "bagit.txt" in self.tree.blocked:
            self.problems.append(problem("BAGIT-DECLARATION-MALFORMED", "bagit.txt",
                                         "bagit.txt is not a regular file inside the bag; not read"))
            return True
        path = self.tree.disk.get("bagit.txt")
        if path is None:
            return False
        try:
            with open(path, "rb") as f:
                data = f.read(DECLARATION_LIMIT + 1)
        except OSError as e:
            self.problems.append(problem("BAGIT-DECLARATION-MALFORMED", "bagit.txt",
                                         f"cannot read bagit.txt: {e.strerror or e}"))
            return True
        if len(data) > DECLARATION_LIMIT:
            self.problems.append(problem("BAGIT-DECLARATION-MALFORMED", "bagit.txt",
                                         f"bagit.txt is longer than {DECLARATION_LIMIT} bytes; "
                                         "a declaration is two short lines"))
            data = data[:DECLARATION_LIMIT]
        self.decl, problems = parse_declaration(data)
        self.problems += problems
        self.report.version = self.decl.version
        return True

    def bag_info_file(self) -> str | None:
        if "bag-info.txt" in self.tree.tags:
            return "bag-info.txt"
        if "package-info.txt" in self.tree.tags and (self.decl.version or "1.0") < "0.96":
            return "package-info.txt"  # what BagIt 0.93-0.95 called it
        return None

    def read_bag_info(self) -> None:
        name = self.bag_info_file()
        if name:
            self.bag_info, problems = parse_tag_file(self.tree.disk[name], name, self.decl.encoding)
            self.problems += problems + check_bag_info(self.bag_info, name)

    def read_tags(self, tag_file: str) -> list[tuple[str, str]] | None:
        """Pairs of a tag file for profile checks; None if it is absent or unsafe to open."""
        if tag_file in self._tag_cache:
            return self._tag_cache[tag_file]
        pairs = None
        if tag_file == "bagit.txt":
            if "bagit.txt" in self.tree.tags:
                pairs = [("BagIt-Version", self.decl.version or ""),
                         ("Tag-File-Character-Encoding", self.decl.declared_encoding or "")]
        elif not unsafe_reason(tag_file) and tag_file in self.tree.tags:
            pairs, problems = parse_tag_file(self.tree.disk[tag_file], tag_file, self.decl.encoding)
            self.problems += problems
        self._tag_cache[tag_file] = pairs
        return pairs

    def info_value(self, label: str) -> str | None:
        for key, value in self.bag_info:
            if key.lower() == label.lower():
                return value
        return None

    # manifests ----------------------------------------------------------------------------
    def read_manifests(self) -> None:
        for name in sorted(n for n in self.tree.tags if "/" not in n):
            for prefix, into in (("manifest-", self.manifests), ("tagmanifest-", self.tag_manifests)):
                if not (name.startswith(prefix) and name.endswith(".txt")):
                    continue
                raw_alg = manifest_algorithm(name, prefix)
                alg = raw_alg.lower()
                if raw_alg != alg:
                    self.problems.append(problem("BAGIT-MANIFEST-ALGORITHM-CASE", name,
                                                 f"algorithm {raw_alg!r} should be written {alg!r}"))
                length = ALGORITHMS[alg]().digest_size * 2 if alg in ALGORITHMS else None
                if alg == "blake2b":
                    length = None  # variable-length family; any length hashlib may produce
                if alg not in ALGORITHMS:
                    self.problems.append(problem("BAGIT-MANIFEST-UNSUPPORTED-ALGORITHM", name,
                                                 f"{name}: {alg} is not an algorithm this validator "
                                                 f"computes ({', '.join(ALGORITHMS)}); its checksums are not verified"))
                entries, problems = parse_manifest(self.tree.disk[name], name, alg, self.decl.encoding, length)
                self.problems += problems
                into.append(entries)
        if not self.manifests:
            self.problems.append(problem("BAGIT-MANIFEST-NONE", "",
                                         "no payload manifest (manifest-<algorithm>.txt)"))
        elif not any(m.algorithm in ALGORITHMS for m in self.manifests):
            self.problems.append(problem("BAGIT-MANIFEST-NO-SUPPORTED-ALGORITHM", "",
                                         "no payload manifest uses an algorithm this validator computes"))
        algs = {m.algorithm for m in self.manifests}
        if algs and algs <= set(WEAK):
            self.problems.append(problem("BAGIT-MANIFEST-WEAK-ALGORITHM", "",
                                         f"payload fixity rests on {', '.join(sorted(algs))} only; "
                                         "add sha256 or sha512"))
        for m in self.tag_manifests:
            if m.algorithm not in algs:
                self.problems.append(problem("BAGIT-TAGMANIFEST-ALGORITHM-WITHOUT-MANIFEST", m.name,
                                             f"{m.name} has no payload manifest-{m.algorithm}.txt beside it"))

    def read_fetch(self) -> None:
        if "fetch.txt" not in self.tree.tags:
            return
        self.fetch, problems = parse_fetch(self.tree.disk["fetch.txt"], self.decl.encoding)
        self.problems += problems
        for entry in self.fetch:
            unlisted = [m.name for m in self.manifests if entry.path not in m.entries]
            if unlisted:
                self.problems.append(problem("BAGIT-FETCH-NOT-IN-MANIFEST", entry.path,
                                             f"fetch.txt line {entry.line} lists {entry.path}, which is not "
                                             f"in {', '.join(unlisted)}"))
            size = self.tree.payload.get(entry.path)
            if size is None and entry.path not in self.tree.blocked:
                self.absent_fetch.add(entry.path)
                self.problems.append(problem("BAGIT-FETCH-FILE-ABSENT", entry.path,
                                             f"not present; fetch.txt says to get it from {entry.url} "
                                             "(not followed): the bag is not complete until it is fetched"))
            elif size is not None and entry.length is not None and size != entry.length:
                self.problems.append(problem("BAGIT-FETCH-LENGTH-MISMATCH", entry.path,
                                             f"{size} bytes; fetch.txt says {entry.length}", WARNING))

    # completeness -------------------------------------------------------------------------
    def completeness(self) -> None:
        """RFC 8493 §3: every payload file in every payload manifest, every entry present."""
        disk = self.tree.payload
        missing: dict[str, list[str]] = {}
        unlisted: dict[str, list[str]] = {}
        for m in self.manifests:
            keys = m.entries.keys()
            for path in [p for p in keys if not p.startswith("data/")]:
                self.problems.append(problem("BAGIT-MANIFEST-OUTSIDE-PAYLOAD", path,
                                             f"{m.name} lists {path}, which is not under data/"))
            for path in keys - disk.keys():
                if path.startswith("data/"):
                    missing.setdefault(path, []).append(m.name)
            for path in disk.keys() - keys:
                unlisted.setdefault(path, []).append(m.name)
        if missing and unlisted:
            self._match_normalization(missing, unlisted)
        for path, names in sorted(missing.items()):
            if path in self.tree.blocked or path in self.absent_fetch:
                continue  # already reported (symlink out, special file, holey bag)
            if path in self.tree.dirs:
                self.problems.append(problem("BAGIT-MANIFEST-DIRECTORY", path,
                                             f"{', '.join(names)} list(s) {path}, which is a directory"))
            else:
                self.problems.append(problem("BAGIT-MANIFEST-MISSING-FILE", path,
                                             f"listed in {', '.join(names)} but not present"))
        for path, names in sorted(unlisted.items()):
            self.problems.append(problem("BAGIT-MANIFEST-UNLISTED-FILE", path,
                                         f"payload file not listed in {', '.join(names)}"))
        self._case_collisions()
        self._tag_completeness()

    def _match_normalization(self, missing: dict[str, list[str]], unlisted: dict[str, list[str]]) -> None:
        # Only names that failed to match get normalized (macOS writes NFD, most others NFC).
        on_disk = {}
        for path in unlisted:
            on_disk.setdefault(unicodedata.normalize("NFC", path), path)
        for path in list(missing):
            found = on_disk.get(unicodedata.normalize("NFC", path))
            if found is None or found not in unlisted:
                continue
            if sorted(missing[path]) != sorted(unlisted[found]):
                continue  # listed under both spellings in different manifests: leave both reported
            del missing[path], unlisted[found]
            self.alias[path] = found
            form = "NFD" if unicodedata.is_normalized("NFD", found) else "another form"
            self.problems.append(problem("BAGIT-UNICODE-NORMALIZATION", path,
                                         f"the manifest spells this name in a different Unicode "
                                         f"normalization than the file on disk ({form}); matched "
                                         f"and verified, but tools that compare bytes will fail"))

    def _case_collisions(self) -> None:
        names = list(self.tree.payload) + list(self.tree.dirs)
        if len({n.lower() for n in names}) == len(names):
            return
        seen: dict[str, str] = {}
        for name in sorted(names):
            other = seen.setdefault(name.lower(), name)
            if other != name:
                self.problems.append(problem("BAGIT-PATH-CASE-COLLISION", name,
                                             f"{name} and {other} differ only in case"))

    def _tag_completeness(self) -> None:
        if not self.tag_manifests:
            return
        for m in self.tag_manifests:
            for path in sorted(m.entries):
                if path.startswith("tagmanifest-") and "/" not in path:
                    self.problems.append(problem("BAGIT-TAGMANIFEST-LISTS-TAGMANIFEST", path,
                                                 f"{m.name} lists the tag manifest {path}"))
                elif path.startswith("data/"):
                    if path not in self.tree.payload:
                        self.problems.append(problem("BAGIT-MANIFEST-MISSING-FILE", path,
                                                     f"listed in {m.name} but not present"))
                    self.problems.append(problem("BAGIT-TAGMANIFEST-LISTS-PAYLOAD", path,
                                                 f"{m.name} lists payload file {path}"))
                elif path not in self.tree.tags and path not in self.tree.blocked:
                    code = "BAGIT-MANIFEST-DIRECTORY" if path in self.tree.dirs else "BAGIT-MANIFEST-MISSING-FILE"
                    self.problems.append(problem(code, path, f"listed in {m.name} but not present"
                                                 if code.endswith("FILE") else f"{m.name} lists a directory"))
        listed = set().union(*(m.entries.keys() for m in self.tag_manifests))
        for path in sorted(self.tree.tags):
            if path not in listed and not (path.startswith("tagmanifest-") and "/" not in path):
                self.problems.append(problem("BAGIT-TAGMANIFEST-UNLISTED-FILE", path,
                                             f"tag file not listed in {', '.join(m.name for m in self.tag_manifests)}"))

    # Payload-Oxum ------------------------------------------------------------------------------
    def oxum(self, fast: bool) -> None:
        value = self.info_value("Payload-Oxum")
        if value is None:
            if fast:
                self.problems.append(problem("BAGIT-OXUM-ABSENT", self.bag_info_file() or "bag-info.txt",
                                             "no Payload-Oxum: --fast could check completeness only, "
                                             "not sizes; run a full validation to verify this bag"))
            return
        declared = parse_oxum(value)
        if declared is None:
            return  # reported as BAGIT-OXUM-MALFORMED by check_bag_info
        octets = sum(self.tree.payload.values())
        streams = len(self.tree.payload)
        for path in self.absent_fetch:
            length = next((e.length for e in self.fetch if e.path == path), None)
            if length is None:
                return  # a holey bag with unknown lengths: the Oxum cannot be checked
            octets += length
            streams += 1
        if (octets, streams) != declared:
            self.problems.append(problem(
                "BAGIT-OXUM-MISMATCH", self.bag_info_file() or "bag-info.txt",
                f"Payload-Oxum says {declared[0]} bytes in {declared[1]} file(s); the payload has "
                f"{octets} bytes in {streams} file(s)" + self._oxum_hint(declared, octets, streams)))

    def _oxum_hint(self, declared: tuple[int, int], octets: int, streams: int) -> str:
        codes = {p.code for p in self.problems}
        if streams != declared[1] and codes & {"BAGIT-MANIFEST-MISSING-FILE", "BAGIT-MANIFEST-UNLISTED-FILE"}:
            return " (see the missing/unlisted files reported)"
        if streams == declared[1]:
            where = ("the checksum mismatches name it" if self.report.mode == "full"
                     else "a full validation names it by checksum")
            return f" ({octets - declared[0]:+d} bytes: a file changed size; {where})"
        return ""

    # fixity ----------------------------------------------------------------------------------
    def start_hashing(self) -> None:
        """Hash every payload file the walk found while the manifests are still being read.

        The algorithms come from the manifests' names; fixity() later keeps only the files the
        manifests list (and hashes afresh should the parsed manifests disagree).
        """
        algs = sorted({manifest_algorithm(n, "manifest-").lower() for n in self.tree.tags
                       if n.startswith("manifest-") and n.endswith(".txt") and "/" not in n}
                      & ALGORITHMS.keys())
        paths = {self.tree.disk[rel]: rel for rel in self.tree.payload if rel in self.tree.disk}
        if algs and paths:
            sizes = {disk: self.tree.payload[rel] for disk, rel in paths.items()}
            self.early = (algs, paths, hash_many(list(paths), algs, jobs=self.jobs, sizes=sizes))

    def stop_hashing(self) -> None:
        if self.early:
            self.early[2].close()

    def fixity(self) -> None:
        payload_algs = sorted({m.algorithm for m in self.manifests if m.algorithm in ALGORITHMS})
        tag_algs = sorted({m.algorithm for m in self.tag_manifests if m.algorithm in ALGORITHMS})
        targets: dict[str, str] = {}  # path to open -> bag-relative path
        for m in self.manifests:
            if m.algorithm not in ALGORITHMS:
                continue
            for path in m.entries:
                real = self.alias.get(path, path)
                disk = self.tree.disk.get(real)
                if disk is not None and real in self.tree.payload:
                    targets[disk] = path
        total = sum(self.tree.payload[self.alias.get(p, p)] for p in targets.values())
        if payload_algs:
            self._verify(targets, payload_algs, self.manifests, total, self._payload_results(targets, payload_algs))
        tag_targets = {}
        for m in self.tag_manifests:
            if m.algorithm not in ALGORITHMS:
                continue
            for path in m.entries:
                if path.startswith("tagmanifest-") and "/" not in path:
                    continue
                disk = self.tree.disk.get(path)
                if disk is not None:
                    tag_targets[disk] = path
        if tag_algs and tag_targets:
            self._verify(tag_targets, tag_algs, self.tag_manifests, 0, self._hash(tag_targets, tag_algs, 1))

    def _payload_results(self, targets: dict[str, str], algs: list[str]) -> Iterable:
        if self.early:
            early_algs, early_paths, job = self.early
            if early_algs == algs and early_paths.keys() >= targets.keys():
                return (r for r in job if r[0] in targets)  # files no manifest lists are not judged
            job.close()
        return self._hash(targets, algs, self.jobs)

    def _hash(self, targets: dict[str, str], algs: list[str], jobs: int | None) -> Iterable:
        sizes = {disk: self.tree.payload.get(rel, self.tree.tags.get(rel, 0)) for disk, rel in targets.items()}
        return hash_many(list(targets), algs, jobs=jobs, sizes=sizes)

    def _verify(self, targets: dict[str, str], algs: list[str], manifests: list[ManifestEntries],
                total: int, results: Iterable) -> None:
        done = reported = 0
        step = total // 256
        found: list[Problem] = []
        checked = [m for m in manifests if m.algorithm in algs]
        for disk, size, digests in results:
            rel = targets[disk]
            if isinstance(digests, str):
                found.append(problem("BAGIT-FILE-UNREADABLE", rel, f"cannot read to verify: {digests}"))
                continue
            for m in checked:
                expected = m.entries.get(rel)
                if not expected:  # absent from this manifest, or an invalid digest already reported
                    continue
                actual = digests[m.algorithm]
                if actual != expected:
                    found.append(problem("BAGIT-CHECKSUM-MISMATCH", rel,
                                         f"{m.algorithm} mismatch: {m.name} says {short_digest(expected)}, "
                                         f"file is {short_digest(actual)}"))
            if self.progress and total:
                done += size
                if done - reported >= step or done >= total:  # a few hundred calls, not one per file
                    reported = done
                    self.progress(done, total)
        self.problems += sorted(found, key=lambda p: (p.path, p.message))

    # archiver packages and profiles --------------------------------------------------------------
    def facts(self, serialization: str | None, archive_name: str | None, archive_top: str | None):
        from archiver.profile import BagFacts
        return BagFacts(
            version=self.decl.version, bag_info=self.bag_info,
            payload_algorithms=[m.algorithm for m in self.manifests],
            tag_algorithms=[m.algorithm for m in self.tag_manifests],
            tag_files=sorted(self.tree.tags), payload_files=self.tree.payload,
            has_fetch="fetch.txt" in self.tree.tags, read_tags=self.read_tags,
            serialization=serialization, archive_name=archive_name, archive_top=archive_top)

    def package_metadata(self) -> None:
        from archiver.metadata.check import check_package_metadata
        readable = {rel: path for rel, path in self.tree.disk.items()
                    if rel in self.tree.tags and rel not in self.tree.blocked}
        self.problems += check_package_metadata(
            self.bag_dir, manifests={m.algorithm: m.entries for m in self.manifests},
            payload=set(self.tree.payload), external_id=self.info_value("External-Identifier"),
            readable=readable)


# -- public API --------------------------------------------------------------------------------------
def validate_bag(path: str | os.PathLike, *, mode: str = "full", profile=None, jobs: int | None = None,
                 progress: Progress | None = None, record: bool = False) -> BagReport:
    """Validate one bag (a directory or a serialized bag) and return its report.

    mode: "full" (everything, every checksum), "fast" (Payload-Oxum and completeness) or
    "completeness" (every file present and listed). `profile` is a path, a parsed JSON
    document or an archiver.profile.Profile. `record=True` appends a PREMIS event with the
    outcome to an archiver package's metadata/premis.xml (tag manifests rewritten, payload
    untouched).
    """
    if mode not in MODES:
        raise ValueError(f"mode must be one of {', '.join(MODES)}, not {mode!r}")
    path = os.fspath(path)
    report = BagReport(path=path, mode=mode)
    try:
        loaded = _load_profile(profile, report)
        if os.path.isdir(path):
            _validate_dir(path, report, loaded, jobs, progress, record)
        elif os.path.isfile(path):
            _validate_archive(path, report, loaded, jobs, progress, record)
        else:
            report.readable = False
            report.problems.append(problem("VALIDATE-PATH-MISSING", path,
                                           "no such file or directory" if not os.path.lexists(path)
                                           else "neither a directory nor a file"))
    except Exception as e:  # never raise on what a bag holds: report it instead
        report.problems.append(problem("VALIDATE-INTERNAL-ERROR", "", f"{type(e).__name__}: {e}"))
    return report


def validate(paths: Iterable[str | os.PathLike], **kw) -> list[BagReport]:
    """Validate each bag (a folder of bags, such as a store, stands for every bag in it);
    a profile given as a path is loaded once for all of them. Keywords as validate_each."""
    return list(validate_each(expand_bags(paths), **kw))


def validate_each(paths: Sequence[str | os.PathLike], *, mode: str = "full", profile=None,
                  jobs: int | None = None, record: bool = False,
                  progress: Callable[[str], Progress | None] | None = None) -> Iterator[BagReport]:
    """Validate the bags one after another, yielding each report in order as it is done.

    With more bags than jobs (a store of thousands of small packages), bags are validated
    side by side in worker processes, each hashing its own files; with fewer, one at a time,
    each hashed by every core. `progress(path)` may give a progress callback per bag (used
    one at a time only). `--record` runs one at a time: an interrupted worker must not be
    killed between the staged writes of an event and their renames.
    """
    if profile is not None and not isinstance(profile, dict):
        from archiver.profile import Profile, load_profile
        if not isinstance(profile, Profile):
            profile = load_profile(profile)  # ProfileError: a usage error for the caller
    import multiprocessing  # here: validating one bag does not need it

    paths = [os.fspath(p) for p in paths]
    jobs = max(1, jobs or os.cpu_count() or 1)
    if jobs == 1 or record or len(paths) <= jobs or "fork" not in multiprocessing.get_all_start_methods():
        for p in paths:
            bar = progress(p) if progress else None
            yield validate_bag(p, mode=mode, profile=profile, jobs=jobs, progress=bar, record=record)
            if bar is not None and hasattr(bar, "close"):
                bar.close()
        return
    work = [(p, mode, profile) for p in paths]
    with multiprocessing.get_context("fork").Pool(jobs, initializer=_ignore_interrupts) as pool:
        yield from pool.imap(_validate_one, work, chunksize=max(1, min(8, len(work) // (jobs * 8))))


def _validate_one(args: tuple[str, str, object]) -> BagReport:
    path, mode, profile = args
    return validate_bag(path, mode=mode, profile=profile, jobs=1)


def _ignore_interrupts() -> None:
    # Ctrl-C reaches the whole process group: the parent alone stops the pool
    signal.signal(signal.SIGINT, signal.SIG_IGN)


def _load_profile(profile, report: BagReport):
    if profile is None:
        return None
    from archiver.profile import ProfileError, load_profile
    try:
        loaded = load_profile(profile)
    except ProfileError as e:
        report.problems += e.problems
        return None
    report.profile = loaded.identifier or loaded.source
    return loaded


def _validate_archive(path: str, report: BagReport, profile, jobs, progress, record) -> None:
    from archiver.serialized import serialization_of, unpacked
    import tarfile
    import zipfile

    if serialization_of(path) is None and not (zipfile.is_zipfile(path) or tarfile.is_tarfile(path)):
        report.readable = False
        report.problems.append(problem("VALIDATE-NOT-A-BAG", path,
                                       "a file that is not a .zip, .tar, .tar.gz or .tgz archive"))
        return
    with unpacked(path) as archive:
        report.serialization = archive.mime
        report.problems += archive.problems
        if archive.bag_dir is None:
            return
        if record:
            report.problems.append(problem("VALIDATE-NOT-RECORDED", path,
                                           "--record writes into a package directory, not into an archive"))
        _validate_dir(archive.bag_dir, report, profile, jobs, progress, False,
                      serialization=archive.mime, archive_name=os.path.basename(path), archive_top=archive.top)


def _validate_dir(bag_dir: str, report: BagReport, profile, jobs, progress, record, *,
                  serialization=None, archive_name=None, archive_top=None) -> None:
    run = _Run(bag_dir, report, jobs, progress)
    run.tree = scan(bag_dir)
    has_declaration = run.declaration()
    if not has_declaration:
        if not any(n.startswith("manifest-") for n in run.tree.tags):
            report.problems.append(problem("VALIDATE-NOT-A-BAG", "",
                                           "no bagit.txt and no manifest: this directory is not a bag"))
            return
        what = "a directory, not a file" if "bagit.txt" in run.tree.dirs else "missing"
        report.problems.append(problem("BAGIT-DECLARATION-MISSING", "bagit.txt",
                                       f"bagit.txt is {what}; tag files are read as UTF-8"))
    if report.mode == "full":
        run.start_hashing()
    try:
        _check_dir(run, report, profile, record, serialization, archive_name, archive_top)
    finally:
        run.stop_hashing()


def _check_dir(run: _Run, report: BagReport, profile, record, serialization, archive_name,
               archive_top) -> None:
    bag_dir = run.bag_dir
    report.problems += run.tree.problems
    if not run.tree.has_data:
        report.problems.append(problem("BAGIT-PAYLOAD-DIR-MISSING", "data",
                                       "no data/ directory" if "data" not in run.tree.tags
                                       else "data is a file, not a directory"))
    report.payload_files = len(run.tree.payload)
    report.payload_bytes = sum(run.tree.payload.values())
    report.checked.append("structure")
    run.read_bag_info()
    run.read_manifests()
    run.read_fetch()
    run.completeness()
    report.checked.append("completeness")
    if run.info_value("Payload-Oxum") is not None:
        report.checked.append("payload-oxum")
    run.oxum(fast=report.mode == "fast")
    if report.mode == "full":
        run.fixity()
        report.checked.append("checksums")
    declared = [v for k, v in run.bag_info if k.lower() == "bagit-profile-identifier"]
    report.archiver_package = ARCHIVER_PROFILE_ID in declared
    if report.archiver_package:
        from archiver.profile import check_bag, report_package_profile
        if profile is None or profile.identifier != ARCHIVER_PROFILE_ID:
            report.problems += check_bag(report_package_profile(),
                                         run.facts(serialization, archive_name, archive_top))
            report.checked.append("report-package-profile")
        run.package_metadata()
        report.checked.append("package-metadata")
    if profile is not None:
        from archiver.profile import check_bag
        report.problems += check_bag(profile, run.facts(serialization, archive_name, archive_top))
        report.checked.append("profile")
    if record:
        _record(bag_dir, report)


def _record(bag_dir: str, report: BagReport) -> None:
    """Append a PREMIS fixity-check (full mode) or validation event with the outcome."""
    if not report.archiver_package:
        report.problems.append(problem("VALIDATE-NOT-RECORDED", "",
                                       "not an archiver package (no report-package profile "
                                       "identifier): nothing recorded"))
        return
    from archiver.metadata.provenance import SOFTWARE, event, now
    from archiver.package import record_event

    codes = sorted({p.code for p in report.errors})
    detail = (f"archiver validate, mode {report.mode}"
              + (f", profile {report.profile}" if report.profile else "")
              + f"; checked {', '.join(report.checked)}")
    outcome = (f"{len(report.errors)} error(s), {len(report.warnings)} warning(s)"
               + (f": {', '.join(codes[:10])}" if codes else ""))
    recorded = event("fix" if report.mode == "full" else "val", now(),
                     [(SOFTWARE.identifier, "executing program")], [], detail=detail,
                     outcome_detail=outcome, outcome="success" if report.valid else "failure")
    try:
        record_event(bag_dir, recorded, [SOFTWARE])
    except Exception as e:  # the verdict stands; say plainly that it was not written down
        report.problems.append(problem("VALIDATE-NOT-RECORDED", "metadata/premis.xml",
                                       f"recording the event failed: {type(e).__name__}: {e}"))
        return
    report.recorded = recorded.identifier
