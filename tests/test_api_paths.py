"""The Python API takes one path as readily as a list of them: a str is one path, never the
characters of one (which would name "/" and judge the whole disk)."""
import os
from pathlib import Path

from archiver import build, deposit, validate
from archiver.audit import audit
from archiver.validate import validate_each


def _report(tmp_path: Path) -> Path:
    report = tmp_path / "report.txt"
    report.write_text("Water cut in the north\n\nResidents said the water was cut for a week.\n",
                      encoding="utf-8")
    return report


def test_one_path_as_a_str_is_one_path(tmp_path):
    results = build(str(_report(tmp_path)), str(tmp_path / "store"), durable=False)
    assert [r.status for r in results] == ["built"]
    package = results[0].path

    reports = validate(package)
    assert [(r.path, r.valid) for r in reports] == [(package, True)]
    assert [r.valid for r in validate(Path(package))] == [True]
    assert [r.valid for r in validate(os.fsencode(package))] == [True]
    assert [(r.path, r.valid) for r in validate_each(package)] == [(package, True)]

    deposited = deposit(package, f"ocfl:{tmp_path / 'root'}")
    assert [(str(r.package), r.status) for r in deposited] == [(package, "deposited")]


def test_audit_takes_one_location_as_a_str(tmp_path):
    store = tmp_path / "store"
    build([str(_report(tmp_path))], str(store), durable=False)
    run = audit(str(store), ledger=tmp_path / "ledger.sqlite", config={})
    assert len(run.results) == 1
