"""The command line: parses options, calls one library function, renders its result."""
from __future__ import annotations

import json
import os
import sys

import click

from archiver import __version__


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(__version__, prog_name="archiver")
def main() -> None:
    """Build, validate and deposit preservation packages of reports."""


# Commands: build (below), validate, deposit. Each parses options, calls the library, renders.


def _key_value(ctx, param, values):
    pairs = []
    for value in values:
        key, sep, val = value.partition("=")
        if not sep or not key.strip():
            raise click.BadParameter(f"expected KEY=VALUE, got {value!r}")
        pairs.append((key.strip(), val.strip()))
    return tuple(pairs)


def _connect(option: str | None):
    """--cluster, else `scheduler` in [cluster] of archiver.toml ("local": this machine);
    the connected cluster, or None. A cluster that does not answer is exit 2."""
    from archiver.config import load_config
    from archiver.executor import ClusterError, connect
    from archiver.problems import ArchiverError

    try:
        section = load_config().get("cluster", {})
        address = option or section.get("scheduler")
        return connect(address, timeout=float(section.get("timeout", 10))) if address else None
    except ClusterError as e:
        _cluster_failed(e)
    except (ArchiverError, ValueError) as e:
        raise click.UsageError(str(e))


def _cluster_failed(e) -> None:
    click.echo(f"error: {e.path}: {e.message}", err=True)
    sys.exit(2)


_CLUSTER_HELP = ("Run on the Dask cluster of this scheduler (tcp://HOST:8786; default: [cluster] "
                 "scheduler in archiver.toml; 'local': this machine). Workers share this file system.")


def _printable(text) -> str:
    """A name as one line of output: control characters (a newline in a file name) escaped."""
    text = str(text)
    if not any(ord(c) < 32 or ord(c) == 127 for c in text):
        return text
    return "".join(repr(c)[1:-1] if ord(c) < 32 or ord(c) == 127 else c for c in text)


def _progress_bar(total: int, unit: str, quiet: bool):
    """A tqdm bar on stderr when it is a terminal; otherwise None."""
    if quiet or total < 2 or not sys.stderr.isatty():
        return None
    from tqdm import tqdm
    return tqdm(total=total, unit=unit, file=sys.stderr, mininterval=0.25, leave=False)


@main.command()
@click.argument("reports", nargs=-1, required=True, type=click.Path())
@click.option("--out", "out", default="packages", show_default=True, type=click.Path(file_okay=False),
              help="Store where packages are written.")
@click.option("--meta", type=click.Path(dir_okay=False),
              help="Sidecar metadata JSON for a single report (default: REPORT.meta.json beside it).")
@click.option("--checksum", "checksums", multiple=True, metavar="ALG",
              help="Payload/tag manifest algorithm; repeat for several (default: sha256 and sha512).")
@click.option("--info", "info", multiple=True, metavar="KEY=VALUE", callback=_key_value,
              help="Extra bag-info.txt field; repeatable.")
@click.option("--agent", help="Operator recorded as the implementer in PREMIS (default: config).")
@click.option("--source-organization", help="bag-info Source-Organization (default: config or publisher).")
@click.option("--withhold-commenter-names", is_flag=True,
              help="Leave commenters' names out of the package metadata (the original keeps them).")
@click.option("--no-fsync", is_flag=True, help="Skip the durability sync (scratch builds).")
@click.option("--jobs", "-j", type=click.IntRange(1), help="Parallel builds (default: CPU count).")
@click.option("--cluster", metavar="ADDRESS", help=_CLUSTER_HELP)
@click.option("--json", "as_json", is_flag=True, help="Print results as one JSON document.")
@click.option("-q", "--quiet", is_flag=True, help="Print only failures and the summary.")
@click.option("-v", "--verbose", is_flag=True, help="Also print warnings for each package.")
@click.option("--seal", "seal_built", is_flag=True,
              help="Seal the packages built (key and authorities from [evidence] of archiver.toml).")
def build(reports, out, meta, checksums, info, agent, source_organization,
          withhold_commenter_names, no_fsync, jobs, cluster, as_json, quiet, verbose, seal_built):
    """Package each REPORT (file or directory of reports) as a BagIt bag."""
    from archiver.package.build import build as run_build, check_info
    from archiver.config import load_config
    from archiver.fixity import DEFAULT_ALGORITHMS, check_algorithms
    from archiver.problems import ArchiverError

    try:
        algorithms = check_algorithms(checksums or DEFAULT_ALGORITHMS)
        check_info(info)
        config = load_config().get("build", {})
    except (ValueError, ArchiverError) as e:
        raise click.UsageError(str(e))
    if meta and len(reports) > 1:
        raise click.UsageError("--meta names the sidecar of one report; give a single REPORT")
    sealing = _seal_setup(None, (), None, False) if seal_built else None
    bar = None

    def started(total):
        nonlocal bar
        bar = _progress_bar(total, "report", quiet or as_json)

    def progress(result):
        if bar:
            bar.update(1)
        if as_json:
            return
        line = _build_line(result, verbose)
        if line and (result.status in ("failed", "left out") or not quiet):
            err = result.status in ("failed", "left out")
            (bar.write if bar else click.echo)(line, file=sys.stderr if err else sys.stdout)

    remote = _connect(cluster)
    try:
        results = run_build(reports, out, algorithms=algorithms, meta=meta, info=info,
                            agent=agent or config.get("agent"),
                            source_organization=source_organization or config.get("source_organization"),
                            withhold_commenter_names=withhold_commenter_names,
                            durable=not no_fsync, jobs=jobs, progress=progress, started=started,
                            cluster=remote)
    except ArchiverError as e:  # the store itself is unusable, or the cluster failed
        if bar:
            bar.close()
        _cluster_failed(e)
    finally:
        if remote is not None:
            remote.join()
    if bar:
        bar.close()
    counts = {s: sum(r.status == s for r in results) for s in ("built", "exists", "failed")}
    if any(r.status == "left out" for r in results):  # only then: the summary's keys stay as they were
        counts["left out"] = sum(r.status == "left out" for r in results)
    built = [r.path for r in results if r.status == "built"]
    sealed, seals = 0, []
    if sealing and built:
        sealed, seals = _run_seal(built, *sealing, renew=False, as_json=as_json, quiet=quiet)
    if as_json:
        doc = {"results": [r.to_dict() for r in results], "summary": counts}
        if sealing:
            doc["seals"] = [r.to_dict() for r in seals]
        click.echo(json.dumps(doc, ensure_ascii=False, indent=2))
    else:
        click.echo(f"{counts['built']} built, {counts['exists']} already packaged, "
                   f"{counts['failed']} failed" + (f", {counts['left out']} left out"
                                                   if "left out" in counts else ""))
    sys.exit(1 if counts["failed"] or sealed else 0)


def _build_line(result, verbose: bool) -> str:
    if result.status == "failed":
        return _printable(f"error: {result.source}: {result.message}")
    if result.status == "left out":
        return _printable(f"warning: {result.source}: {result.message}")
    line = f"{result.status:7} {result.package_id}  {_printable(result.source)}"
    if result.status == "exists":
        line += "  (already packaged)"
    if verbose and result.warnings:
        line += "".join(f"\n  warning: {_printable(w)}" for w in result.warnings)
    return line


@main.command()
@click.argument("packages", nargs=-1, required=True, type=click.Path(exists=True, file_okay=False))
@click.option("--to", "target", metavar="TARGET",
              help="ocfl:PATH, s3://BUCKET/PREFIX, sword:URL or a target named in archiver.toml "
                   "(default: [deposit] default, else ocfl:repository).")
@click.option("--collection", help="SWORD collection to deposit into (title or IRI).")
@click.option("--dry-run", is_flag=True, help="Validate and say what would be deposited; write nothing.")
@click.option("--jobs", "-j", type=click.IntRange(1),
              help="Packages deposited side by side, where the target allows it (OCFL; default: CPU count).")
@click.option("--json", "as_json", is_flag=True, help="Print results as one JSON document.")
@click.option("-q", "--quiet", is_flag=True, help="Print only failures and the summary.")
def deposit(packages, target, collection, dry_run, jobs, as_json, quiet):
    """Deposit each PACKAGE (a bag, or a folder of bags) into a repository, verified.

    Credentials come from archiver.toml or the environment, never from the command line.
    Exit status: 0 all deposited (or already there), 1 any failed or refused, 2 bad usage or
    configuration.
    """
    from archiver.deposit import ConfigurationError, deposit as run_deposit

    def progress(result):
        if as_json or (quiet and result.ok):
            return
        name = result.package_id or result.package
        if result.status in ("failed", "refused"):
            click.echo(_printable(f"error: {name}: {result.status}: {result.message}"), err=True)
            for problem in result.problems:
                where = f"{problem.get('path')}: " if problem.get("path") else ""
                click.echo(f"  {problem.get('code')}: {_printable(where + str(problem.get('message')))}",
                           err=True)
            return
        line = f"{result.status:10} {name}"
        if result.remote_id:
            line += f" -> {result.remote_id}" + (f" {result.version}" if result.version else "")
        line += (f"  {result.bytes} bytes, {result.seconds:.2f} s, "
                 f"verified {'yes' if result.verified else 'no'}")
        if (result.status in ("unchanged", "planned") or not result.verified) and result.message:
            line += f"  ({result.message})"
        click.echo(line)

    try:
        results = run_deposit(packages, target, dry_run=dry_run, collection=collection,
                              progress=progress, jobs=jobs)
    except ConfigurationError as e:
        raise click.UsageError(str(e))
    statuses = ("deposited", "unchanged", "planned", "failed", "refused")
    counts = {s: sum(r.status == s for r in results) for s in statuses}
    if as_json:
        click.echo(json.dumps({"results": [r.to_dict() for r in results], "summary": counts},
                              ensure_ascii=False, indent=2))
    else:
        click.echo(", ".join(f"{n} {s}" for s, n in counts.items() if n or s == "deposited"))
    sys.exit(0 if all(r.ok for r in results) else 1)


@main.command()
@click.argument("bags", nargs=-1, required=True, type=click.Path())
@click.option("--fast", is_flag=True, help="Check Payload-Oxum and completeness only, no checksums.")
@click.option("--completeness-only", is_flag=True, help="Check that every file is present and listed; no checksums.")
@click.option("--profile", "profile_file", type=click.Path(dir_okay=False),
              help="BagIt Profile to check against (BagIt Profiles spec 1.4 or earlier, or DART JSON).")
@click.option("--json", "as_json", is_flag=True, help="Print all reports as one JSON document.")
@click.option("--jobs", "-j", type=click.IntRange(1),
              help="Parallel hashing, or bags side by side when there are more bags than jobs "
                   "(default: CPU count).")
@click.option("--record", is_flag=True,
              help="Append the outcome as a PREMIS event to an archiver package's premis.xml.")
@click.option("--cluster", metavar="ADDRESS", help=_CLUSTER_HELP)
@click.option("-q", "--quiet", is_flag=True, help="Print only errors and each bag's summary line.")
def validate(bags, fast, completeness_only, profile_file, as_json, jobs, record, cluster, quiet):
    """Validate each BAG (a directory, .zip, .tar, .tar.gz or .tgz) against RFC 8493.

    A folder of bags, such as packages/, stands for every bag in it.

    Exit status: 0 all valid (warnings allowed), 1 any invalid, 2 bad usage or unreadable path.
    """
    import json
    import sys

    from archiver.validate import validate_each

    if fast and completeness_only:
        raise click.UsageError("--fast and --completeness-only are alternatives; give one")
    mode = "fast" if fast else "completeness" if completeness_only else "full"
    profile = None
    if profile_file:
        from archiver.validate.profile import ProfileError, load_profile  # jsonschema: only when asked
        try:
            profile = load_profile(profile_file)
        except ProfileError as e:
            for p in e.problems:
                click.echo(f"error: {p.code}: {p.path}: {p.message}", err=True)
            sys.exit(2)
    from archiver.executor import ClusterError
    from archiver.package.store import expand_bags

    reports = []  # kept for --json only: a store of any size is judged in bounded memory
    counts = {"valid": 0, "invalid": 0}
    unreadable = False
    show_bars = not (as_json or quiet) and sys.stderr.isatty()
    remote = _connect(cluster)
    try:
        for report in validate_each(expand_bags(bags), mode=mode, profile=profile, jobs=jobs,
                                    record=record, progress=lambda path: _ValidateProgress(path, show_bars),
                                    cluster=remote):
            counts["valid" if report.valid else "invalid"] += 1
            unreadable = unreadable or not report.readable
            if as_json:
                reports.append(report.to_dict())
            else:
                _print_bag_report(report, quiet)
    except ClusterError as e:  # no verdict for what is left, and none of it recorded
        _cluster_failed(e)
    finally:
        if remote is not None:
            remote.join()
    if as_json:
        click.echo(json.dumps({"reports": reports, "summary": counts}, ensure_ascii=False, indent=2))
    elif sum(counts.values()) > 1:
        click.echo(f"{counts['valid']} valid, {counts['invalid']} invalid")
    _exit_fast()
    sys.exit(2 if unreadable else 0 if not counts["invalid"] else 1)


def _exit_fast() -> None:
    """The work is done and said: the collector need not trace every object of the heap once
    more on the way out (gc.freeze: interpreter shutdown skips them; 7 ms of a validation)."""
    import gc

    gc.freeze()


def _print_bag_report(report, quiet: bool) -> None:
    shown = report.errors if quiet else report.problems
    for p in shown:
        where = f"{p.path}: " if p.path else ""
        click.echo(f"  {p.severity:7} {p.code}  {_printable(where + p.message)}")
    extras = [f"BagIt {report.version}"] if report.version else []
    if report.profile:
        extras.append(f"profile {report.profile}")
    if report.recorded:
        extras.append(f"recorded event {report.recorded}")
    line = f"{_printable(report.path)}: {report.summary()}"
    click.echo(line + (f" [{'; '.join(extras)}]" if extras else ""))


class _ValidateProgress:
    """A tqdm bar on stderr, made on the first report of bytes hashed; a few updates a second."""

    def __init__(self, path: str, enabled: bool):
        self.path, self.enabled, self.bar = path, enabled, None

    def __call__(self, done: int, total: int) -> None:
        if not self.enabled:
            return
        if self.bar is None:
            import sys

            from tqdm import tqdm
            self.bar = tqdm(total=total, unit="B", unit_scale=True, desc=self.path[-30:], file=sys.stderr,
                            mininterval=0.25, leave=False)
        self.bar.update(done - self.bar.n)

    def close(self) -> None:
        if self.bar is not None:
            self.bar.close()


def _ledger_path(ledger):
    from archiver.audit.ledger import default_ledger_path
    from archiver.config import load_config
    from archiver.problems import ArchiverError

    try:
        config = load_config()
    except ArchiverError as e:
        raise click.UsageError(str(e))
    return (ledger or default_ledger_path(config)), config


@main.command()
@click.argument("locations", nargs=-1, type=click.Path())
@click.option("--ledger", type=click.Path(dir_okay=False),
              help="Ledger file (default: [audit] ledger in archiver.toml, else "
                   "$XDG_DATA_HOME/archiver/ledger.sqlite).")
@click.option("--due", metavar="AGE", help="Audit only what was not audited within AGE (e.g. 90d).")
@click.option("--limit", metavar="SIZE", help="Stop starting packages after SIZE read (e.g. 50GB).")
@click.option("--for", "for_", metavar="TIME", help="Stop starting packages after TIME (e.g. 30m).")
@click.option("--record", is_flag=True,
              help="Write the outcome into each archiver package's PREMIS (first, failures, latest).")
@click.option("--check-ledger", is_flag=True, help="Verify the ledger's hash chain and summaries.")
@click.option("--export", type=click.Choice(["csv", "premis"]),
              help="Print every audit in the ledger as CSV or PREMIS XML.")
@click.option("--agent", help="Operator recorded with each audit (default: [audit] agent, else the login name).")
@click.option("--jobs", "-j", type=click.IntRange(1), help="Packages read side by side (default: CPU count).")
@click.option("--cluster", metavar="ADDRESS", help=_CLUSTER_HELP)
@click.option("--json", "as_json", is_flag=True, help="Print the results as one JSON document.")
@click.option("-q", "--quiet", is_flag=True, help="Print only packages with findings and the summary.")
def audit(locations, ledger, due, limit, for_, record, check_ledger, export, agent, jobs, cluster,
          as_json, quiet):
    """Check each LOCATION (a store, a package, a .zip/.tar/.tar.gz, an OCFL storage root)
    against its manifests and the ledger of what every package first was.

    Exit status: 0 all good, 1 anything found (or a broken ledger), 2 bad usage or a
    cluster that failed.
    """
    from archiver.audit import LedgerError, LocationError, audit as run_audit
    from archiver.executor import ClusterError
    from archiver.audit.ledger import Ledger
    from archiver.audit.schedule import parse_duration, parse_size
    from archiver.problems import ArchiverError

    if not (locations or check_ledger or export):
        raise click.UsageError("name at least one LOCATION (or give --check-ledger or --export)")
    path, config = _ledger_path(ledger)
    try:
        due_s = parse_duration(due) if due else None
        limit_b = parse_size(limit) if limit else None
        for_s = parse_duration(for_) if for_ else None
    except ValueError as e:
        raise click.UsageError(str(e))
    status = 0
    if check_ledger or export:
        try:
            with Ledger.open(path, readonly=True) as db:
                if export:
                    from archiver.audit.export import export_csv, export_premis
                    if export == "csv":
                        export_csv(db, sys.stdout)
                    else:
                        sys.stdout.flush()
                        export_premis(db, sys.stdout.buffer)
                if check_ledger:
                    from archiver.audit.seal import check_seals
                    from archiver.evidence.trust import anchors_from

                    problems = db.check()
                    try:
                        seals = check_seals(db, anchors_from((config.get("evidence") or {}).get("trust", [])))
                    except ArchiverError as e:
                        raise click.UsageError(f"{e.path}: {e.message}")
                    problems += seals.problems
                    seq, head = db.head()
                    for p in problems:
                        click.echo(f"  error   {p.code}  {p.path}: {p.message}", err=bool(export))
                    for statement in seals.statements:
                        click.echo(f"  sealed  {statement}", err=bool(export))
                    verdict = "BROKEN" if problems else "intact"
                    click.echo(f"{path}: ledger {verdict}: {seq} record(s), head {head}"
                               + (f", {seals.sealed} round(s) sealed" if seals.sealed else ", no round sealed")
                               + (f", {len(problems)} problem(s)" if problems else ""),
                               err=bool(export))
                    status = 1 if problems else 0
        except LedgerError as e:
            click.echo(f"error: {e}", err=True)
            sys.exit(2)
        if not locations:
            sys.exit(status)

    def progress(result):
        if as_json or (quiet and result.outcome == "ok"):
            return
        _print_audit_result(result)

    remote = _connect(cluster)
    try:
        run = run_audit(locations, ledger=path, due=due_s, limit=limit_b, seconds=for_s,
                        record=record, agent=agent or None, jobs=jobs, progress=progress,
                        config=config, keep_results=as_json, cluster=remote)
    except (LocationError, LedgerError) as e:
        click.echo(f"error: {e}", err=True)
        sys.exit(2)
    except ClusterError as e:  # what was judged is in the ledger; the next run resumes
        _cluster_failed(e)
    except ArchiverError as e:  # [evidence] trust or signers unusable
        click.echo(f"error: {e.path}: {e.message}", err=True)
        sys.exit(2)
    finally:
        if remote is not None:
            remote.join()
    s = run.summary()
    if as_json:
        click.echo(json.dumps(run.to_dict(), ensure_ascii=False, indent=2))
    else:
        line = (f"{s['audited']} package(s) audited: {s['ok']} ok, {s['found']} with findings "
                f"({s['findings']} finding(s)), {s['gone']} gone, {s['first_seen']} first seen; "
                f"{s['bytes']} bytes")
        if s["not_due"]:
            line += f"; {s['not_due']} not due"
        if s["done_before"]:
            line += f"; {s['done_before']} done earlier in this round"
        if run.stopped:
            line += f"; stopped ({run.stopped}), {s['remaining']} left for the next run"
        line += f"; round {run.round}" + (" resumed" if run.resumed else "") + \
            (" finished" if run.finished else " open") + f"; ledger {run.ledger}"
        if run.sealing and run.sealing.proof:
            line += f"; head sealed by {', '.join(t['authority'] for t in run.sealing.tokens)}"
        click.echo(line)
        if run.sealing:
            for failure in run.sealing.failures:
                click.echo(f"warning: the round's head was not time-stamped by {failure}", err=True)
            if not run.sealing.proof:
                click.echo("warning: no time-stamping authority answered: this round's head is not "
                           "sealed (the next sealed round covers it)", err=True)
    if run.stopped == "interrupted":
        sys.exit(130)  # the round stays open; the next run resumes it
    sys.exit(1 if run.found or status else 0)


def _print_audit_result(result) -> None:
    mark = {"ok": "ok", "found": "FOUND", "gone": "GONE"}[result.outcome]
    extra = " (first seen: recorded as the baseline)" if result.first else ""
    if result.recorded:
        extra += f" [recorded event {result.recorded}]"
    click.echo(f"{mark:6} {result.location}{extra}")
    for f in result.findings:
        where = f"{f.path}: " if f.path else ""
        click.echo(f"  {f.severity:7} {f.code}  {where}{f.message}")
    for note in result.accepted:
        click.echo(f"  accepted {note}")
    for note in result.notes:
        click.echo(f"  note    {note}")


@main.command()
@click.argument("package")
@click.option("--ledger", type=click.Path(dir_okay=False), help="Ledger file (default as for audit).")
@click.option("--json", "as_json", is_flag=True, help="Print the timeline as JSON.")
def history(package, ledger, as_json):
    """Print the timeline of PACKAGE (a path, or an identifier the ledger knows): build,
    capture, validations, deposits, seals from its PREMIS; first seen, audits, moves from
    the ledger."""
    from archiver.audit import LedgerError
    from archiver.audit.history import history as timeline, render
    from archiver.audit.ledger import Ledger

    path, _ = _ledger_path(ledger)
    db = None
    try:
        if os.path.isfile(path):
            db = Ledger.open(path, readonly=True)
    except LedgerError as e:
        click.echo(f"error: {e}", err=True)
        sys.exit(2)
    try:
        h = timeline(package, db)
    finally:
        if db is not None:
            db.close()
    if not h.entries and not os.path.exists(package):
        click.echo(f"error: {package}: no such package, and the ledger does not know it", err=True)
        sys.exit(2)
    click.echo(json.dumps(h.to_dict(), ensure_ascii=False, indent=2) if as_json else render(h))


# -- evidence: keygen, seal, verify ---------------------------------------------------------
@main.command()
@click.argument("keyfile", type=click.Path(dir_okay=False))
def keygen(keyfile):
    """Make an Ed25519 signing key: KEYFILE (private, mode 0600) and KEYFILE.pub."""
    from archiver.evidence import keygen as make_key
    from archiver.problems import ArchiverError

    try:
        private, public, kid = make_key(keyfile)
    except ArchiverError as e:
        click.echo(f"error: {e.path}: {e.message}", err=True)
        sys.exit(2)
    click.echo(f"{kid}\n  private key {private} (keep it secret)\n  public key  {public} (give it to verifiers)")


def _seal_setup(key, tsas, certificate, renew: bool):
    from archiver.evidence.settings import sealing_setup
    from archiver.problems import ArchiverError

    try:
        signing, authorities = sealing_setup(key, tsas, certificate)
    except ArchiverError as e:
        raise click.UsageError(f"{e.path}: {e.message}")
    if not authorities:
        raise click.UsageError("no time-stamping authority: give --tsa URL or tsa in [evidence] of archiver.toml")
    if signing is None and not renew:
        raise click.UsageError("no signing key: give --key KEYFILE or key in [evidence] of archiver.toml")
    return signing, authorities


def _run_seal(packages, signing, authorities, renew: bool, as_json: bool, quiet: bool):
    """Seal and print one line per package (nothing with --json); (exit status, results)."""
    from archiver.evidence import seal as run_seal
    from archiver.evidence.verify import default_anchors

    results = run_seal(packages, key=signing, authorities=authorities, renew=renew, anchors=default_anchors())
    for r in [] if as_json else results:
        for line in r.recovered:
            click.echo(f"  {line}")
        if r.status == "failed" or not quiet:
            stamps = ", ".join(f"{t['authority']} {t['genTime']}" for t in r.tokens)
            click.echo(f"{r.status:8} {r.path}" + (f"  {r.record} ({stamps})" if r.record else ""))
        for p in r.problems:
            click.echo(f"  {p.severity:7} {p.code}  {p.path + ': ' if p.path else ''}{p.message}")
    ok = all(r.status != "failed" and not any(p.severity == "error" for p in r.problems) for r in results)
    return (0 if ok and results else 1), results


@main.command()
@click.argument("packages", nargs=-1, required=True, type=click.Path())
@click.option("--key", type=click.Path(dir_okay=False), help="Signing key (default: key in [evidence]).")
@click.option("--certificate", type=click.Path(dir_okay=False),
              help="Certificate chain of an X.509 signing key, leaf first (PEM).")
@click.option("--tsa", "tsas", multiple=True, metavar="URL",
              help="RFC 3161 time-stamping authority; repeat for several (default: tsa in [evidence]).")
@click.option("--renew", is_flag=True, help="Timestamp the existing evidence again (no key needed).")
@click.option("--json", "as_json", is_flag=True, help="Print the results as one JSON document.")
@click.option("-q", "--quiet", is_flag=True, help="Print only failures.")
def seal(packages, key, certificate, tsas, renew, as_json, quiet):
    """Seal each PACKAGE (a folder of packages stands for each): sign its state and obtain
    RFC 3161 timestamps, one request per authority for all of them.

    Exit status: 0 all sealed and their tokens verified, 1 any failed, 2 bad usage.
    """
    signing, authorities = _seal_setup(key, tsas, certificate, renew)
    status, results = _run_seal(packages, signing, authorities, renew, as_json, quiet)
    if as_json:
        click.echo(json.dumps({"results": [r.to_dict() for r in results]}, ensure_ascii=False, indent=2))
    sys.exit(status)


@main.command()
@click.argument("packages", nargs=-1, required=True, type=click.Path())
@click.option("--trust", "trust", multiple=True, type=click.Path(dir_okay=False),
              help="PEM file of trusted root certificates for the authorities; repeatable "
                   "(default: trust in [evidence], else the system's store).")
@click.option("--signer", "signers", multiple=True, type=click.Path(dir_okay=False),
              help="Public key or certificate of an accepted signer; repeatable (default: signers in [evidence]).")
@click.option("--record", is_flag=True, help="Append the outcome as a PREMIS event (dig) to each package.")
@click.option("--json", "as_json", is_flag=True, help="Print the reports as one JSON document.")
def verify(packages, trust, signers, record, as_json):
    """Verify the seals of each PACKAGE offline and say what is proven.

    Exit status: 0 everything proven, 1 anything not, 2 bad usage.
    """
    from archiver.evidence.verify import default_anchors, default_signers, record_verification, verify_package
    from archiver.package.store import expand_bags
    from archiver.problems import ArchiverError

    try:
        anchors = default_anchors(trust)
        keys = default_signers(signers)
    except ArchiverError as e:
        raise click.UsageError(f"{e.path}: {e.message}")
    missing = [p for p in packages if not os.path.lexists(p)]
    if missing:  # a typo is not an unsealed package
        raise click.UsageError(f"{_printable(missing[0])}: no such file or directory")
    reports = []
    for bag in expand_bags(packages):
        report = verify_package(bag, trust=anchors, signers=keys)
        if record and report.sealed:
            try:
                record_verification(bag, report)
            except (ArchiverError, OSError) as e:
                click.echo(f"warning: {bag}: the verification was not recorded: {e}", err=True)
        reports.append(report)
        if as_json:
            continue
        click.echo(f"{'proven' if report.proven else 'NOT PROVEN'}: {report.path}")
        for s in report.statements:
            click.echo(f"  {s}")
        for p in report.problems:
            click.echo(f"  {p.severity:7} {p.code}  {p.path + ': ' if p.path else ''}{p.message}")
    if as_json:
        counts = {"proven": sum(r.proven for r in reports), "not_proven": sum(not r.proven for r in reports)}
        click.echo(json.dumps({"reports": [r.to_dict() for r in reports], "summary": counts},
                              ensure_ascii=False, indent=2))
    sys.exit(0 if reports and all(r.proven for r in reports) else 1)

@main.command()
@click.argument("store", default="packages", required=False, type=click.Path(file_okay=False))
@click.option("--ledger", type=click.Path(dir_okay=False),
              help="Audit ledger to show (default: the audit's default ledger, when it exists).")
@click.option("--port", type=click.IntRange(0, 65535), default=8000, show_default=True,
              help="TCP port (0: any free port; the address is printed).")
@click.option("--host", default="127.0.0.1", show_default=True,
              help="Address to listen on; another than the loopback needs an access token "
                   "(ARCHIVER_SERVE_TOKEN or [serve] token in archiver.toml).")
@click.option("--index", "index_path", type=click.Path(dir_okay=False),
              help="The catalogue file (default: in ~/.cache/archiver/serve/; never in the store).")
@click.option("--due", default="90d", show_default=True, metavar="DURATION",
              help="A package is due when its last check is older than this (as audit --due).")
@click.option("--refresh", type=click.FloatRange(0.1), default=30.0, show_default=True,
              help="Seconds between looks for changes inside packages (new and removed "
                   "packages are seen at once).")
def serve(store, ledger, port, host, index_path, due, refresh):
    """Browse STORE (default packages/) in a web browser: read-only, with a JSON API."""
    from archiver.audit.schedule import parse_duration
    from archiver.config import load_config
    from archiver.problems import ArchiverError
    from archiver.serve import serve as run_serve
    from archiver.serve.access import configured_token

    def ready(url):
        click.echo(f"archiver serve: {url} (store {store}; Ctrl-C stops)")
        sys.stdout.flush()

    try:
        token = configured_token(load_config())
        due_days = parse_duration(due) / 86400
    except (ValueError, ArchiverError) as e:
        raise click.UsageError(str(e))
    try:
        run_serve(store, host=host, port=port, ledger=ledger, index=index_path, token=token,
                  refresh=refresh, due_days=due_days, ready=ready)
    except ArchiverError as e:
        click.echo(f"error: {e.path}: {e.message}", err=True)
        sys.exit(2)
    except OSError as e:  # the port is taken, the address is not ours...
        click.echo(f"error: {host}:{port}: {e.strerror or e}", err=True)
        sys.exit(2)
