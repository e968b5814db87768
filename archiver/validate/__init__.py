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
from collections.abc import Callable, Iterable, Iterator, Sequence

from archiver.package.store import expand_bags
from archiver.problem_codes import problem
from archiver.validate.report import ARCHIVER_PROFILE_ID, MODES, BagReport, Progress  # noqa: F401
from archiver.validate.run import validate_archive, validate_dir

__all__ = ["ARCHIVER_PROFILE_ID", "BagReport", "MODES", "validate", "validate_bag", "validate_each"]


def validate_bag(path: str | os.PathLike, *, mode: str = "full", profile=None, jobs: int | None = None,
                 progress: Progress | None = None, record: bool = False) -> BagReport:
    """Validate one bag (a directory or a serialized bag) and return its report.

    mode: "full" (everything, every checksum), "fast" (Payload-Oxum and completeness) or
    "completeness" (every file present and listed). `profile` is a path, a parsed JSON
    document or an archiver.validate.profile.Profile. `record=True` appends a PREMIS event with the
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
            validate_dir(path, report, loaded, jobs, progress, record)
        elif os.path.isfile(path):
            validate_archive(path, report, loaded, jobs, progress, record)
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
        from archiver.validate.profile import Profile, load_profile
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
    from archiver.validate.profile import ProfileError, load_profile
    try:
        loaded = load_profile(profile)
    except ProfileError as e:
        report.problems += e.problems
        return None
    report.profile = loaded.identifier or loaded.source
    return loaded
