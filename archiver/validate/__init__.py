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
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import replace

from archiver.executor import ClusterError, LocalPool, connect
from archiver.executor.local import can_fork
from archiver.package.store import expand_bags
from archiver.paths import path_list
from archiver.problem_codes import problem
from archiver.validate.report import ARCHIVER_PROFILE_ID, MODES, BagReport, Progress  # noqa: F401
from archiver.validate.run import validate_archive, validate_dir

__all__ = ["ARCHIVER_PROFILE_ID", "BagReport", "MODES", "validate", "validate_bag", "validate_each"]


def validate_bag(path: str | os.PathLike, *, mode: str = "full", profile=None, jobs: int | None = None,
                 progress: Progress | None = None, record: bool = False, executor=None,
                 keep_parsed: bool = False) -> BagReport:
    """Validate one bag (a directory or a serialized bag) and return its report.

    mode: "full" (everything, every checksum), "fast" (Payload-Oxum and completeness) or
    "completeness" (every file present and listed). `profile` is a path, a parsed JSON
    document or an archiver.validate.profile.Profile. `record=True` appends a PREMIS event with the
    outcome to an archiver package's metadata/premis.xml (tag manifests rewritten, payload
    untouched). `executor` (a cluster, see archiver.executor) hashes the payload of a bag
    directory instead of this machine. `keep_parsed=True` (a bag directory) hands back in
    `report.parsed` what was parsed (manifests, premis.xml), for a caller that acts next.
    """
    if mode not in MODES:
        raise ValueError(f"mode must be one of {', '.join(MODES)}, not {mode!r}")
    path = os.fspath(path)
    report = BagReport(path=path, mode=mode)
    try:
        loaded = _load_profile(profile, report)
        if os.path.isdir(path):
            validate_dir(path, report, loaded, jobs, progress, record, executor=executor,
                         keep_parsed=keep_parsed)
        elif os.path.isfile(path):
            validate_archive(path, report, loaded, jobs, progress, record)
        else:
            report.readable = False
            report.problems.append(problem("VALIDATE-PATH-MISSING", path,
                                           "no such file or directory" if not os.path.lexists(path)
                                           else "neither a directory nor a file"))
    except ClusterError:  # the cluster failed, not the bag: no verdict at all
        raise
    except Exception as e:  # never raise on what a bag holds: report it instead
        report.problems.append(problem("VALIDATE-INTERNAL-ERROR", "", f"{type(e).__name__}: {e}"))
    return report


def validate(paths: str | os.PathLike | Iterable[str | os.PathLike], **kw) -> list[BagReport]:
    """Validate each bag (a folder of bags, such as a store, stands for every bag in it);
    a profile given as a path is loaded once for all of them. Keywords as validate_each."""
    return list(validate_each(expand_bags(paths), **kw))


def validate_each(paths: str | os.PathLike | Sequence[str | os.PathLike], *, mode: str = "full", profile=None,
                  jobs: int | None = None, record: bool = False,
                  progress: Callable[[str], Progress | None] | None = None,
                  cluster=None) -> Iterator[BagReport]:
    """Validate the bags one after another, yielding each report in order as it is done.

    With more bags than jobs (a store of thousands of small packages), bags are validated
    side by side in worker processes, each hashing its own files; with fewer, one at a time,
    each hashed by every core. `progress(path)` may give a progress callback per bag (used
    one at a time only). `--record` runs one at a time: an interrupted worker must not be
    killed between the staged writes of an event and their renames.

    `cluster` (an address such as tcp://HOST:8786, or archiver.executor.connect's result) runs
    the same work on a Dask cluster sharing this file system: bags side by side on the
    workers, or one bag's files hashed by them; the events of --record are written here.
    A cluster that fails raises ClusterError.
    """
    if profile is not None and not isinstance(profile, dict):
        from archiver.validate.profile import Profile, load_profile
        if not isinstance(profile, Profile):
            profile = load_profile(profile)  # ProfileError: a usage error for the caller
    paths = [os.fspath(p) for p in path_list(paths)]
    remote = connect(cluster)
    try:
        if remote is not None:
            remote.check_shared(read=paths)
        jobs = remote.slots if remote else max(1, jobs or os.cpu_count() or 1)
        if jobs == 1 or record or len(paths) <= jobs or not (remote or can_fork()):
            for p in paths:
                bar = progress(p) if progress else None
                yield validate_bag(p, mode=mode, profile=profile, jobs=jobs, progress=bar, record=record,
                                   executor=remote)
                if bar is not None and hasattr(bar, "close"):
                    bar.close()
            return
        yield from _side_by_side(remote or LocalPool(jobs), paths, mode, profile)
    finally:
        if remote is not None:
            remote.join()


def _side_by_side(pool, paths: list[str], mode: str, profile) -> Iterator[BagReport]:
    """Whole bags validated by the executor's workers, each hashing its own files; a cluster's
    workers are given absolute paths (their working directory is not this one)."""
    named = [os.path.abspath(p) for p in paths] if pool.remote else paths
    try:
        done = pool.map(_validate_one, named, args=(mode, profile), per_task=8, unseen=_unseen)
        for given, report in zip(paths, done):
            yield _as_named(report, given)
        pool.close()
    except BaseException:
        pool.terminate()
        raise
    finally:
        if not pool.remote:
            pool.join()


def _validate_one(path: str, mode: str, profile) -> BagReport:
    return validate_bag(path, mode=mode, profile=profile, jobs=1)


def _unseen(path: str, report: BagReport) -> str | None:
    return path if any(p.code == "VALIDATE-PATH-MISSING" for p in report.problems) else None


def _as_named(report: BagReport, given: str) -> BagReport:
    """The report of a bag validated under its absolute path, named as the caller named it."""
    if report.path != given:
        absolute = report.path
        report.path = given
        report.problems = [replace(p, path=given) if p.path == absolute else p for p in report.problems]
    return report


def _load_profile(profile, report: BagReport):
    if profile is None:
        return None
    from archiver.validate.profile import ProfileError, load_profile
    try:
        loaded = load_profile(profile)
    except ProfileError as e:
        report.problems += e.problems
        return None
    report.profile = loaded.identifier or loaded.source
    return loaded
