"""A SWORD deposit killed (SIGKILL) at every one of its steps, and POSTs whose answer never
comes, against the project's SWORD test server (a separate process).

The window that matters is the one between the server's 201 and the receipt in the package:
a run that dies there, or a POST that times out after the server made the container, must
not leave a container the package does not know about, and the next run must not make a
second one. After each trial: exactly one container on the server, completed; the package
valid, with exactly one receipt, naming that container, and no pending record left.
"""
from __future__ import annotations

import hashlib
import io
import os
import shutil
import signal
import subprocess
import time
import zipfile
from pathlib import Path

import pytest
import requests
from faults import archiver_command, processes_in_group, run_killed_at, steps_of
from lxml import etree

from archiver.deposit import deposit
from archiver.deposit.pending import PENDING_DIR
from archiver.deposit.receipt import read_receipts
from archiver.durable import is_temporary
from archiver.package.record import UPDATE_DIR
from archiver.validate import validate_bag

PREMIS = "{http://www.loc.gov/premis/v3}"


def _config(secrets, **extra) -> dict:
    return {"deposit": {"sword": {"username": secrets["sword_user"],
                                  "password": secrets["sword_password"], "collection": "reports",
                                  "retry": {"attempts": 3, "base": 0.05, "cap": 0.2}, **extra}}}


def _toml(server, secrets, **extra) -> str:
    """archiver.toml for the command line: the same target as _config's."""
    more = "".join(f"{key} = {value!r}\n".replace("'", '"') for key, value in extra.items())
    return (f'[deposit.sword]\nusername = "{secrets["sword_user"]}"\n'
            f'password = "{secrets["sword_password"]}"\ncollection = "reports"\n'
            "retry = {attempts = 3, base = 0.05, cap = 0.2}\n" + more)


def _deposit_cmd(bag: Path, server) -> list[str]:
    return archiver_command("deposit", "-q", str(bag), "--to", f"sword:{server.url}")


def _transfers(bag: Path) -> list[str]:
    tree = etree.parse(str(bag / "metadata" / "premis.xml"))
    return [e.findtext(f"{PREMIS}eventOutcomeInformation/{PREMIS}eventOutcome")
            for e in tree.iter(f"{PREMIS}event") if e.findtext(f"{PREMIS}eventType") == "transfer"]


def _leftovers(bag: Path) -> list[str]:
    return [str(p.relative_to(bag)) for p in bag.rglob("*") if is_temporary(p.name)]


def _check_one_deposit(server, bag: Path, secrets, deposits: int = 1) -> dict:
    """No duplicate, no orphan, the package valid, its receipts (one per deposit, the last
    returned) consistent with the server."""
    state = server.state()
    [(cid, container)] = state["containers"].items()
    assert container["in_progress"] is False, "left in progress"
    edit_iri = f"http://127.0.0.1:{server.port}/edit/{cid}"
    report = validate_bag(str(bag), jobs=1)
    assert report.valid, [p.to_dict() for p in report.problems]
    assert _leftovers(bag) == [], "temporaries or a pending record left"
    receipts = read_receipts(bag)
    assert [r["outcome"] for r in receipts] == ["success"] * deposits
    receipt = receipts[-1]
    assert receipt["remoteIdentifier"] == receipt["details"]["edit-iri"] == edit_iri
    folder = bag / "metadata" / "deposits"
    for document in receipt["server_documents"]:   # kept exactly as the server sent them
        assert hashlib.sha256((folder / document["file"]).read_bytes()).hexdigest() in state["sent_receipts"]
    assert _transfers(bag) == ["success"] * deposits
    # what the server holds is the package: no pending record, no temporary in it
    stored = requests.get(f"http://127.0.0.1:{server.port}/part/{cid}/{container['filename']}",
                          auth=(secrets["sword_user"], secrets["sword_password"])).content
    names = zipfile.ZipFile(io.BytesIO(stored)).namelist()
    assert not [n for n in names if PENDING_DIR in n or is_temporary(n.rsplit("/", 1)[-1])], names
    return receipt


@pytest.mark.parametrize("changed", [False, True], ids=["new-container", "changed-package"])
def test_killed_at_every_step_leaves_no_duplicate_and_no_orphan(tmp_path, bag_factory,
                                                                sword_server_factory, secrets,
                                                                revalidate, changed):
    """Every step of a deposit: a new container (the POST, the pending record completed with
    the Edit-IRI, the completion, the record), and a changed package's deposit into the
    container it already has (the PUT, the completion, the record)."""
    server = sword_server_factory()
    template = bag_factory("rpt-sword-crash")
    (tmp_path / "archiver.toml").write_text(_toml(server, secrets))
    deposits = 2 if changed else 1

    def fresh(name: str) -> Path:
        server.reset()
        bag = tmp_path / name / template.name
        shutil.copytree(template, bag)
        if changed:
            assert deposit([bag], f"sword:{server.url}", config=_config(secrets))[0].ok
            revalidate(bag)
        return bag

    steps = [line.split(" ", 2)[2] for line in steps_of(_deposit_cmd(fresh("count"), server),
                                                         cwd=tmp_path)]
    posts = [i for i, what in enumerate(steps) if what.startswith("POST ") and "/col/" in what]
    if changed:  # into its container, never a new one
        assert not posts and any(what.startswith("PUT ") for what in steps), steps
    else:  # the window: the POST, then the pending record completed with the Edit-IRI
        assert len(posts) == 1 and PENDING_DIR in steps[posts[0] + 1], steps
    assert any("In-Progress: false" in what for what in steps)
    for n, what in enumerate(steps, 1):
        bag = fresh(f"at-{n}")
        run_killed_at(_deposit_cmd(bag, server), n, cwd=tmp_path)
        if (bag / PENDING_DIR).is_dir() and not (bag / UPDATE_DIR).exists():
            # in the window: the package is still valid, the pending record no part of it
            report = validate_bag(str(bag), jobs=1)
            assert report.valid, (n, what, [p.to_dict() for p in report.problems])
            assert PENDING_DIR not in (bag / "tagmanifest-sha256.txt").read_text()
            assert ("PACKAGE-DEPOSIT-PENDING", PENDING_DIR) in {(p.code, p.path) for p in report.problems}
        [rerun] = deposit([bag], f"sword:{server.url}", config=_config(secrets))
        assert rerun.ok, (n, what, rerun.status, rerun.message)
        try:
            _check_one_deposit(server, bag, secrets, deposits)
        except (AssertionError, ValueError) as e:
            raise AssertionError(f"killed at step {n} ({what}): {e}") from None
        if not changed and n > posts[0] + 1 and rerun.status != "unchanged":
            # the 201 was recorded: the rerun finished that container, it made none
            assert rerun.details.get("resumed") == rerun.remote_id, (n, what, rerun.message)
        shutil.rmtree(bag.parent)


def test_a_post_that_times_out_is_found_by_its_slug(bag_factory, sword_server_factory, secrets):
    """The server makes the container, its 201 comes after the client gave up: the retry looks
    for the Slug in the collection's listing, finds the container and finishes it."""
    server = sword_server_factory("--hang-deposits", "1", "--hang", "3")
    bag = bag_factory()
    [result] = deposit([bag], f"sword:{server.url}", config=_config(secrets, timeout=1))
    assert result.status == "deposited" and result.verified, result.message
    assert "found" in result.message and "by its Slug" in result.message
    assert server.state()["deposit_attempts"] == 1       # never POSTed twice
    receipt = _check_one_deposit(server, bag, secrets)
    assert receipt["details"]["slug"] == receipt["details"]["edit-iri"].rsplit("/", 1)[1]


def test_killed_while_the_post_waits_for_its_answer(tmp_path, bag_factory, sword_server_factory,
                                                    secrets):
    """SIGKILL after the server made the container, before its answer arrived: the pending
    record names the attempt and its Slug; the next run finds the container and finishes it."""
    server = sword_server_factory("--hang-deposits", "1", "--hang", "30")
    bag = bag_factory()
    (tmp_path / "archiver.toml").write_text(_toml(server, secrets))
    _killed_once_made(_deposit_cmd(bag, server), server, tmp_path)
    assert (bag / PENDING_DIR).is_dir() and read_receipts(bag) == []
    assert [(p.code, p.severity) for p in validate_bag(str(bag), jobs=1).problems] == [
        ("PACKAGE-DEPOSIT-PENDING", "warning")]
    [(cid, container)] = server.state()["containers"].items()
    assert container["in_progress"] is True
    [rerun] = deposit([bag], f"sword:{server.url}", config=_config(secrets))
    assert rerun.status == "deposited" and rerun.verified, rerun.message
    assert "finished the deposit an earlier run began" in rerun.message
    assert rerun.remote_id.endswith(f"/edit/{cid}")
    _check_one_deposit(server, bag, secrets)


def test_what_cannot_be_found_is_said(tmp_path, bag_factory, sword_server_factory, secrets):
    """A server that lists no collection: the container of the lost answer cannot be found.
    The next run deposits anew and says, in its message and receipt, what it could not find
    and that a container may be left in progress (never silence, never a guess)."""
    server = sword_server_factory("--no-listing", "--hang-deposits", "1", "--hang", "30")
    bag = bag_factory()
    (tmp_path / "archiver.toml").write_text(_toml(server, secrets))
    _killed_once_made(_deposit_cmd(bag, server), server, tmp_path)
    [rerun] = deposit([bag], f"sword:{server.url}", config=_config(secrets))
    assert rerun.status == "deposited" and rerun.verified, rerun.message
    assert "no listing" in rerun.message and "left in progress on the server" in rerun.message
    [receipt] = read_receipts(bag)
    assert "HTTP 405" in receipt["details"]["earlier-attempt"]
    assert not (bag / PENDING_DIR).exists()
    assert len(server.state()["containers"]) == 2        # the one it could not find, reported


def test_a_server_that_ignores_the_slug(bag_factory, sword_server_factory, secrets):
    """The answer is lost and the server named the container otherwise: the retry cannot find
    it in the listing, deposits again, and the result says so."""
    server = sword_server_factory("--ignore-slug", "--hang-deposits", "1", "--hang", "3")
    bag = bag_factory()
    [result] = deposit([bag], f"sword:{server.url}", config=_config(secrets, timeout=1))
    assert result.status == "deposited", result.message
    assert "not name containers by their Slug" in result.message
    assert "not name containers by their Slug" in read_receipts(bag)[0]["details"]["earlier-attempt"]
    assert server.state()["deposit_attempts"] == 2


def test_a_pending_record_that_cannot_be_read_stops_the_deposit(bag_factory, sword_server, secrets):
    bag = bag_factory()
    [first] = deposit([bag], f"sword:{sword_server.url}", config=_config(secrets))
    assert first.status == "deposited"
    (bag / PENDING_DIR).mkdir()
    from archiver.deposit.pending import _path
    _path(bag, f"sword:{sword_server.url}").write_text("{not json")
    [result] = deposit([bag], f"sword:{sword_server.url}", config=_config(secrets))
    assert result.status == "failed" and "cannot be read" in result.message
    assert read_receipts(bag)[-1]["details"]["error-code"] == "DEPOSIT-PENDING-UNREADABLE"


def _killed_once_made(cmd: list[str], server, cwd: Path) -> None:
    """Run `cmd` and SIGKILL it (its whole process group) once the server holds a container."""
    proc = subprocess.Popen(cmd, cwd=cwd, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                            start_new_session=True,
                            env={k: v for k, v in os.environ.items() if not k.startswith("ARCHIVER_CRASH")})
    try:
        deadline = time.monotonic() + 60
        while not server.state()["containers"]:
            assert proc.poll() is None, proc.communicate()
            assert time.monotonic() < deadline, "no container made"
            time.sleep(0.05)
    finally:
        os.killpg(proc.pid, signal.SIGKILL)
        proc.communicate()
    deadline = time.monotonic() + 5
    while processes_in_group(proc.pid) and time.monotonic() < deadline:
        time.sleep(0.05)
