"""Fixity: every checksum of every payload and tag manifest, each file read once for all
algorithms, in parallel; payload hashing starts while the manifests are still being read."""
from __future__ import annotations

from collections.abc import Iterable

from archiver.bagit.rules import ManifestEntries, manifest_algorithm, short_digest
from archiver.fixity import ALGORITHMS, hash_stream
from archiver.problem_codes import problem
from archiver.problems import Problem
from archiver.validate.walk import Tree


class Checksums:
    """The fixity part of a BagRun."""

    def start_hashing(self, tree: Tree):
        """The walk's hook in full mode, once the top directory is listed: the job that
        hashes each payload file as the walk finds it (its `add`), while the walk goes on
        and the manifests are still to be read; None when no manifest names an algorithm.

        The algorithms come from the manifests' names; fixity() later keeps only the files the
        manifests list (and hashes afresh should the parsed manifests disagree)."""
        algs = sorted({manifest_algorithm(n, "manifest-").lower() for n in tree.tags
                       if n.startswith("manifest-") and n.endswith(".txt") and "/" not in n}
                      & ALGORITHMS.keys())
        if not algs:
            return None
        job = hash_stream(algs, jobs=self.jobs, executor=self.executor)
        self.early = (algs, job)
        return job.add

    def walked(self) -> None:
        """The walk is over: the last files go to the hashers."""
        if self.early:
            self.early[1].finish()

    def stop_hashing(self) -> None:
        if self.early:
            self.early[1].close()

    def fixity(self) -> None:
        payload_algs = sorted({m.algorithm for m in self.manifests if m.algorithm in ALGORITHMS})
        tag_algs = sorted({m.algorithm for m in self.tag_manifests if m.algorithm in ALGORITHMS})
        payload, disk = self.tree.payload, self.tree.disk
        listed = [m.entries.keys() for m in self.manifests if m.algorithm in ALGORITHMS]
        if not self.alias:  # every manifest path is its name on disk: sets, not a loop per entry
            present = (listed[0] if len(listed) == 1 else set().union(*listed)) & payload.keys() if listed else set()
            targets = _Targets((disk[rel], rel) for rel in present)
            total = sum(map(payload.__getitem__, targets.values()))  # a file listed twice counts once
        else:
            targets = _Targets((disk[self.alias.get(path, path)], path) for entries in listed for path in entries
                               if self.alias.get(path, path) in payload)
            total = sum(payload[self.alias.get(p, p)] for p in targets.values())
        tag_targets = _Targets((disk[path], path) for m in self.tag_manifests if m.algorithm in ALGORITHMS
                               for path in m.entries if path in disk
                               and not (path.startswith("tagmanifest-") and "/" not in path))
        # the tag files are hashed here while the workers still hash the payload, judged after it
        tag_results = list(self._hash(tag_targets, tag_algs, 1)) if tag_algs and tag_targets else []
        if payload_algs:
            self._verify(targets, payload_algs, self.manifests, total, self._payload_results(targets, payload_algs))
        if tag_results:
            self._verify(tag_targets, tag_algs, self.tag_manifests, 0, tag_results)

    def _payload_results(self, targets: _Targets, algs: list[str]) -> Iterable:
        if self.early:
            early_algs, job = self.early
            if early_algs == algs:
                return job  # every payload file the walk found: _verify judges those listed
            job.close()
        return self._hash(targets, algs, self.jobs, self.executor)

    def _hash(self, targets: _Targets, algs: list[str], jobs: int | None, executor=None) -> Iterable:
        job = hash_stream(algs, jobs=jobs, executor=executor)
        for disk, rel in targets.items():
            job.add(disk, self.tree.payload.get(rel, self.tree.tags.get(rel, 0)))
        return job.finish()

    def _verify(self, targets: _Targets, algs: list[str], manifests: list[ManifestEntries],
                total: int, results: Iterable) -> None:
        """Compare each result with every manifest listing its file (every name it is listed
        under: a link inside the bag is the file it points at). Results for files no manifest
        lists are passed over (they are reported as unlisted); a listed file with no result is
        an internal error, never a pass."""
        done = reported = 0
        step = total // 256
        found: list[Problem] = []
        checked = [(m.entries, m.algorithm, m.name) for m in manifests if m.algorithm in algs]
        judged: set[str] = set()
        also = targets.also
        for disk, size, digests in results:
            rel = targets.get(disk)
            if rel is None or disk in judged:
                continue
            judged.add(disk)
            for rel in (rel, *also[disk]) if disk in also else (rel,):
                if isinstance(digests, str):
                    found.append(problem("BAGIT-FILE-UNREADABLE", rel, f"cannot read to verify: {digests}"))
                    continue
                for entries, alg, name in checked:
                    expected = entries.get(rel)
                    if expected and digests[alg] != expected:  # no digest: absent, or reported invalid
                        found.append(problem("BAGIT-CHECKSUM-MISMATCH", rel,
                                             f"{alg} mismatch: {name} says {short_digest(expected)}, "
                                             f"file is {short_digest(digests[alg])}"))
            if self.progress and total:
                done += size
                if done - reported >= step or done >= total:  # a few hundred calls, not one per file
                    reported = done
                    self.progress(done, total)
        if len(judged) != len(targets):
            raise RuntimeError(f"{len(targets) - len(judged)} listed file(s) got no checksum result")
        self.problems += sorted(found, key=lambda p: (p.path, p.message))


class _Targets(dict):
    """Path to open -> the bag path it is judged as; `also` holds the further bag paths of a
    file listed under several names (links inside the bag to one file)."""

    def __init__(self, pairs: Iterable[tuple[str, str]]):
        super().__init__()
        self.also: dict[str, list[str]] = {}
        for disk, rel in pairs:
            first = self.setdefault(disk, rel)
            if first != rel and rel not in self.also.get(disk, ()):
                self.also.setdefault(disk, []).append(rel)
