"""An OCFL deposit killed (SIGKILL) at every one of its steps, then run again.

Every write, rename and removal of a deposit goes through archiver.durable, which can kill
the process at its N-th step. For every N of a new object and of a new version (a deposit
after a recorded validation): the killed run, then a rerun, then the verdicts a user would
check: ocfl-py calls the root and its object valid, nothing staged is left beside the root,
the object's head holds the package, and the package is valid, records the deposit exactly
once per version, and holds no temporaries.
"""
from __future__ import annotations

import importlib
import json
import shutil
import warnings
from pathlib import Path

from faults import archiver_command, run_killed_at, steps_of
from ocfl_checks import assert_root_valid

from archiver.deposit import deposit
from archiver.deposit.receipt import read_receipts
from archiver.durable import is_temporary
from archiver.package.record import UPDATE_DIR
from archiver.validate import validate_bag

# Recording the event is archiver.package.record's own multi-step update; its recovery
# (complete or undo on the next run) is what makes a kill inside it recoverable.
RECORD_RECOVERS = hasattr(importlib.import_module("archiver.package.record"), "recover")


def _deposit_cmd(bag: Path, root: Path) -> list[str]:
    return archiver_command("deposit", "-q", str(bag), "--to", f"ocfl:{root}")


def _rep_events(bag: Path) -> int:
    from lxml import etree
    tree = etree.parse(str(bag / "metadata" / "premis.xml"))
    ns = {"p": "http://www.loc.gov/premis/v3"}
    return sum(1 for e in tree.iterfind("p:event", ns)
               if e.find("p:eventType", ns).get("valueURI", "").endswith("/rep")
               and e.findtext("p:eventOutcomeInformation/p:eventOutcome", namespaces=ns) == "success")


def _check_after_rerun(bag: Path, root: Path, head: str) -> None:
    [objdir] = assert_root_valid(root, 1)  # no staging left beside the root either
    inventory = json.loads((objdir / "inventory.json").read_text())
    assert inventory["head"] == head
    assert "data/report.txt" in json.dumps(inventory["versions"][head]["state"])
    report = validate_bag(str(bag), jobs=1)
    assert report.valid, [p.to_dict() for p in report.problems]
    leftovers = [str(p.relative_to(bag)) for p in bag.rglob("*") if is_temporary(p.name)]
    assert leftovers == []
    receipts = [r for r in read_receipts(bag) if r["outcome"] == "success"]
    # one successful deposit recorded per version, the last naming the head
    assert [r["version"] for r in receipts] == [f"v{n}" for n in range(1, int(head[1:]) + 1)]
    assert _rep_events(bag) == len(receipts)


def _steps_and_what(bag: Path, root: Path, cwd: Path) -> list[str]:
    return [line.split(" ", 2)[2] for line in steps_of(_deposit_cmd(bag, root), cwd=cwd)]


def _in_record(what: str, bag: Path) -> bool:
    """Whether a step writes into the package (the record), not into the OCFL root."""
    target = what.split(" -> ")[-1]
    return bag.name in target and ".archiver-ocfl-" not in target and "repository" not in target


def _each_step(tmp_path: Path, prepare, head: str):
    template = tmp_path / "template"
    bag, root = prepare(template)
    count = tmp_path / "count"  # counted on a copy: the counting run deposits
    shutil.copytree(template, count, symlinks=True)
    steps = _steps_and_what(count / bag.relative_to(template), count / root.relative_to(template), count)
    assert len(steps) > 10
    unchecked = []
    for n, what in enumerate(steps, 1):
        work = tmp_path / f"at-{n}"
        shutil.copytree(template, work, symlinks=True)
        w_bag, w_root = work / bag.relative_to(template), work / root.relative_to(template)
        run_killed_at(_deposit_cmd(w_bag, w_root), n, cwd=work)
        if not RECORD_RECOVERS and _in_record(what, w_bag):
            unchecked.append(n)  # see RECORD_RECOVERS
            continue
        [rerun] = deposit([w_bag], f"ocfl:{w_root}", config={})
        assert rerun.ok, (n, what, rerun.status, rerun.message, rerun.problems)
        try:
            _check_after_rerun(w_bag, w_root, head)
        except AssertionError as e:
            raise AssertionError(f"killed at step {n} ({what}): {e}") from None
        shutil.rmtree(work)
    if unchecked:
        warnings.warn(f"steps {unchecked} (inside the package record) not checked: "
                      "archiver.package.record cannot recover them yet")


def test_a_new_object_killed_at_every_step_is_completed_by_the_next_run(tmp_path, bag_factory):
    def prepare(base: Path):
        bag = bag_factory("rpt-crash")  # in tmp_path/packages
        shutil.move(bag, base / "packages" / bag.name)
        return base / "packages" / bag.name, base / "repository"  # no root yet: its creation counts
    (tmp_path / "template" / "packages").mkdir(parents=True)
    _each_step(tmp_path, prepare, "v1")


def test_a_new_version_killed_at_every_step_is_completed_by_the_next_run(tmp_path, bag_factory,
                                                                          revalidate):
    def prepare(base: Path):
        bag = bag_factory("rpt-crash")
        shutil.move(bag, base / "packages" / bag.name)
        bag, root = base / "packages" / bag.name, base / "repository"
        assert deposit([bag], f"ocfl:{root}", config={})[0].status == "deposited"
        revalidate(bag)  # the package changed: its next deposit is v2
        return bag, root
    (tmp_path / "template" / "packages").mkdir(parents=True)
    _each_step(tmp_path, prepare, "v2")


def test_a_batch_killed_at_every_step_is_completed_by_the_next_run(tmp_path, bag_factory):
    """Two packages in one batch (--jobs 1): their objects committed together, then their
    records made durable together (record_events: staged, one sync, committed, one sync,
    moved into place, one sync). Killed at every step of that, then run again."""
    template = tmp_path / "template"
    (template / "packages").mkdir(parents=True)
    for name in ("rpt-batch-a", "rpt-batch-b"):
        shutil.move(bag_factory(name), template / "packages" / name)

    def cmd(base: Path) -> list[str]:
        return archiver_command("deposit", "-q", "--jobs", "1", str(base / "packages"),
                                "--to", f"ocfl:{base / 'repository'}")

    count = tmp_path / "count"
    shutil.copytree(template, count)
    steps = [line.split(" ", 2)[2] for line in steps_of(cmd(count), cwd=count)]
    # both records staged before either is committed: one batch
    commits = [i for i, what in enumerate(steps)
               if what.startswith("rename") and what.endswith("/intent.json")]
    stages = [i for i, what in enumerate(steps) if what.startswith("mkdir") and UPDATE_DIR in what]
    assert len(commits) == len(stages) == 2 and max(stages) < min(commits), steps
    for n, what in enumerate(steps, 1):
        work = tmp_path / f"at-{n}"
        shutil.copytree(template, work)
        run_killed_at(cmd(work), n, cwd=work)
        results = deposit([work / "packages"], f"ocfl:{work / 'repository'}", config={}, jobs=1)
        assert all(r.ok for r in results), (n, what, [(r.status, r.message) for r in results])
        try:
            objdirs = assert_root_valid(work / "repository", 2)
            assert sorted(json.loads((d / "inventory.json").read_text())["head"] for d in objdirs) == ["v1", "v1"]
            for bag in sorted((work / "packages").iterdir()):
                report = validate_bag(str(bag), jobs=1)
                assert report.valid, [p.to_dict() for p in report.problems]
                assert [str(p.relative_to(bag)) for p in bag.rglob("*") if is_temporary(p.name)] == []
                receipts = [r for r in read_receipts(bag) if r["outcome"] == "success"]
                assert [r["version"] for r in receipts] == ["v1"] and _rep_events(bag) == 1
        except AssertionError as e:
            raise AssertionError(f"killed at step {n} ({what}): {e}") from None
        shutil.rmtree(work)
