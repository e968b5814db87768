"""Secrets are hidden without changing data: a password that also occurs in what the server
sends ("sword", the reference server's default, under a /swordv2 path as DSpace serves it)
changes no byte of any receipt, identifier, file name or message; and a password variable
that is not set is a configuration error, not a 401."""
from __future__ import annotations

import base64
import hashlib
import json
import logging

import pytest
from click.testing import CliRunner
from lxml import etree

from archiver.cli import main
from archiver.deposit.base import ConfigurationError
from archiver.deposit.config import resolve
from archiver.deposit.receipt import read_receipts

PREMIS = "{http://www.loc.gov/premis/v3}"


@pytest.fixture
def workdir(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("XDG_CONFIG_HOME", str(tmp_path / "user-config"))
    return tmp_path


def test_password_env_naming_an_unset_variable_is_a_configuration_error(workdir, bag_factory,
                                                                        monkeypatch):
    monkeypatch.delenv("ARCHIVER_TEST_UNSET_PASSWORD", raising=False)
    with pytest.raises(ConfigurationError, match="ARCHIVER_TEST_UNSET_PASSWORD"):
        resolve("sword:https://repo.example.org/sd",
                {"deposit": {"sword": {"password_env": "ARCHIVER_TEST_UNSET_PASSWORD"}}}, {})
    (workdir / "archiver.toml").write_text(
        '[deposit.targets.repo]\ntype = "sword"\nservice_document = "http://127.0.0.1:9/sd"\n'
        'password_env = "ARCHIVER_TEST_UNSET_PASSWORD"\n')
    bag = bag_factory()
    result = CliRunner().invoke(main, ["deposit", str(bag), "--to", "repo"])
    assert result.exit_code == 2
    assert "ARCHIVER_TEST_UNSET_PASSWORD" in result.output
    assert not (bag / "metadata" / "deposits").exists()   # nothing was tried


def test_a_password_found_in_server_documents_changes_no_byte(workdir, bag_factory,
                                                              sword_server_factory, monkeypatch,
                                                              caplog):
    caplog.set_level(logging.DEBUG)
    server = sword_server_factory(user="sword", password="sword", prefix="/swordv2")
    (workdir / "archiver.toml").write_text(f"""
[deposit.targets.repo]
type = "sword"
service_document = "{server.url}"
collection = "reports"
username = "sword"
password_env = "TEST_SWORD_PASSWORD"

[deposit.targets.stranger]
type = "sword"
service_document = "{server.url}"
collection = "reports"
username = "nobody"
password = "sword"
""")
    monkeypatch.setenv("TEST_SWORD_PASSWORD", "sword")
    bag = bag_factory("rpt-sword")
    runner = CliRunner()
    first = runner.invoke(main, ["deposit", str(bag), "--to", "repo", "--json"])
    assert first.exit_code == 0, first.output
    [item] = json.loads(first.output)["results"]
    assert item["status"] == "deposited" and item["verified"] is True
    assert "/swordv2/edit/" in item["remote_id"] and "/swordv2/" in item["details"]["em-iri"]
    # the next run finds the previous deposit: the receipt's target and IRIs are intact
    again = runner.invoke(main, ["deposit", str(bag), "--to", "repo"])
    assert again.exit_code == 0 and "unchanged" in again.output, again.output
    refused = runner.invoke(main, ["deposit", str(bag), "--to", "stranger"])
    assert refused.exit_code == 1 and "HTTP 401" in refused.output
    assert len(server.state()["containers"]) == 1

    success, failure = read_receipts(bag)
    assert success["target"] == f"sword:{server.url}" and success["remoteIdentifier"] == item["remote_id"]
    assert failure["outcome"] == "failure" and failure["details"]["error-code"] == "SWORD-UNAUTHORIZED"
    # every document of the server is stored exactly as it was sent
    sent = server.state()["sent_receipts"]
    folder = bag / "metadata" / "deposits"
    for document in success["server_documents"]:
        data = (folder / document["file"]).read_bytes()
        assert hashlib.sha256(data).hexdigest() == document["sha256"] and document["sha256"] in sent
        assert b'xmlns:sword="http://purl.org/net/sword/terms/"' in data
    # our receipts are XML, and PREMIS names receipt files that exist
    for receipt in folder.glob("*.xml"):
        etree.parse(str(receipt))
    notes = [n.text for n in etree.parse(str(bag / "metadata" / "premis.xml")).iter(
        f"{PREMIS}eventOutcomeDetailNote") if n.text and "receipt metadata/deposits/" in n.text]
    assert len(notes) == 2
    for note in notes:
        assert (bag / note.rsplit("receipt ", 1)[1]).is_file()
    assert runner.invoke(main, ["validate", str(bag)]).exit_code == 0

    # nothing was masked anywhere, and the credentials themselves appear nowhere
    written = "".join(p.read_text(errors="replace") for p in bag.rglob("*") if p.is_file())
    haystack = first.output + again.output + refused.output + caplog.text + written
    assert "***" not in haystack
    for user in ("sword", "nobody"):
        assert base64.b64encode(f"{user}:sword".encode()).decode() not in haystack
