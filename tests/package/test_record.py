"""Recording an event: never launders damage, and survives a crash at every step."""
from __future__ import annotations

import shutil
from pathlib import Path

import bagit
import pytest

from archiver import build as build_api
from archiver.validate import validate_bag
from faults import archiver_command, crash_every_step, run_killed_at, steps_of

EXAMPLES = Path(__file__).resolve().parents[2] / "examples" / "reports"


@pytest.fixture(scope="module")
def built(tmp_path_factory) -> Path:
    out = tmp_path_factory.mktemp("packages")
    results = build_api([str(EXAMPLES / "000_5ed87340bfc4ba71.txt")], str(out), durable=False, jobs=1)
    assert results[0].status == "built", results[0].message
    return Path(results[0].path)


@pytest.fixture
def package(built, tmp_path) -> Path:
    copy = tmp_path / built.name
    shutil.copytree(built, copy)
    return copy


def _codes(report) -> set[tuple[str, str]]:
    return {(p.code, p.path) for p in report.errors}


def _files(bag: Path) -> dict[str, bytes]:
    return {p.relative_to(bag).as_posix(): p.read_bytes() for p in bag.rglob("*") if p.is_file()}


def _bagit_valid(bag: Path) -> bool:
    try:
        bagit.Bag(str(bag)).validate()
        return True
    except bagit.BagValidationError:
        return False


def test_record_keeps_an_edited_package_exactly_as_invalid(package):
    """The review's case: dc.xml and bag-info.txt edited, then validate --record."""
    dc = package / "metadata" / "dc.xml"
    dc.write_bytes(dc.read_bytes().replace(b"<dcterms:title", b"<dcterms:title>forged</dcterms:title><dcterms:title"))
    info = package / "bag-info.txt"
    info.write_bytes(info.read_bytes() + b"Contact-Name: someone else\n")
    tag_lines = {alg: (package / f"tagmanifest-{alg}.txt").read_bytes().splitlines()
                 for alg in ("sha256", "sha512")}
    before = validate_bag(package, jobs=1)
    assert ("BAGIT-CHECKSUM-MISMATCH", "metadata/dc.xml") in _codes(before)
    assert ("BAGIT-CHECKSUM-MISMATCH", "bag-info.txt") in _codes(before)

    recorded = validate_bag(package, jobs=1, record=True)
    assert recorded.recorded and not recorded.valid
    after = validate_bag(package, jobs=1)
    assert _codes(after) == _codes(before)  # exactly as invalid: nothing healed, nothing added
    assert not _bagit_valid(package)
    for alg, lines in tag_lines.items():  # other files' lines kept verbatim, wrong as they are
        now = (package / f"tagmanifest-{alg}.txt").read_bytes().splitlines()
        assert [ln for ln in now if not ln.endswith(b"metadata/premis.xml")] == \
            [ln for ln in lines if not ln.endswith(b"metadata/premis.xml")]
    assert b"failure" in (package / "metadata" / "premis.xml").read_bytes()


def test_record_refuses_to_vouch_for_an_edited_premis(package):
    premis = package / "metadata" / "premis.xml"
    premis.write_bytes(premis.read_bytes().replace(b"</premis:premis>", b"<!-- edited --></premis:premis>"))
    before = _files(package)
    report = validate_bag(package, jobs=1, record=True)
    assert report.recorded is None
    assert ("VALIDATE-NOT-RECORDED", "metadata/premis.xml") in {(p.code, p.path) for p in report.problems}
    assert _files(package) == before  # nothing written
    assert ("BAGIT-CHECKSUM-MISMATCH", "metadata/premis.xml") in _codes(validate_bag(package, jobs=1))


def test_record_of_a_valid_package_keeps_it_valid_for_both_validators(package):
    assert validate_bag(package, jobs=1, record=True).recorded
    assert validate_bag(package, jobs=1).valid and _bagit_valid(package)


def test_old_temporaries_are_never_listed_and_are_removed_by_the_next_record(package):
    stray = package / "metadata" / ".premis.xml.k3j_9x2a"  # what a killed older version left
    stray.write_bytes(b"half a premis")
    report = validate_bag(package, jobs=1)
    assert report.valid  # not part of the bag, and said so
    assert ("PACKAGE-TEMPORARY-LEFTOVER", "metadata/.premis.xml.k3j_9x2a") in \
        {(p.code, p.path) for p in report.warnings}
    assert validate_bag(package, jobs=1, record=True).recorded
    assert not stray.exists()
    assert b".premis.xml" not in (package / "tagmanifest-sha256.txt").read_bytes()
    assert validate_bag(package, jobs=1).warnings == []


def _check_recovered(package: Path, pristine: dict[str, bytes]):
    def check(n: int) -> None:
        now = validate_bag(package, jobs=1)
        # between a crash and the next record the package is as it was, or says an update
        # is unfinished; it never looks valid with a premis.xml its manifest does not match
        if not now.valid:
            assert {p.code for p in now.errors} <= {"PACKAGE-UPDATE-INTERRUPTED", "BAGIT-CHECKSUM-MISMATCH"}, now.problems
            assert "PACKAGE-UPDATE-INTERRUPTED" in {p.code for p in now.errors}, (n, now.problems)
        rerun = validate_bag(package, jobs=1, record=True)
        assert rerun.valid and rerun.recorded, (n, rerun.problems)
        assert validate_bag(package, jobs=1).valid and _bagit_valid(package), n
        assert not (package / ".archiver-update").exists(), n
        assert not [p for p in package.rglob(".*")], n
        payload = {k: v for k, v in _files(package).items() if k.startswith("data/")}
        assert payload == {k: v for k, v in pristine.items() if k.startswith("data/")}, n
        events = (package / "metadata" / "premis.xml").read_bytes().count(b"<premis:event>")
        assert events in (len_events + 1, len_events + 2), n  # the rerun's, and the crashed one's if it committed

    len_events = pristine["metadata/premis.xml"].count(b"<premis:event>")
    return check


def test_validate_record_killed_at_every_step_recovers(package, tmp_path):
    pristine = _files(package)

    def prepare():
        shutil.rmtree(package)
        for rel, data in pristine.items():
            (package / rel).parent.mkdir(parents=True, exist_ok=True)
            (package / rel).write_bytes(data)

    cmd = archiver_command("validate", "--record", "--jobs", "1", str(package))
    steps = crash_every_step(cmd, _check_recovered(package, pristine), prepare=prepare)
    # staging (mkdir, premis, 2 tag manifests, intent), commit, 3 renames, clean-up
    assert steps >= 10


def test_a_deposit_completes_an_interrupted_record_and_deposits_no_temporary(package, tmp_path):
    cmd = archiver_command("validate", "--record", "--jobs", "1", str(package))
    steps = steps_of(cmd)
    renames = [i for i, s in enumerate(steps, 1) if " rename " in s and "intent.json" not in s]
    run_killed_at(archiver_command("validate", "--record", "--jobs", "1", str(package)), renames[1])
    assert (package / ".archiver-update" / "intent.json").is_file()
    assert "PACKAGE-UPDATE-INTERRUPTED" in {p.code for p in validate_bag(package, jobs=1).errors}
    root = tmp_path / "ocfl"
    import subprocess
    done = subprocess.run(archiver_command("deposit", str(package), "--to", f"ocfl:{root}"),
                          capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stdout + done.stderr
    assert validate_bag(package, jobs=1).valid
    stored = [p.name for p in root.rglob("*")]
    assert ".archiver-update" not in stored and not [n for n in stored if n.startswith(".premis")]


RECORD_BATCH = """
import sys, uuid
from pathlib import Path
from archiver.metadata.provenance import SOFTWARE
from archiver.model import Event
from archiver.package.record import Update, record_events

updates = [Update(Path(bag), Event(identifier=str(uuid.uuid4()), type="val",
                                   date_time="2024-02-01T00:00:00Z", outcome="success",
                                   agents=((SOFTWARE.identifier, "executing program"),)),
                  (SOFTWARE,), {"metadata/deposits/note.txt": b"recorded in a batch\\n"})
           for bag in sys.argv[1:]]
record_events(updates)
assert not [u.error for u in updates if u.error], [u.error for u in updates]
"""


def test_a_batch_record_killed_at_every_step_recovers(built, tmp_path):
    """record_events: every package staged, one sync, every intent committed, one sync,
    every update moved into place, one sync. Killed at each step, then recorded again: each
    package of the batch is valid for both validators, holds no temporaries, and has the
    crashed batch's event or not, never half of it."""
    import sys

    bags = [tmp_path / f"pkg-{i}" / built.name for i in range(2)]
    pristine = _files(built)

    def prepare():
        for bag in bags:
            shutil.rmtree(bag, ignore_errors=True)
            shutil.copytree(built, bag)

    before = pristine["metadata/premis.xml"].count(b"<premis:event>")

    def check(n: int) -> None:
        for bag in bags:
            now = validate_bag(bag, jobs=1)
            if not now.valid:  # between states, and saying so
                assert "PACKAGE-UPDATE-INTERRUPTED" in {p.code for p in now.errors}, (n, now.problems)
        rerun = validate_bag(bags[0], jobs=1, record=True)  # one record of one package...
        assert rerun.recorded, (n, rerun.problems)
        from archiver.metadata.provenance import SOFTWARE
        from archiver.model import Event
        from archiver.package.record import Update, record_events
        again = [Update(bag, Event(identifier=f"again-{n}-{i}", type="val",
                                   date_time="2024-03-01T00:00:00Z", outcome="success",
                                   agents=((SOFTWARE.identifier, "executing program"),)), (SOFTWARE,))
                 for i, bag in enumerate(bags)]
        record_events(again)  # ...and a batch of them all: both complete or undo the crashed one
        assert not [u.error for u in again if u.error], (n, [u.error for u in again])
        for i, bag in enumerate(bags):
            assert validate_bag(bag, jobs=1).valid and _bagit_valid(bag), (n, bag)
            assert not [p for p in bag.rglob(".*")], (n, bag)
            premis = (bag / "metadata" / "premis.xml").read_bytes()
            crashed = (bag / "metadata" / "deposits" / "note.txt").is_file()
            expected = before + (2 if i == 0 else 1) + (1 if crashed else 0)
            assert premis.count(b"<premis:event>") == expected, (n, bag)
            payload = {k: v for k, v in _files(bag).items() if k.startswith("data/")}
            assert payload == {k: v for k, v in pristine.items() if k.startswith("data/")}, n

    cmd = [sys.executable, "-c", RECORD_BATCH, *map(str, bags)]
    steps = crash_every_step(cmd, check, prepare=prepare)
    assert steps >= 2 * 9


def test_a_batch_record_syncs_per_batch_not_per_file(built, tmp_path):
    """Three syncs of the file system for the batch, no fsync per file."""
    import subprocess
    import sys

    from debian import ensure_command

    strace = ensure_command("strace", "strace")  # installed when missing, as .ci/run does
    bags = []
    for i in range(8):
        shutil.copytree(built, tmp_path / f"pkg-{i}" / built.name)
        bags.append(str(tmp_path / f"pkg-{i}" / built.name))
    log = tmp_path / "strace.log"
    done = subprocess.run([strace, "-f", "-e", "trace=fsync,fdatasync,sync,syncfs", "-o", str(log),
                           sys.executable, "-c", RECORD_BATCH, *bags], capture_output=True, text=True)
    assert done.returncode == 0, done.stderr
    calls = [line for line in log.read_text().splitlines() if "(" in line and "resumed" not in line]
    assert len([c for c in calls if "fsync(" in c or "fdatasync(" in c]) == 0, calls
    assert len([c for c in calls if "sync(" in c or "syncfs(" in c]) == 3, calls
    for bag in bags:
        assert validate_bag(bag, jobs=1).valid
