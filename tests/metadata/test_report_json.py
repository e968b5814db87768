"""metadata/report.json: the build's fast schema check agrees with jsonschema, the reference."""
import copy

import pytest

from archiver.extract import extract_text
from archiver.metadata.report_json import check_report_dict, report_dict, report_json_bytes
from archiver.problems import ArchiverError

from seeds import SEED_000


@pytest.fixture(scope="module")
def valid():
    report = extract_text(SEED_000.read_bytes(), SEED_000.name)
    return report_dict(report, "rpt-0123456789abcdef0123", f"data/{SEED_000.name}")


def _set(path, value):
    def change(d):
        *parents, last = path
        for key in parents:
            d = d[key]
        d[last] = value
    return change


def _delete(path):
    def change(d):
        *parents, last = path
        for key in parents:
            d = d[key]
        del d[last]
    return change


BROKEN = {
    "language not a code": _set(["language"], "english!"),
    "package id malformed": _set(["package_id"], "Rpt_1"),
    "title a number": _set(["title"], 42),
    "body holds a number": _set(["body"], ["a paragraph", 7]),
    "comment number below one": _set(["comments", 0, "number"], 0),
    "comment without text": _delete(["comments", 0, "text"]),
    "negative size": _set(["source", "size"], -1),
    "unknown top-level field": _set(["extra"], "x"),
    "no source": _delete(["source"]),
    "provenance value not text": _set(["provenance", "title"], 7),
}


@pytest.mark.parametrize("case", sorted(BROKEN))
def test_broken_report_json_is_refused_with_the_reference_message(valid, case):
    data = copy.deepcopy(valid)
    BROKEN[case](data)
    errors = check_report_dict(data)
    assert errors, f"jsonschema accepts the '{case}' document: the case tests nothing"
    with pytest.raises(ArchiverError) as info:
        report_json_bytes(data, "report.txt")
    assert info.value.path == "report.txt"
    assert errors[0] in info.value.message


def test_valid_report_json_is_written_as_is(valid):
    assert check_report_dict(valid) == []
    text = report_json_bytes(valid, "report.txt").decode("utf-8")
    assert text.endswith("}\n") and '"package_id": "rpt-0123456789abcdef0123"' in text


@pytest.mark.parametrize("case", sorted(BROKEN))
def test_validate_refuses_what_jsonschema_refuses_with_its_message(valid, case, tmp_path):
    """validate checks report.json with the compiled schema first: it must refuse whatever
    the reference refuses, and the problem carries the reference's message."""
    import json

    from archiver.metadata.check import check_package_metadata
    from archiver.metadata.report_json import fits_schema

    data = copy.deepcopy(valid)
    BROKEN[case](data)
    assert not fits_schema(data)
    (tmp_path / "metadata").mkdir()
    (tmp_path / "metadata" / "report.json").write_text(json.dumps(data), encoding="utf-8")
    found = [p for p in check_package_metadata(tmp_path) if p.code == "PACKAGE-REPORT-JSON-INVALID"]
    assert found and check_report_dict(data)[0].split(": ", 1)[1] in found[0].message
    (tmp_path / "metadata" / "report.json").write_text(json.dumps(valid), encoding="utf-8")
    assert fits_schema(valid) and not [p for p in check_package_metadata(tmp_path)
                                       if p.code == "PACKAGE-REPORT-JSON-INVALID"]


def test_written_as_json_dumps_writes_it():
    """report.json's own encoder gives json.dumps's text (indent 2, UTF-8 as is) for anything."""
    import json
    import random

    from archiver.metadata.report_json import dumps

    rng = random.Random(17)
    pieces = ["a", "é", "\n", '"', "\\", "\x00", "\x1f", "\x7f", "\u2028", "😀", "\ud800", " ", "</", "\t"]

    def word():
        return "".join(rng.choice(pieces) for _ in range(rng.randint(0, 5)))

    def value(depth=0):
        r = rng.random()
        if depth > 3 or r < 0.4:
            return rng.choice([word(), None, True, False, rng.randint(-10**20, 10**20), 0])
        if r < 0.7:
            return {word(): value(depth + 1) for _ in range(rng.randint(0, 4))}
        return [value(depth + 1) for _ in range(rng.randint(0, 4))]

    samples = [value() for _ in range(2000)] + [{1: 2}, [1.5], {"a": (1, 2)}, {"x": float("nan")}]
    for sample in samples:
        assert dumps(sample) == json.dumps(sample, ensure_ascii=False, indent=2)
