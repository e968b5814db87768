"""Manifests, fetch.txt, completeness (RFC 8493 section 3) and Payload-Oxum."""
from __future__ import annotations

import unicodedata

from archiver.bagit.rules import manifest_algorithm, parse_fetch, parse_manifest, parse_oxum
from archiver.fixity import ALGORITHMS
from archiver.problem_codes import problem
from archiver.problems import WARNING

WEAK = ("md5", "sha1")


class Manifests:
    """The manifest, completeness and Oxum part of a BagRun."""

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
            absent = keys - disk.keys()  # every path outside data/ is among these
            if absent:
                for path in [p for p in keys if p in absent and not p.startswith("data/")]:  # in manifest order
                    self.problems.append(problem("BAGIT-MANIFEST-OUTSIDE-PAYLOAD", path,
                                                 f"{m.name} lists {path}, which is not under data/"))
            for path in absent:
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
