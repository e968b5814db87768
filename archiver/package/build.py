"""Build: one report (a file, a saved page, a web archive, a folder) in, one complete BagIt
package out (or nothing at all). build_one is the orchestrator of the steps for one report.

Each package is written into a hidden temporary sibling directory of the store and renamed
into place at the end, so the store only ever holds complete packages. Durability is bought
once per batch (one sync for many packages) rather than one fsync per file.
"""
from __future__ import annotations

import hashlib
import json
import os
import shutil
import signal
import threading
import uuid
from collections.abc import Callable, Iterable, Sequence
from dataclasses import asdict, dataclass, field, replace
from datetime import datetime, timezone
from pathlib import Path, PurePosixPath

from archiver import __version__
from archiver.bagit.bag import (BAGIT_TXT, bag_info_text, human_size, manifest_files, payload_oxum,
                                tag_manifests_for)
from archiver.executor import open_executor, task_groups
from archiver.extract import apply_sidecar, extract_text, read_for_extraction
from archiver.extract.language import preload as preload_language_model
from archiver.extract.html import extract_html, missing_fields
from archiver.extract.inputs import LEFT_OUT, ReportInput, collect_inputs
from archiver.extract.sidecar import load_sidecar
from archiver.extract.warc import extract_wacz, extract_warc
from archiver.extract.xmlsafe import bounded, xml_safe
from archiver.fixity import BLOCK, DEFAULT_ALGORITHMS, check_algorithms, copy_and_hash
from archiver.package.formats import identify
from archiver.package.store import TEMPORARY, claim_run, clean_dead_runs, release_run
from archiver.metadata.dc import dc_terms, dc_xml
from archiver.metadata.mets import mets_document
from archiver.metadata.premis import premis_document
from archiver.metadata.provenance import SOFTWARE, build_events, capture_agent, now, source_date
from archiver.metadata.report_json import fits_schema, report_dict, report_json_bytes
from archiver.model import Agent, Attachment, FileRecord, Report
from archiver.problems import ArchiverError
from archiver.durable import (fsync_directory, move_into_place, step, sync_filesystem,
                              write_file)

PROFILE_ID = "https://archiver.example.org/profiles/report-package/v1.json"
BATCH = 64  # packages made durable together


@dataclass
class BuildOptions:
    out: str = "packages"
    algorithms: tuple[str, ...] = DEFAULT_ALGORITHMS
    meta: str | None = None
    info: tuple[tuple[str, str], ...] = ()
    agent: str | None = None
    source_organization: str | None = None
    withhold_commenter_names: bool = False
    durable: bool = True


@dataclass
class BuildResult:
    source: str
    status: str  # "built", "exists", "failed" or "left out" (not a report: a bag, say)
    package_id: str | None = None
    path: str | None = None
    message: str | None = None
    files: int = 0
    bytes: int = 0
    warnings: list[str] = field(default_factory=list)

    def to_dict(self) -> dict:
        return asdict(self)


def package_id_for(sha256: str) -> str:
    """Stable for the same report bytes, whatever the file is called."""
    return f"rpt-{sha256[:20]}"


def package_algorithms(algorithms: Sequence[str]) -> tuple[str, ...]:
    """The chosen algorithms, with sha256 first whatever the choice: the report-package
    profile requires it (and the package identifier is a sha256)."""
    algs = check_algorithms(algorithms)
    return algs if "sha256" in algs else ("sha256", *algs)


# bag-info labels archiver writes itself; --info may not set them
RESERVED_INFO = ("Source-Organization", "Bagging-Date", "Payload-Oxum", "Bag-Size",
                 "Bag-Software-Agent", "External-Identifier", "External-Description",
                 "BagIt-Profile-Identifier")


def check_info(info: Iterable[tuple[str, str]]) -> tuple[tuple[str, str], ...]:
    """Extra bag-info fields, refused when archiver writes the label itself or when the
    label could not be parsed back (RFC 8493 section 2.2.2)."""
    pairs = tuple(info)
    reserved = {k.lower(): k for k in RESERVED_INFO}
    for key, _ in pairs:
        if key.lower() in reserved:
            hint = " (use --source-organization)" if key.lower() == "source-organization" else ""
            raise ValueError(f"--info cannot set {reserved[key.lower()]}: archiver writes it{hint}")
        if not key or ":" in key or key != key.strip() or any(ord(c) < 32 for c in key):
            raise ValueError(f"--info label {key!r} is not a valid bag-info label")
    for key, value in pairs:  # written as given, or not at all: never silently rejoined
        if any(c in value for c in "\r\n"):
            raise ValueError(f"--info {key}: the value holds a line break; a bag-info value is one "
                             "line (RFC 8493 section 2.2.2)")
    return pairs


def package_id_for_files(files: Sequence[tuple[str, str]]) -> str:
    """A single file: its sha256, as for any report. Several: the sha256 of the sorted
    (relative path, sha256) list as JSON, so the same files under the same names give the
    same package wherever the folder lies."""
    if len(files) == 1:
        return package_id_for(files[0][1])
    listing = json.dumps(sorted(files), ensure_ascii=False, separators=(",", ":"))
    return package_id_for(hashlib.sha256(listing.encode("utf-8")).hexdigest())


def _bag_info(report: Report, package_id: str, payload: list[FileRecord], opts: BuildOptions,
              bag_size: int) -> list[tuple[str, str]]:
    title = report.title or report.source.name
    info = [
        ("Source-Organization", opts.source_organization or report.publisher or "unknown"),
        ("Bagging-Date", (source_date() or datetime.now(timezone.utc)).date().isoformat()),
        ("Payload-Oxum", payload_oxum(f.size for f in payload)),
        ("Bag-Size", human_size(bag_size)),
        ("Bag-Software-Agent", f"archiver {__version__}"),
        ("External-Identifier", package_id),
        ("External-Description", title[:500]),
        ("BagIt-Profile-Identifier", PROFILE_ID),
    ]
    return info + list(opts.info)


def _copy_payload(inp: ReportInput, tmp: Path, algorithms: Sequence[str]
                  ) -> tuple[list[FileRecord], list[str]]:
    """Copy every file of the input into data/ (one read for copy and digests) and identify
    its format. Returns the records and the extension/format mismatches."""
    records, mismatches = [], []
    buffer = _copy_buffer()
    for rel in inp.files:
        src, dst = inp.root / rel, tmp / "data" / rel
        if "/" in rel:  # data/ itself is made with the package
            dst.parent.mkdir(parents=True, exist_ok=True)
        step(f"copy {src} -> {dst}")
        try:
            size, digests = copy_and_hash(src, dst, algorithms, buffer)
        except OSError as e:
            if e.filename == os.fspath(dst):  # the store's side: full, read-only, gone
                raise
            if isinstance(e, FileNotFoundError):
                raise ArchiverError(str(src), "no such file", "INPUT-MISSING") from None
            if isinstance(e, IsADirectoryError):
                raise ArchiverError(str(src), "is a directory", "INPUT-UNREADABLE") from None
            raise ArchiverError(str(src), f"cannot read: {e.strerror}", "INPUT-UNREADABLE") from None
        fmt = identify(dst)
        record = FileRecord(path=f"data/{rel}", size=size, digests=digests,
                            media_type=fmt.media_type, original_name=rel, pronom=fmt.pronom)
        records.append(record)
        if fmt.warning:
            found = ", ".join(x for x in (fmt.name, fmt.pronom, fmt.media_type) if x)
            mismatches.append(f"{record.path}: {fmt.warning}: the content is {found}")
    return records, mismatches


_local = threading.local()


def _copy_buffer() -> bytearray:
    """This thread's copy buffer: one per process (or per thread of a cluster's worker), not
    one per package, which cost an mmap, a munmap and page faults every time (128 KiB)."""
    buffer = getattr(_local, "buffer", None)
    if buffer is None:
        buffer = _local.buffer = bytearray(BLOCK)
    return buffer


def _extract(inp: ReportInput, path: Path) -> Report:
    if inp.kind == "warc":
        return extract_warc(path, inp.report)
    if inp.kind == "wacz":
        return extract_wacz(path, inp.report)
    data, note = read_for_extraction(path)
    report = extract_html(data, inp.report) if inp.kind == "html" else extract_text(data, inp.report)
    if note:
        report = replace(report, warnings=[*report.warnings, note])
    return report


def _write_package(tmp: Path, inp: ReportInput, payload: list[FileRecord], report: Report,
                   package_id: str, sidecar_path: Path | None, opts: BuildOptions,
                   mismatches: list[str]) -> BuildResult:
    report_path = f"data/{inp.report}"
    operator = (Agent(identifier=f"operator-{opts.agent}", name=opts.agent, type="person")
                if opts.agent else None)
    capturer = capture_agent(report)
    notes = list(report.warnings)
    if inp.kind != "text":
        missing = missing_fields(report)
        if missing:
            notes.append("not found in the page: " + ", ".join(missing))
    if inp.skipped:
        notes.append("hidden files left out: " + ", ".join(inp.skipped))
    when = now()
    events = build_events(report, payload, report_path, sidecar_path, operator, capturer,
                          when, mismatches, notes, package_id=package_id)
    agents = [SOFTWARE] + [a for a in (operator, capturer) if a]

    withhold = opts.withhold_commenter_names
    software = f"archiver {__version__}"
    dc = dc_terms(report, package_id, withhold)
    tags = {  # every tag file, kept in memory so the tag manifests need not read them back
        "bagit.txt": BAGIT_TXT,
        "metadata/report.json": report_json_bytes(
            report_dict(report, package_id, report_path, withhold), inp.report),
        "metadata/dc.xml": dc_xml(dc),
        "metadata/premis.xml": premis_document(payload, events, agents, software),
        "metadata/mets.xml": mets_document(package_id, report.title, dc, payload, when, software),
    }
    tags.update(manifest_files({f.path: f.digests for f in payload}, opts.algorithms))
    payload_bytes = sum(f.size for f in payload)
    bag_size = payload_bytes + sum(map(len, tags.values()))
    tags["bag-info.txt"] = bag_info_text(_bag_info(report, package_id, payload, opts, bag_size))
    tags.update(tag_manifests_for(tags, opts.algorithms))
    base = str(tmp)
    for rel, data in tags.items():
        write_file(f"{base}/{rel}", data)
    return BuildResult(source=inp.source, status="built", package_id=package_id,
                       files=len(payload), bytes=payload_bytes, warnings=mismatches + notes)


# what every package has at its top (a rename puts a package in place whole, so a package
# without one of these was damaged or emptied after it was built)
WHOLE = ("bagit.txt", "bag-info.txt", "data", "metadata", "manifest-sha256.txt", "tagmanifest-sha256.txt")


def _not_whole(path: Path) -> str | None:
    """What a package already in the store lacks of WHOLE (or of its premis.xml), if
    anything: a cheap look, not a validation, so that a store of thousands rebuilds fast."""
    try:
        names = set(os.listdir(path))
    except NotADirectoryError:
        return "directory: it is a file"
    except OSError as e:
        return f"readable directory: {e.strerror or e}"
    missing = [n for n in WHOLE if n not in names]
    if missing:
        return ", ".join(missing)
    if not os.path.isfile(path / "metadata" / "premis.xml"):
        return "metadata/premis.xml"
    return None


def _titled(report: Report, name: str) -> Report:
    """A record needs a title (dcterms:title; the package profile requires it): a report
    without one (a page with no title, a text with no words) is titled by its file name,
    and the package says so."""
    if report.title and report.title.strip():
        return report
    return replace(report, title=name, provenance={**report.provenance, "title": "file-name"},
                   warnings=[*report.warnings, "no title found: the file name stands for it"])


def _message(inp: ReportInput, e: ArchiverError) -> str:
    """The error's message, naming the file inside the input when it is not the input itself."""
    own = {inp.source, str(inp.root / inp.report)} | ({inp.report} if len(inp.files) == 1 else set())
    return e.message if e.path in own else f"{e.path}: {e.message}"


def build_one(inp: ReportInput, opts: BuildOptions, run: str) -> BuildResult:
    """Write one package into a temporary directory of the store; the caller renames it."""
    tmp = None
    try:
        sidecar_path = Path(opts.meta) if opts.meta else inp.sidecar
        sidecar = load_sidecar(sidecar_path) if sidecar_path else None
        if sidecar and sidecar.get("withhold_commenter_names"):
            opts = replace(opts, withhold_commenter_names=True)
        store = Path(opts.out)
        tmp = store / f"{TEMPORARY}{run}-{uuid.uuid4().hex[:8]}"
        step(f"mkdir {tmp}")
        os.mkdir(tmp)
        os.mkdir(tmp / "data")
        os.mkdir(tmp / "metadata")
        payload, mismatches = _copy_payload(inp, tmp, opts.algorithms)
        # sha256 is always among the algorithms (package_algorithms)
        package_id = package_id_for_files([(f.original_name, f.digests["sha256"]) for f in payload])
        final = store / package_id
        if os.path.lexists(final):
            shutil.rmtree(tmp, ignore_errors=True)
            missing = _not_whole(final)
            if missing:  # never replaced: what is left of it may be all there is
                return BuildResult(inp.source, "failed", package_id, str(final),
                                   f"{final} exists but is not a whole package (no {missing}); "
                                   "left as it is: validate it, and move it aside to build again")
            return BuildResult(inp.source, "exists", package_id, str(final),
                               "already packaged (same report bytes)")
        # extracted from the copy: the metadata describes exactly the bytes packaged
        name = PurePosixPath(inp.report).name
        report = _titled(bounded(xml_safe(apply_sidecar(_extract(inp, tmp / "data" / inp.report),
                                                        sidecar))), name)
        by_path = {f.path: f for f in payload}
        main = by_path[f"data/{inp.report}"]
        report = replace(report, source=replace(report.source, name=name, size=main.size,
                                                media_type=main.media_type),
                         attachments=[Attachment(path=f.path, size=f.size, media_type=f.media_type)
                                      for f in payload if f is not main])
        result = _write_package(tmp, inp, payload, report, package_id, sidecar_path, opts,
                                mismatches)
        return replace(result, path=str(tmp))
    except BaseException as e:  # no half-written package stays behind, whatever happened
        if tmp is not None:
            shutil.rmtree(tmp, ignore_errors=True)
        if isinstance(e, ArchiverError):
            return BuildResult(inp.source, "failed", message=_message(inp, e))
        if isinstance(e, OSError):  # the store's disk: full, read-only, gone
            return BuildResult(inp.source, "failed", message=f"cannot write the package in "
                               f"{opts.out}: {e.strerror or e}")
        if isinstance(e, Exception):  # a bug: this report fails, the others still build
            return BuildResult(inp.source, "failed", message=f"unexpected error, please report "
                               f"it: {type(e).__name__}: {e}")
        raise


def _commit(results: list[BuildResult], store: Path, durable: bool) -> None:
    """Move each finished temporary package into place: one sync first if durable, then the
    renames, then one fsync of the store directory (so the names are durable too)."""
    pending = [r for r in results if r.status == "built" and r.path]
    if durable and pending:
        sync_filesystem(store)
    for r in pending:
        final = store / r.package_id
        if move_into_place(Path(r.path), final):
            r.path = str(final)
        else:  # the same bytes were packaged by another input of this run, or concurrently
            r.status, r.path, r.message = "exists", str(final), "already packaged (same report bytes)"
    if durable and pending:
        fsync_directory(store)


def collect_reports(inputs: Iterable[str | os.PathLike], meta: str | None = None,
                    store: str | os.PathLike | None = None
                    ) -> tuple[list[ReportInput], list[BuildResult]]:
    """Expand what was named into reports (see archiver.extract.inputs for the folder rule);
    paths that cannot be packaged become failed results. The store is never an input."""
    reports, errors = collect_inputs(inputs, meta, exclude=[store] if store else [])
    return reports, [BuildResult(e.path, "left out" if e.code == LEFT_OUT else "failed",
                                 message=e.message) for e in errors]


def build(inputs: Iterable[str | os.PathLike], out: str | os.PathLike = "packages", *,
          algorithms: Sequence[str] = DEFAULT_ALGORITHMS, meta: str | None = None,
          info: Iterable[tuple[str, str]] = (), agent: str | None = None,
          source_organization: str | None = None, withhold_commenter_names: bool = False,
          durable: bool = True, jobs: int | None = None,
          progress: Callable[[BuildResult], None] | None = None,
          started: Callable[[int], None] | None = None, cluster=None) -> list[BuildResult]:
    """Build one package per report into `out`. Never raises for a bad report: its result
    says "failed" with the reason; the others still build. A store that cannot be made or
    written raises ArchiverError before anything is read. `started` is told how many
    results are coming once the inputs are known; `progress` gets each result.

    `cluster` (an address such as tcp://HOST:8786, or archiver.executor.connect's result)
    builds on a Dask cluster sharing this file system: workers write the temporary packages,
    this process renames them into the store; a cluster that fails raises ClusterError and
    leaves no partial package."""
    opts = BuildOptions(out=str(out), algorithms=package_algorithms(algorithms), meta=meta,
                        info=check_info(info), agent=agent, source_organization=source_organization,
                        withhold_commenter_names=withhold_commenter_names, durable=durable)
    store = Path(out)
    if not str(out).strip():
        raise ArchiverError(str(out), "the store (--out) needs a name", "STORE-UNUSABLE")
    try:
        store.mkdir(parents=True, exist_ok=True)
        if not os.access(store, os.W_OK | os.X_OK):
            raise PermissionError(13, "Permission denied")
    except OSError as e:
        raise ArchiverError(str(store), f"cannot use as the store: {e.strerror or e}",
                            "STORE-UNUSABLE") from None
    reports, results = collect_reports(inputs, meta, store)
    if started:
        started(len(reports) + len(results))
    for r in results:
        if progress:
            progress(r)
    run = uuid.uuid4().hex[:12]
    claim = claim_run(store, run)
    clean_dead_runs(store)  # temporaries of builds that were killed
    jobs = max(1, min(jobs or os.cpu_count() or 1, len(reports) or 1))
    # Reports are always built in worker processes, so this process never loads Siegfried
    # (see archiver.executor.local.pool_context); one worker costs a fork, a few milliseconds.
    if reports and cluster is None:
        preload_language_model()  # once here, shared by every forked worker
        fits_schema({})  # report.json's compiled schema too (else compiled in each worker)
    try:
        pool = open_executor(cluster, jobs) if reports else None
    except BaseException:
        release_run(store, run, claim)
        raise
    restore = _stop_on_sigterm() if pool else None
    try:
        done = _submit(pool, reports, opts, run, store) if pool else ()
        batch: list[BuildResult] = []
        for result in done:
            batch.append(result)
            if len(batch) >= BATCH:
                _finish(batch, store, opts.durable, progress)
                results += batch
                batch = []
        _finish(batch, store, opts.durable, progress)
        results += batch
        if pool:
            pool.close()
    except BaseException:
        if pool:
            pool.terminate()  # an interrupt stops the workers now, mid-package if need be
        raise
    finally:
        if pool:
            pool.join()
        if restore is not None:
            signal.signal(signal.SIGTERM, restore)
        release_run(store, run, claim)  # an interrupt or error leaves no partial package behind
    return results


def _stop_on_sigterm():
    """SIGTERM (kill, timeout, systemd) stops the build as Ctrl-C does: the workers are
    terminated and their unfinished packages removed. Returns the handler to restore, or
    None where signals cannot be handled (not the main thread)."""
    if threading.current_thread() is not threading.main_thread():
        return None

    def stop(signum, frame):
        raise SystemExit(128 + signum)

    return signal.signal(signal.SIGTERM, stop)


def _submit(pool, reports: list[ReportInput], opts: BuildOptions, run: str, store: Path):
    """Every report's build started on the executor; its results in order. A cluster's
    workers are checked to see the reports and to write into the store, and are given
    absolute paths (their working directory is not this one), named back as given here."""
    if not pool.remote:
        return pool.map(build_one, reports, args=(opts, run), per_task=16)
    pool.check_shared(read=[str(inp.root / inp.report) for inp in reports], write=[str(store)])
    absolute = replace(opts, out=os.path.abspath(opts.out),
                       meta=opts.meta and os.path.abspath(opts.meta))
    work = [replace(inp, root=inp.root.absolute(), sidecar=inp.sidecar and inp.sidecar.absolute())
            for inp in reports]
    groups = [work[a:b] for a, b in task_groups([0] * len(work), BATCH, pool.slots, 0)]
    done = (r for group in pool.map(_build_group, groups, args=(absolute, run), per_task=1) for r in group)
    return (_as_given(result, inp, absolute.out, opts.out) for inp, result in zip(reports, done))


def _build_group(group: list[ReportInput], opts: BuildOptions, run: str) -> list[BuildResult]:
    """A cluster's task: a group of packages, made durable by the worker that wrote them (the
    client's sync reaches only what its own machine wrote) before the client renames them."""
    results = [build_one(inp, opts, run) for inp in group]
    if opts.durable and any(r.status == "built" for r in results):
        sync_filesystem(Path(opts.out))
    return results


def _as_given(result: BuildResult, inp: ReportInput, absolute_out: str, out: str) -> BuildResult:
    if result.status == "exists":
        result.path = str(Path(out) / result.package_id)
    if result.message:  # paths inside the input, then the store's
        root, given = str(inp.root.absolute()), str(inp.root)
        inside = "" if given == "." else given + os.sep  # Path(".") / name is just name
        result.message = (result.message.replace(root + os.sep, inside)
                          .replace(root, given).replace(absolute_out, out))
    return result


def _finish(batch: list[BuildResult], store: Path, durable: bool,
            progress: Callable[[BuildResult], None] | None) -> None:
    _commit(batch, store, durable)
    if progress:
        for r in batch:
            progress(r)
