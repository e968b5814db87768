"""Every code a deposit failure can record is in archiver.deposit.codes and the README."""
from __future__ import annotations

import re
from pathlib import Path

from archiver.deposit.codes import CODES

ROOT = Path(__file__).resolve().parents[2]


def test_every_code_raised_is_in_the_table():
    raised = set()
    for path in (ROOT / "archiver" / "deposit").glob("*.py"):
        raised |= set(re.findall(r'code\s*=\s*"((?:OCFL|S3|SWORD|DEPOSIT)-[A-Za-z-]+)"', path.read_text()))
    assert "DEPOSIT-BUSY" in raised
    assert raised and raised <= CODES.keys(), sorted(raised - CODES.keys())


def test_the_readme_lists_every_code():
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    assert [c for c in CODES if f"`{c}`" not in readme] == []
