"""`archiver validate`: exit codes, text and --json output, options."""
from __future__ import annotations

import json
import tarfile
from pathlib import Path

import pytest
from click.testing import CliRunner

from archiver.cli import main
from bagmaker import PROFILES, make_bag


def run(*args):
    result = CliRunner().invoke(main, ["validate", *map(str, args)])
    return result.exit_code, result.output


def test_valid_bag_exits_0(bag):
    code, out = run(bag)
    assert code == 0 and "valid: 0 error(s)" in out and "BagIt 1.0" in out


def test_warnings_keep_exit_0(tmp_path):
    bag = make_bag(tmp_path / "bag", algs=("md5",), tag_algs=("md5",))
    code, out = run(bag)
    assert code == 0 and "BAGIT-MANIFEST-WEAK-ALGORITHM" in out


def test_invalid_bag_exits_1_and_names_the_file(bag):
    (bag / "data" / "a.txt").write_bytes(b"ALPHA\n")
    code, out = run(bag)
    assert code == 1
    assert "BAGIT-CHECKSUM-MISMATCH  data/a.txt: sha256 mismatch: manifest-sha256.txt says" in out


def test_unreadable_path_exits_2(tmp_path, bag):
    code, out = run(bag, tmp_path / "missing")
    assert code == 2 and "VALIDATE-PATH-MISSING" in out


def test_bad_usage_exits_2(bag):
    assert run(bag, "--fast", "--completeness-only")[0] == 2
    assert run()[0] == 2


def test_unusable_profile_exits_2(tmp_path, bag):
    broken = tmp_path / "profile.json"
    broken.write_text(json.dumps({"BagIt-Profile-Info": {}}))
    result = CliRunner().invoke(main, ["validate", str(bag), "--profile", str(broken)])
    assert result.exit_code == 2 and "PROFILE-INVALID" in result.output


def test_json_is_one_document(tmp_path, bag):
    other = make_bag(tmp_path / "other")
    (other / "data" / "a.txt").unlink()
    code, out = run(bag, other, "--json")
    assert code == 1
    doc = json.loads(out)
    assert doc["summary"] == {"valid": 1, "invalid": 1}
    assert [r["valid"] for r in doc["reports"]] == [True, False]
    problems = {(p["code"], p["path"]) for p in doc["reports"][1]["problems"]}
    assert ("BAGIT-MANIFEST-MISSING-FILE", "data/a.txt") in problems


def test_fast_and_completeness_only(bag):
    (bag / "data" / "a.txt").write_bytes(b"ALPHA\n")
    assert run(bag, "--fast")[0] == 0
    assert run(bag, "--completeness-only")[0] == 0
    assert run(bag)[0] == 1


def test_profile_option_and_serialized_input(tmp_path):
    bag = make_bag(tmp_path / "bag", info=[
        ("BagIt-Profile-Identifier", "https://example.org/test-profiles/btr-1.0.json"),
        ("Organization-Address", "1 Main St"), ("Contact-Email", "a@example.org")])
    out = tmp_path / "bag.tar"
    with tarfile.open(out, "w") as tf:
        tf.add(bag, arcname="bag")
    code, text = run(out, "--profile", PROFILES / "btr-1.0.json", "--jobs", "1")
    assert code == 0, text
    assert "profile https://example.org/test-profiles/btr-1.0.json" in text
    code, text = run(out, "--profile", PROFILES / "aptrust-2.x.json")
    assert code == 1 and "PROFILE-MANIFEST-REQUIRED" in text


def test_quiet_prints_errors_and_summary_only(tmp_path):
    bag = make_bag(tmp_path / "bag", algs=("md5",), tag_algs=("md5",))
    code, out = run(bag, "-q")
    assert code == 0 and "WEAK" not in out and out.count("\n") == 1


def test_no_progress_bar_when_not_a_terminal(tmp_path):
    bag = make_bag(tmp_path / "bag", {f"data/{i}.bin": b"x" * 1000 for i in range(50)})
    result = CliRunner().invoke(main, ["validate", str(bag)])
    assert result.exit_code == 0 and "it/s" not in result.output and "B/s" not in result.output


@pytest.mark.parametrize("flag", ["--record"])
def test_record_on_a_plain_bag_is_a_warning(bag, flag):
    code, out = run(bag, flag)
    assert code == 0 and "VALIDATE-NOT-RECORDED" in out


def test_python_api_mirrors_the_cli(bag):
    from archiver import validate
    reports = validate([bag], mode="fast", jobs=1)
    assert [r.valid for r in reports] == [True]


def test_a_folder_of_bags_stands_for_every_bag_in_it(tmp_path):
    store = tmp_path / "store"
    make_bag(store / "one")
    make_bag(store / "two", {"data/b.txt": b"b"})
    (store / ".tmp-partial").mkdir()  # a build's temporary package is not a bag to judge
    result = CliRunner().invoke(main, ["validate", "--json", str(store)])
    assert result.exit_code == 0, result.output
    document = json.loads(result.output)
    assert [Path(r["path"]).name for r in document["reports"]] == ["one", "two"]
    assert document["summary"] == {"valid": 2, "invalid": 0}


def test_many_bags_are_judged_side_by_side_in_order(tmp_path):
    """More bags than jobs: worker processes judge them side by side; the reports keep the
    order of the bags and each verdict is its own bag's."""
    store = tmp_path / "store"
    for i in range(7):
        make_bag(store / f"bag-{i}", {"data/n.txt": f"number {i}\n".encode()})
    (store / "bag-3" / "data" / "n.txt").write_bytes(b"tampered\n")  # same size, other bytes
    (store / "bag-5" / "data" / "extra.txt").write_bytes(b"not in the manifest\n")
    result = CliRunner().invoke(main, ["validate", "--json", "--jobs", "2", str(store)])
    assert result.exit_code == 1, result.output
    document = json.loads(result.output)
    assert [Path(r["path"]).name for r in document["reports"]] == [f"bag-{i}" for i in range(7)]
    verdicts = {Path(r["path"]).name: r["valid"] for r in document["reports"]}
    assert [name for name, ok in verdicts.items() if not ok] == ["bag-3", "bag-5"]
    codes = {Path(r["path"]).name: {p["code"] for p in r["problems"]} for r in document["reports"]}
    assert "BAGIT-CHECKSUM-MISMATCH" in codes["bag-3"]
    assert document["summary"] == {"valid": 5, "invalid": 2}


def test_a_folder_of_bags_reports_damaged_and_serialized_bags_too(tmp_path):
    """A package that lost its bagit.txt is judged (invalid), not passed over; a zipped bag in
    the folder is judged too; a damaged bag holding a bag is judged itself, not its payload."""
    import shutil
    store = tmp_path / "store"
    make_bag(store / "good")
    make_bag(store / "broken")
    (store / "broken" / "bagit.txt").unlink()
    make_bag(tmp_path / "zipped")
    shutil.make_archive(str(store / "zipped"), "zip", tmp_path, "zipped")
    result = CliRunner().invoke(main, ["validate", "--json", str(store)])
    document = json.loads(result.output)
    verdicts = {Path(r["path"]).name: r["valid"] for r in document["reports"]}
    assert verdicts == {"broken": False, "good": True, "zipped.zip": True}
    assert result.exit_code == 1

    inner = make_bag(tmp_path / "inner")  # a bag as the payload of another (bagit.py on a bag)
    outer = tmp_path / "outer"
    make_bag(outer, {f"data/{p.relative_to(inner).as_posix()}": p.read_bytes()
                     for p in inner.rglob("*") if p.is_file()})
    assert (outer / "data" / "bagit.txt").is_file()
    (outer / "bagit.txt").unlink()
    result = CliRunner().invoke(main, ["validate", "--json", str(outer)])
    (report,) = json.loads(result.output)["reports"]
    assert Path(report["path"]).name == "outer" and not report["valid"]


def test_a_declared_encoding_the_tag_files_do_not_follow_is_a_problem_not_a_crash(tmp_path):
    bag = make_bag(tmp_path / "u16")
    (bag / "bagit.txt").write_bytes(b"BagIt-Version: 1.0\nTag-File-Character-Encoding: UTF-16\n")
    result = CliRunner().invoke(main, ["validate", "--json", str(bag)])
    (report,) = json.loads(result.output)["reports"]
    codes = {p["code"] for p in report["problems"]}
    assert result.exit_code == 1 and not report["valid"]
    assert "VALIDATE-INTERNAL-ERROR" not in codes, report["problems"]


def test_a_deeply_nested_profile_is_a_usage_error(tmp_path, bag):
    deep = tmp_path / "deep.json"
    deep.write_text("[" * 100000 + "]" * 100000)
    code, out = run(bag, "--profile", deep)
    assert code == 2


def test_completeness_only_checks_the_oxum_it_says_it_checked(bag):
    """As bagit-python's --completeness-only, the Oxum is checked: the claim must hold."""
    info = bag / "bag-info.txt"
    info.write_text(info.read_text().replace("Payload-Oxum: ", "Payload-Oxum: 1"))
    code, out = run("--completeness-only", "--json", bag)
    report = json.loads(out)["reports"][0]
    assert "payload-oxum" in report["checked"]
    assert code == 1 and "BAGIT-OXUM-MISMATCH" in {p["code"] for p in report["problems"]}


def test_an_empty_folder_is_no_bag_found_exit_2(tmp_path):
    (tmp_path / "empty").mkdir()
    code, out = run(tmp_path / "empty")
    assert code == 2 and "VALIDATE-NOT-A-BAG" in out and "no bag found" in out


def test_a_file_name_with_a_newline_stays_on_one_line(bag):
    (bag / "data" / "two\nlines.txt").write_bytes(b"stray")
    code, out = run(bag)
    assert code == 1
    lines = [ln for ln in out.splitlines() if "BAGIT-MANIFEST-UNLISTED-FILE" in ln]
    assert lines and "data/two\\nlines.txt" in lines[0], out
    assert not [ln for ln in out.splitlines() if ln.startswith("lines.txt")]
