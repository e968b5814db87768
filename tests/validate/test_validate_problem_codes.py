"""The problem-code table: every code the validator (and the audit) can emit is in it, with a severity and a clause."""
from __future__ import annotations

import re
from pathlib import Path

from archiver.problem_codes import CODES, describe, problem
from archiver.problems import ERROR, WARNING

ARCHIVER = Path(__file__).resolve().parents[2] / "archiver"
SOURCES = sorted(str(p.relative_to(ARCHIVER)) for folder in ("validate", "bagit", "audit", "evidence", "serve") for p in (ARCHIVER / folder).glob("*.py"))
SOURCES += ["metadata/check.py", "executor/dask.py"]  # the cluster's codes stop a run


def _codes_in_source() -> set[str]:
    """Codes written literally, plus those built as f"{prefix}-REQUIRED" / "-NOT-ALLOWED"."""
    text = "".join((ARCHIVER / name).read_text(encoding="utf-8") for name in SOURCES)
    literal = set(re.findall(r'"((?:BAGIT|VALIDATE|ARCHIVE|PROFILE|PACKAGE|AUDIT|CLUSTER|EVIDENCE|SERVE)-[A-Z0-9-]+)"', text))
    prefixes = {"PROFILE-MANIFEST", "PROFILE-TAGMANIFEST"}
    assert prefixes <= literal
    return (literal - prefixes) | {f"{p}-{s}" for p in prefixes for s in ("REQUIRED", "NOT-ALLOWED")}


def test_every_emitted_code_is_in_the_table_and_every_code_is_emitted():
    emitted = _codes_in_source()
    assert emitted - set(CODES) == set()
    assert set(CODES) - emitted == set()


def test_table_entries_are_complete():
    for code, (severity, source, rule) in CODES.items():
        assert re.fullmatch(r"[A-Z]+(-[A-Z0-9]+)+", code), code
        assert severity in (ERROR, WARNING), code
        assert source and rule, code
        if code.startswith("BAGIT-"):
            assert source.startswith(("RFC 8493 §", "archiver")), code


def test_problem_takes_severity_from_the_table():
    assert problem("BAGIT-MANIFEST-MISSING-FILE", "data/a", "gone").severity == ERROR
    assert problem("BAGIT-FETCH-FILE-ABSENT", "data/a", "holey").severity == ERROR
    assert problem("BAGIT-FETCH-LENGTH-MISMATCH", "data/a", "short").severity == ERROR
    assert "RFC 8493 §3" in describe("BAGIT-MANIFEST-MISSING-FILE")
