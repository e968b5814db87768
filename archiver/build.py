"""Build: one report in, one complete BagIt package out (or nothing at all).

Each package is written into a hidden temporary sibling directory of the store and renamed
into place at the end, so the store only ever holds complete packages. Durability is bought
once per batch (one sync for many packages) rather than one fsync per file.
"""
from __future__ import annotations

import hashlib
import os
import shutil
import uuid
from collections.abc import Callable, Iterable, Sequence
from concurrent.futures import ProcessPoolExecutor
from dataclasses import asdict, dataclass, field, replace
from datetime import datetime, timezone
from pathlib import Path

from archiver import __version__
from archiver.bag import (BAGIT_TXT, bag_info_text, human_size, payload_oxum, tag_bytes,
                          write_file, write_payload_manifests, write_tag_manifests)
from archiver.extract import apply_sidecar, extract_text
from archiver.extract.sidecar import SUFFIX as SIDECAR_SUFFIX, load_sidecar, sidecar_for
from archiver.fixity import DEFAULT_ALGORITHMS, check_algorithms, hash_bytes
from archiver.formats import identify
from archiver.metadata.dc import dc_document
from archiver.metadata.premis import premis_document
from archiver.metadata.report_json import report_dict, report_json_bytes
from archiver.model import Agent, Event, FileRecord, Report
from archiver.problems import ArchiverError

PROFILE_ID = "https://archiver.example.org/profiles/report-package/v1.json"
SOFTWARE = Agent(identifier=f"archiver-{__version__}", name="archiver", type="software",
                 version=__version__)
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
    status: str  # "built", "exists" or "failed"
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


def _now() -> str:
    return datetime.now(timezone.utc).replace(microsecond=0).isoformat().replace("+00:00", "Z")


def _event(type_: str, when: str, agents: Sequence[tuple[str, str]], objects: Sequence[str],
           detail: str | None = None, outcome_detail: str | None = None) -> Event:
    return Event(identifier=str(uuid.uuid4()), type=type_, date_time=when, outcome="success",
                 detail=detail, outcome_detail=outcome_detail, agents=tuple(agents),
                 objects=tuple(objects))


def _check_name(name: str, source: str) -> None:
    """Refuse names a manifest cannot carry safely; never rename silently."""
    if any(ord(c) < 32 or ord(c) == 127 for c in name):
        raise ArchiverError(source, "file name contains a control character (newline, tab...); "
                            "rename it before packaging", "INPUT-NAME")


def _read_report(path: Path) -> bytes:
    try:
        return path.read_bytes()
    except FileNotFoundError:
        raise ArchiverError(str(path), "no such file", "INPUT-MISSING") from None
    except IsADirectoryError:
        raise ArchiverError(str(path), "is a directory", "INPUT-UNREADABLE") from None
    except OSError as e:
        raise ArchiverError(str(path), f"cannot read: {e.strerror}", "INPUT-UNREADABLE") from None


def _metadata_events(report: Report, payload: list[FileRecord], sidecar_path: Path | None,
                     operator: Agent | None, when: str) -> list[Event]:
    exe = [(SOFTWARE.identifier, "executing program")]
    objects = [f.path for f in payload]
    events = []
    if report.captured:
        by = f" by {report.capturing_agent}" if report.capturing_agent else ""
        source = f" from {report.source_url}" if report.source_url else ""
        events.append(_event("cap", report.captured, [], objects,
                             detail=f"report captured{source}{by} (as stated in the sidecar)"))
    events.append(_event("mes", when, exe, objects,
                         detail="payload digests computed while copying: "
                         + ", ".join(sorted(payload[0].digests))))
    identified = [f for f in payload if f.pronom]
    if identified:
        events.append(_event("for", when, exe, [f.path for f in identified],
                             detail=f"Siegfried via pygfried; formats: "
                             + ", ".join(sorted({f.pronom for f in identified}))))
    extracted = sorted(k for k, v in report.provenance.items() if v != "sidecar")
    detail = "fields extracted from the report text: " + ", ".join(extracted)
    if sidecar_path:
        detail += f"; sidecar {sidecar_path.name} supplied: " + ", ".join(
            sorted(k for k, v in report.provenance.items() if v == "sidecar"))
    events.append(_event("mee", when, exe, objects, detail=detail))
    agents = exe + ([(operator.identifier, "implementer")] if operator else [])
    events.append(_event("cre", when, agents, objects,
                         detail="BagIt 1.0 package created with Dublin Core, PREMIS and report.json"))
    return events


def _bag_info(report: Report, package_id: str, payload: list[FileRecord], opts: BuildOptions,
              bag_size: int) -> list[tuple[str, str]]:
    title = report.title or report.source.name
    info = [
        ("Source-Organization", opts.source_organization or report.publisher or "unknown"),
        ("Bagging-Date", datetime.now(timezone.utc).date().isoformat()),
        ("Payload-Oxum", payload_oxum(f.size for f in payload)),
        ("Bag-Size", human_size(bag_size)),
        ("Bag-Software-Agent", f"archiver {__version__}"),
        ("External-Identifier", package_id),
        ("External-Description", title[:500]),
        ("BagIt-Profile-Identifier", PROFILE_ID),
    ]
    reserved = {k.lower() for k, _ in info}
    info += [(k, v) for k, v in opts.info if k.lower() not in reserved]
    return info


def _write_package(tmp: Path, data: bytes, report: Report, package_id: str,
                   sidecar_path: Path | None, opts: BuildOptions) -> BuildResult:
    name = report.source.name
    (tmp / "data").mkdir(parents=True)
    (tmp / "metadata").mkdir()
    payload_path = f"data/{name}"
    write_file(tmp / payload_path, data)
    fmt = identify(tmp / payload_path)
    record = FileRecord(path=payload_path, size=len(data),
                        digests=hash_bytes(data, opts.algorithms),
                        media_type=fmt.media_type, original_name=name, pronom=fmt.pronom)
    payload = [record]
    warnings = [f"{payload_path}: {fmt.warning}"] if fmt.warning else []

    operator = (Agent(identifier=f"operator-{opts.agent}", name=opts.agent, type="person")
                if opts.agent else None)
    when = _now()
    events = _metadata_events(report, payload, sidecar_path, operator, when)
    agents = [SOFTWARE] + ([operator] if operator else [])

    withhold = opts.withhold_commenter_names
    write_file(tmp / "metadata/report.json", report_json_bytes(
        report_dict(report, package_id, payload_path, withhold), report.source.name))
    write_file(tmp / "metadata/dc.xml", dc_document(report, package_id, withhold))
    write_file(tmp / "metadata/premis.xml",
               premis_document(payload, events, agents, f"archiver {__version__}"))

    write_file(tmp / "bagit.txt", BAGIT_TXT)
    write_payload_manifests(tmp, {f.path: f.digests for f in payload}, opts.algorithms)
    bag_size = record.size + tag_bytes(tmp)
    write_file(tmp / "bag-info.txt",
               bag_info_text(_bag_info(report, package_id, payload, opts, bag_size)))
    write_tag_manifests(tmp, opts.algorithms)
    return BuildResult(source=report.source.name, status="built", package_id=package_id,
                       files=len(payload), bytes=record.size, warnings=warnings)


def build_one(path: str | os.PathLike, opts: BuildOptions, run: str) -> BuildResult:
    """Write one package into a temporary directory of the store; the caller renames it."""
    path = Path(path)
    tmp = None
    try:
        _check_name(path.name, str(path))
        data = _read_report(path)
        sidecar_path = Path(opts.meta) if opts.meta else sidecar_for(path)
        sidecar = load_sidecar(sidecar_path) if sidecar_path else None
        report = apply_sidecar(extract_text(data, str(path)), sidecar)
        report = replace(report, source=replace(report.source, name=path.name))
        if sidecar and sidecar.get("withhold_commenter_names"):
            opts = replace(opts, withhold_commenter_names=True)
        package_id = package_id_for(hashlib.sha256(data).hexdigest())
        store = Path(opts.out)
        final = store / package_id
        if final.exists():
            return BuildResult(str(path), "exists", package_id, str(final),
                               "already packaged (same report bytes)")
        tmp = store / f".{package_id}.tmp-{run}-{uuid.uuid4().hex[:8]}"
        result = _write_package(tmp, data, report, package_id, sidecar_path, opts)
        return replace(result, source=str(path), path=str(tmp))
    except ArchiverError as e:
        if tmp is not None:
            shutil.rmtree(tmp, ignore_errors=True)
        return BuildResult(str(path), "failed", message=e.message)
    except BaseException:
        if tmp is not None:
            shutil.rmtree(tmp, ignore_errors=True)
        raise


def _sync(paths: Iterable[Path]) -> None:
    """Make a batch of written packages durable with one sync of their file system."""
    paths = list(paths)
    if not paths:
        return
    if hasattr(os, "syncfs"):
        fd = os.open(paths[0], os.O_RDONLY)
        try:
            os.syncfs(fd)
        finally:
            os.close(fd)
    else:
        os.sync()


def _fsync_dir(path: Path) -> None:
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def _commit(results: list[BuildResult], store: Path, durable: bool) -> None:
    """Rename each finished temporary package into place (after one sync if durable)."""
    pending = [r for r in results if r.status == "built" and r.path]
    if durable:
        _sync(Path(r.path) for r in pending)
    for r in pending:
        tmp, final = Path(r.path), store / r.package_id
        try:
            os.rename(tmp, final)
            r.path = str(final)
        except OSError:
            # the same bytes were packaged by another report of this run, or concurrently
            shutil.rmtree(tmp, ignore_errors=True)
            r.status, r.path, r.message = "exists", str(final), "already packaged (same report bytes)"
    if durable and pending:
        _fsync_dir(store)


def collect_reports(inputs: Iterable[str | os.PathLike]) -> tuple[list[Path], list[BuildResult]]:
    """Expand directories into their report files; missing paths become failed results."""
    reports, failed = [], []
    for item in inputs:
        path = Path(item)
        if path.is_dir():
            found = sorted(p for p in path.rglob("*") if p.is_file()
                           and not p.name.startswith(".") and not p.name.endswith(SIDECAR_SUFFIX))
            if not found:
                failed.append(BuildResult(str(path), "failed", message="directory holds no report files"))
            reports.extend(found)
        elif path.exists():
            reports.append(path)
        else:
            failed.append(BuildResult(str(path), "failed", message="no such file or directory"))
    return reports, failed


def build(inputs: Iterable[str | os.PathLike], out: str | os.PathLike = "packages", *,
          algorithms: Sequence[str] = DEFAULT_ALGORITHMS, meta: str | None = None,
          info: Iterable[tuple[str, str]] = (), agent: str | None = None,
          source_organization: str | None = None, withhold_commenter_names: bool = False,
          durable: bool = True, jobs: int | None = None,
          progress: Callable[[BuildResult], None] | None = None) -> list[BuildResult]:
    """Build one package per report into `out`. Never raises for a bad report: its result
    says "failed" with the reason; the others still build."""
    opts = BuildOptions(out=str(out), algorithms=check_algorithms(algorithms), meta=meta,
                        info=tuple(info), agent=agent, source_organization=source_organization,
                        withhold_commenter_names=withhold_commenter_names, durable=durable)
    store = Path(out)
    store.mkdir(parents=True, exist_ok=True)
    reports, results = collect_reports(inputs)
    for r in results:
        if progress:
            progress(r)
    run = uuid.uuid4().hex[:12]
    jobs = max(1, min(jobs or os.cpu_count() or 1, len(reports) or 1))
    pool = ProcessPoolExecutor(jobs) if jobs > 1 and len(reports) > 2 else None
    try:
        done = (pool.map(build_one, reports, [opts] * len(reports), [run] * len(reports),
                         chunksize=max(1, min(16, len(reports) // (jobs * 8) or 1)))
                if pool else (build_one(p, opts, run) for p in reports))
        batch: list[BuildResult] = []
        for result in done:
            batch.append(result)
            if len(batch) >= BATCH:
                _finish(batch, store, opts.durable, progress)
                results += batch
                batch = []
        _finish(batch, store, opts.durable, progress)
        results += batch
    finally:
        if pool:
            pool.shutdown(cancel_futures=True)
        # an interrupt or error leaves no partial package behind
        for leftover in store.glob(f".*.tmp-{run}-*"):
            shutil.rmtree(leftover, ignore_errors=True)
    return results


def _finish(batch: list[BuildResult], store: Path, durable: bool,
            progress: Callable[[BuildResult], None] | None) -> None:
    _commit(batch, store, durable)
    if progress:
        for r in batch:
            progress(r)
