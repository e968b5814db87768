"""Debian packages the tests drive (a browser, openssl): installed by the tests themselves when
missing, so the README's test command works on a fresh machine, not only under .ci/run."""
from __future__ import annotations

import os
import shutil
import subprocess

import pytest


def ensure_command(command: str, package: str) -> str:
    """The path of `command`, installing Debian's `package` first if it is missing (as root);
    fails the test run with what to do otherwise."""
    found = shutil.which(command)
    if found:
        return found
    if os.geteuid() == 0 and shutil.which("apt-get"):
        for step in (["apt-get", "update", "-qq"], ["apt-get", "install", "-y", "-qq", package]):
            subprocess.run(step, check=False, capture_output=True, timeout=900,
                           env={**os.environ, "DEBIAN_FRONTEND": "noninteractive"})
        found = shutil.which(command)
        if found:
            return found
    pytest.fail(f"{command} is missing: install Debian's {package} package "
                f"(apt-get install {package}; .ci/run does)", pytrace=False)
