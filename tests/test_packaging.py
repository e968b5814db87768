"""An installed archiver (a wheel, not this source tree) carries everything it reads at run time."""
from __future__ import annotations

import subprocess
import sys
import zipfile
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]


@pytest.fixture(scope="module")
def wheel(tmp_path_factory) -> Path:
    out = tmp_path_factory.mktemp("wheel")
    subprocess.run([sys.executable, "-m", "pip", "wheel", "-q", "--no-deps", "--no-build-isolation",
                    "-w", str(out), str(REPO)], check=True, capture_output=True, timeout=300)
    found, = out.glob("archiver-*.whl")
    return found


def test_the_wheel_carries_every_schema(wheel):
    names = {Path(n).name for n in zipfile.ZipFile(wheel).namelist()
             if "/share/archiver/schemas/" in n}
    assert names == {p.name for p in (REPO / "schemas").iterdir() if p.suffix in (".json", ".xsd")}


def test_the_wheel_carries_every_file_of_the_package(wheel):
    """Modules, and the templates and static files of the web view: a folder without
    __init__.py, or a data file not declared in setup.cfg, would be left out."""
    inside = {n for n in zipfile.ZipFile(wheel).namelist() if n.startswith("archiver/")}
    assert inside == {str(p.relative_to(REPO)) for p in (REPO / "archiver").rglob("*")
                      if p.is_file() and "__pycache__" not in p.parts}
