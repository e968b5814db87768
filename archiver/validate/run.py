"""One bag directory judged: the walk, then tag files, manifests and completeness, Oxum,
checksums and, for archiver packages, the profile and the package metadata rules."""
from __future__ import annotations

import gc
import os
from contextlib import contextmanager
from pathlib import Path

from archiver.bagit.rules import Declaration, FetchEntry, ManifestEntries
from archiver.fixity import HashJob, RemoteHashJob
from archiver.problem_codes import problem
from archiver.problems import WARNING, Problem
from archiver.validate.checksums import Checksums
from archiver.validate.manifests import Manifests
from archiver.validate.package_rules import PackageRules
from archiver.validate.report import ARCHIVER_PROFILE_ID, BagReport, Parsed, Progress
from archiver.validate.tagfiles import TagFiles
from archiver.validate.walk import Tree, scan


class BagRun(TagFiles, Manifests, Checksums, PackageRules):
    """State for validating one bag directory: what was parsed, what was found."""

    def __init__(self, bag_dir: str, report: BagReport, jobs: int | None, progress: Progress | None,
                 executor=None):
        self.bag_dir = bag_dir
        self.report = report
        self.jobs = jobs
        self.executor = executor  # a cluster hashes the payload (archiver.executor); None: here
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
        # hashing started by the walk: (algorithms, job), fed every payload file it found
        self.early: tuple[list[str], HashJob | RemoteHashJob] | None = None
        self.trees: dict = {}  # the package metadata parsed, by bag path (package_metadata)

    def parsed(self) -> Parsed:
        return Parsed(self.decl.encoding, self.manifests, self.tag_manifests,
                      self.trees.get("metadata/premis.xml"), self.tree.temporaries)


def validate_archive(path: str, report: BagReport, profile, jobs, progress, record) -> None:
    from archiver.bagit.serialized import serialization_of, unpacked
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
        # unpacked into this machine's temporary folder, which no worker sees: hashed here
        validate_dir(archive.bag_dir, report, profile, jobs, progress, False,
                      serialization=archive.mime, archive_name=os.path.basename(path), archive_top=archive.top)


@contextmanager
def _collector_paused():
    """No cyclic garbage collection while one bag is judged: the walk and the results make
    tens of thousands of short-lived containers, freed by reference counting, and the collector
    would trace them again and again (8 ms of a 10,000-file validation) for cycles that are
    not there. Restored after the bag, cycles and all, whatever happened."""
    enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if enabled:
            gc.enable()


@_collector_paused()
def validate_dir(bag_dir: str, report: BagReport, profile, jobs, progress, record, *,
                  serialization=None, archive_name=None, archive_top=None, executor=None,
                  keep_parsed: bool = False) -> None:
    if record and not _recovered(bag_dir, report):
        return
    run = BagRun(bag_dir, report, jobs, progress, executor)
    try:
        # full mode: payload files are hashed as the walk finds them
        scan(bag_dir, run.tree, run.start_hashing if report.mode == "full" else None)
        run.walked()
        has_declaration = run.declaration()
        if not has_declaration:
            if not any(n.startswith("manifest-") for n in run.tree.tags):
                empty = not (run.tree.tags or run.tree.payload or run.tree.dirs)
                report.readable = False  # no bag found: a usage error (exit 2), not an invalid bag
                report.problems.append(problem("VALIDATE-NOT-A-BAG", "",
                                               "an empty folder: no bag found" if empty else
                                               "no bagit.txt and no manifest: this directory is not a bag"))
                return
            what = "a directory, not a file" if "bagit.txt" in run.tree.dirs else "missing"
            report.problems.append(problem("BAGIT-DECLARATION-MISSING", "bagit.txt",
                                           f"bagit.txt is {what}; tag files are read as UTF-8"))
        _check_dir(run, report, profile, record, serialization, archive_name, archive_top)
        if keep_parsed:
            report.parsed = run.parsed()
    finally:
        run.stop_hashing()


def _check_dir(run: BagRun, report: BagReport, profile, record, serialization, archive_name,
               archive_top) -> None:
    bag_dir = run.bag_dir
    report.problems += run.tree.problems + _temporaries(bag_dir, run.tree.temporaries)
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
    if run.info_value("Payload-Oxum") is not None:  # every mode, as bagit-python's
        report.checked.append("payload-oxum")
    run.oxum(fast=report.mode == "fast")
    if report.mode == "full":
        run.fixity()
        report.checked.append("checksums")
    declared = [v for k, v in run.bag_info if k.lower() == "bagit-profile-identifier"]
    report.archiver_package = ARCHIVER_PROFILE_ID in declared
    if report.archiver_package:
        from archiver.validate.profile import check_bag, report_package_profile
        if profile is None or profile.identifier != ARCHIVER_PROFILE_ID:
            report.problems += check_bag(report_package_profile(),
                                         run.facts(serialization, archive_name, archive_top))
            report.checked.append("report-package-profile")
        run.package_metadata()
        report.checked.append("package-metadata")
        from archiver.evidence import is_sealed
        if is_sealed(bag_dir):
            _check_seals(run, report)
    if profile is not None:
        from archiver.validate.profile import check_bag
        report.problems += check_bag(profile, run.facts(serialization, archive_name, archive_top))
        report.checked.append("profile")
    if record:
        _record(bag_dir, report)


# In validate, trust is not judged (the verifier decides it: `archiver verify --trust
# --signer`) and metadata may grow after a seal (recorded validations, deposits: the
# evidence report says whether its changes are only that, archiver.metadata.growth); every
# other evidence problem (payload or metadata rewritten, chain broken, bad signature or
# token) stands.
_EVIDENCE_WARNINGS = ("EVIDENCE-TSA-UNTRUSTED", "EVIDENCE-SIGNER-UNKNOWN")


def _check_seals(run: BagRun, report: BagReport) -> None:
    """A sealed archiver package: its evidence/ files are no unlisted tag files (the tag
    manifests cannot list what signs them), and its seals are verified, the payload
    comparison resting on the checksums just checked in full mode (the fast modes check no
    checksum, so the seal check hashes the payload itself: a seal is proven or it is not)."""
    from archiver.bagit.bag import SEAL_DIRECTORY
    from archiver.evidence import verify_package

    report.problems = [p for p in report.problems if not (
        p.code == "BAGIT-TAGMANIFEST-UNLISTED-FILE" and p.path.startswith(SEAL_DIRECTORY + "/"))]
    bag_dir = run.bag_dir
    evidence = verify_package(bag_dir, payload_checked=report.mode == "full",
                              package_id=run.info_value("External-Identifier"))
    warnings = _EVIDENCE_WARNINGS + (("EVIDENCE-METADATA-CHANGED",) if evidence.metadata_grown else ())
    report.problems += [Problem(p.code, p.path, p.message, WARNING) if p.code in warnings
                        else p for p in evidence.problems]
    report.evidence = evidence.statements
    report.checked.append("evidence")


def _recovered(bag_dir: str, report: BagReport) -> bool:
    """--record first finishes (or undoes) an update a dead run left in the package, so the
    verdict recorded is the verdict on the package as it now stands."""
    from archiver.package.record import package_lock, recover
    from archiver.problems import ArchiverError

    if not os.path.isfile(os.path.join(bag_dir, "metadata", "premis.xml")):
        return True
    try:
        with package_lock(Path(bag_dir)):
            recover(bag_dir)
    except (ArchiverError, OSError) as e:
        report.problems.append(problem("PACKAGE-UPDATE-INTERRUPTED", getattr(e, "path", bag_dir),
                                       getattr(e, "message", None) or str(e)))
        return False
    return True


def _temporaries(bag_dir: str, found: list[str]) -> list:
    """archiver's temporaries left in the tag area: not part of the bag (never listed, never
    deposited); an update that died past its commit point leaves the package between states."""
    if not found:
        return []  # the usual case: record (and lxml, which it brings) is not imported
    from archiver.package.record import PENDING_DIR, UPDATE_DIR, update_state

    problems = []
    for rel in found:
        state = update_state(bag_dir) if rel == UPDATE_DIR else None
        if state in ("committed", "running"):
            problems.append(problem(
                "PACKAGE-UPDATE-INTERRUPTED", rel,
                "another process is updating this package right now" if state == "running" else
                "an update of the package died while moving its files into place; the next "
                "record (archiver validate --record, or a deposit) completes it"))
        elif rel == PENDING_DIR:
            problems.append(problem(
                "PACKAGE-DEPOSIT-PENDING", rel,
                "a deposit sent this package but died before recording the receipt; the next "
                "deposit to that target finishes or finds it (not part of the bag)"))
        else:
            problems.append(problem("PACKAGE-TEMPORARY-LEFTOVER", rel,
                                    "a temporary file of a killed archiver run; not part of the "
                                    "bag, removed by the next record"))
    return problems


def _record(bag_dir: str, report: BagReport) -> None:
    """Append a PREMIS fixity-check (full mode) or validation event with the outcome."""
    if not report.archiver_package:
        report.problems.append(problem("VALIDATE-NOT-RECORDED", "",
                                       "not an archiver package (no report-package profile "
                                       "identifier): nothing recorded"))
        return
    from archiver.metadata.provenance import SOFTWARE, event, now
    from archiver.package.record import record_event

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
