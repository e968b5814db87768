"""The command line: parses options, calls one library function, renders its result."""
from __future__ import annotations

import click

from archiver import __version__


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(__version__, prog_name="archiver")
def main() -> None:
    """Build, validate and deposit preservation packages of reports."""


@main.command()
@click.argument("bags", nargs=-1, required=True, type=click.Path())
@click.option("--fast", is_flag=True, help="Check Payload-Oxum and completeness only, no checksums.")
@click.option("--completeness-only", is_flag=True, help="Check that every file is present and listed; no checksums.")
@click.option("--profile", "profile_file", type=click.Path(dir_okay=False),
              help="BagIt Profile to check against (BagIt Profiles spec 1.4 or earlier, or DART JSON).")
@click.option("--json", "as_json", is_flag=True, help="Print all reports as one JSON document.")
@click.option("--jobs", "-j", type=click.IntRange(1), help="Parallel hashing (default: CPU count).")
@click.option("--record", is_flag=True,
              help="Append the outcome as a PREMIS event to an archiver package's premis.xml.")
@click.option("-q", "--quiet", is_flag=True, help="Print only errors and each bag's summary line.")
def validate(bags, fast, completeness_only, profile_file, as_json, jobs, record, quiet):
    """Validate each BAG (a directory, .zip, .tar, .tar.gz or .tgz) against RFC 8493.

    Exit status: 0 all valid (warnings allowed), 1 any invalid, 2 bad usage or unreadable path.
    """
    import json
    import sys

    from archiver.profile import ProfileError, load_profile
    from archiver.validate import validate_bag

    if fast and completeness_only:
        raise click.UsageError("--fast and --completeness-only are alternatives; give one")
    mode = "fast" if fast else "completeness" if completeness_only else "full"
    profile = None
    if profile_file:
        try:
            profile = load_profile(profile_file)
        except ProfileError as e:
            for p in e.problems:
                click.echo(f"error: {p.code}: {p.path}: {p.message}", err=True)
            sys.exit(2)
    reports = []
    for path in bags:
        bar = _ValidateProgress(path, enabled=not (as_json or quiet) and sys.stderr.isatty())
        report = validate_bag(path, mode=mode, profile=profile, jobs=jobs, progress=bar, record=record)
        bar.close()
        reports.append(report)
        if not as_json:
            _print_bag_report(report, quiet)
    if as_json:
        counts = {"valid": sum(r.valid for r in reports), "invalid": sum(not r.valid for r in reports)}
        click.echo(json.dumps({"reports": [r.to_dict() for r in reports], "summary": counts},
                              ensure_ascii=False, indent=2))
    elif len(reports) > 1:
        click.echo(f"{sum(r.valid for r in reports)} valid, {sum(not r.valid for r in reports)} invalid")
    sys.exit(2 if any(not r.readable for r in reports) else 0 if all(r.valid for r in reports) else 1)


def _print_bag_report(report, quiet: bool) -> None:
    shown = report.errors if quiet else report.problems
    for p in shown:
        where = f"{p.path}: " if p.path else ""
        click.echo(f"  {p.severity:7} {p.code}  {where}{p.message}")
    extras = [f"BagIt {report.version}"] if report.version else []
    if report.profile:
        extras.append(f"profile {report.profile}")
    if report.recorded:
        extras.append(f"recorded event {report.recorded}")
    line = f"{report.path}: {report.summary()}"
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
