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

    def payload_found(self, tree: Tree, rel: str) -> None:
        """The walk's callback in full mode: hash each payload file as the walk finds it,
        while the walk goes on and the manifests are still to be read.

        The algorithms come from the manifests' names (the top directory is listed before any
        payload file is met); fixity() later keeps only the files the manifests list (and
        hashes afresh should the parsed manifests disagree).
        """
        if self.early is None:
            algs = sorted({manifest_algorithm(n, "manifest-").lower() for n in tree.tags
                           if n.startswith("manifest-") and n.endswith(".txt") and "/" not in n}
                          & ALGORITHMS.keys())
            self.early = (algs, {}, hash_stream(algs, jobs=self.jobs, executor=self.executor)) if algs else ()
        if self.early:
            disk = tree.disk[rel]
            self.early[1][disk] = rel
            self.early[2].add(disk, tree.payload[rel])

    def walked(self) -> None:
        """The walk is over: the last files go to the hashers."""
        if self.early:
            self.early[2].finish()

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
        return self._hash(targets, algs, self.jobs, self.executor)

    def _hash(self, targets: dict[str, str], algs: list[str], jobs: int | None, executor=None) -> Iterable:
        job = hash_stream(algs, jobs=jobs, executor=executor)
        for disk, rel in targets.items():
            job.add(disk, self.tree.payload.get(rel, self.tree.tags.get(rel, 0)))
        return job.finish()

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
