"""The command line: parses options, calls one library function, renders its result."""
from __future__ import annotations

import click

from archiver import __version__


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(__version__, prog_name="archiver")
def main() -> None:
    """Build, validate and deposit preservation packages of reports."""
