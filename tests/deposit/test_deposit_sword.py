"""Deposit over SWORD v2, against the project's SWORD 2.0 test server (a separate process) in
each of its modes: as the reference server behaves (SimpleZip only, the original deposit at
its own IRI), re-packaging, refusing every dissemination, ORE statements only, corrupting."""
from __future__ import annotations

import base64
import hashlib
import io
import zipfile

import pytest
import requests
from lxml import etree

from archiver.deposit import deposit
from archiver.deposit.receipt import read_receipts
from archiver.deposit.sword_documents import (BAGIT, SIMPLE_ZIP, STATE_SCHEME, parse_error,
                                              parse_receipt, parse_service_document,
                                              parse_statement)

ATOM = "http://www.w3.org/2005/Atom"
PREMIS = "{http://www.loc.gov/premis/v3}"


def sword_config(server, secrets, password=None, **extra):
    return {"deposit": {"sword": {"username": secrets["sword_user"],
                                  "password": password or secrets["sword_password"],
                                  "retry": {"attempts": 3, "base": 0.05, "cap": 0.2}, **extra}}}


def deposit_to(server, secrets, *bags, **extra):
    return deposit(list(bags), f"sword:{server.url}",
                   config=sword_config(server, secrets, collection="reports", **extra))


def auth(secrets):
    return (secrets["sword_user"], secrets["sword_password"])


def server_documents(bag, receipt):
    """The server's documents a receipt names, as stored in the package."""
    folder = bag / "metadata" / "deposits"
    return {d["role"]: (folder / d["file"]).read_bytes() for d in receipt["server_documents"]}


def test_service_document_lists_collections(sword_server, secrets):
    response = requests.get(sword_server.url, auth=auth(secrets))
    collections = parse_service_document(response.content)
    assert [c.title for c in collections] == ["Reports from at-risk sources", "Theses"]
    assert BAGIT in collections[0].packaging
    assert collections[0].mediation


def test_verified_by_the_original_deposit_bytes_and_completed(bag_factory, sword_server, secrets):
    """As the reference server: the statement names the original deposit, which is the zip
    sent, byte for byte; the EM-IRI offers only a SimpleZip of its own making."""
    bag = bag_factory("rpt-sword")
    [result] = deposit_to(sword_server, secrets, bag)
    assert result.status == "deposited" and result.verified, result.message
    assert result.verification == "bytes"
    assert result.remote_id.startswith(f"http://127.0.0.1:{sword_server.port}/edit/")
    cid = result.remote_id.rsplit("/", 1)[1]
    state = sword_server.state()
    container = state["containers"][cid]
    assert container["in_progress"] is False          # completed after verification
    assert container["packaging"] == BAGIT and container["filename"] == "rpt-sword.zip"
    # what the server disseminates is not what was sent: a zip around the deposited file
    content = requests.get(f"http://127.0.0.1:{sword_server.port}/em/{cid}", auth=auth(secrets)).content
    assert zipfile.ZipFile(io.BytesIO(content)).namelist() == ["rpt-sword.zip"]
    [receipt] = read_receipts(bag)
    details = receipt["details"]
    assert details["edit-iri"] == result.remote_id
    assert details["em-iri"].endswith(f"/em/{cid}")             # not the .feed one
    assert details["statement-iri"].endswith(f"/statement/{cid}")
    assert details["ore-statement-iri"].endswith(f"/statement/{cid}.rdf")
    assert details["verification"] == "bytes"
    assert details["verified-against"].startswith("original deposit ")
    # the server's receipts are kept exactly as it sent them
    documents = server_documents(bag, receipt)
    assert set(documents) == {"deposit-receipt", "completion-receipt"}
    for data in documents.values():
        assert hashlib.sha256(data).hexdigest() in state["sent_receipts"]
    assert parse_receipt(documents["deposit-receipt"]).edit_iri == result.remote_id
    premis = etree.parse(str(bag / "metadata" / "premis.xml"))
    [event] = [e for e in premis.iter(f"{PREMIS}event")
               if e.findtext(f"{PREMIS}eventType") == "transfer"]
    assert event.find(f"{PREMIS}eventType").get("valueURI").endswith("/eventType/tra")
    detail = event.findtext(f"{PREMIS}eventOutcomeInformation/{PREMIS}eventOutcomeDetail/"
                            f"{PREMIS}eventOutcomeDetailNote")
    assert "verified by bytes" in detail and (bag / result.receipt).is_file()
    assert result.receipt in detail


def test_repackaging_server_is_verified_by_content(bag_factory, sword_server_factory, secrets):
    """A server that names no original deposit and disseminates BagIt as a zip of its own:
    the bag in that zip is compared file by file with the package."""
    server = sword_server_factory("--repackage", "--disseminate", "BagIt", "--unlisted-original")
    bag = bag_factory("rpt-repack", payload={"report.txt": b"Witness account.\n",
                                             "photos/caf\u00e9.jpg": b"\xff\xd8" + bytes(5000)})
    [result] = deposit_to(server, secrets, bag)
    assert result.status == "deposited" and result.verified, result.message
    assert result.verification == "content"
    assert "EM-IRI as BagIt" in result.details["verified-against"]
    cid = result.remote_id.rsplit("/", 1)[1]
    assert server.state()["containers"][cid]["in_progress"] is False
    # the test is real: the bytes served differ from the bytes stored
    em = requests.get(f"http://127.0.0.1:{server.port}/em/{cid}", auth=auth(secrets),
                      headers={"Accept-Packaging": BAGIT}).content
    part = requests.get(f"http://127.0.0.1:{server.port}/part/{cid}/rpt-repack.zip",
                        auth=auth(secrets)).content
    assert em != part and hashlib.sha256(part).hexdigest() == result.details["sha256"]


def test_bagit_refused_with_406_then_verified_through_simplezip(bag_factory, sword_server_factory,
                                                                 secrets):
    """The reference server's default: BagIt is not disseminated (406), SimpleZip is a zip
    holding the deposited zip; with no original deposit named, that is what is checked."""
    server = sword_server_factory("--unlisted-original", "--disseminate", "SimpleZip")
    bag = bag_factory("rpt-simple")
    [result] = deposit_to(server, secrets, bag)
    assert result.status == "deposited" and result.verified, result.message
    assert result.verification == "content"
    assert "EM-IRI as SimpleZip" in result.details["verified-against"]
    assert "rpt-simple.zip > rpt-simple/" in result.details["verification-detail"]


def test_ore_statement_alone_names_the_original_deposit(bag_factory, sword_server_factory, secrets):
    server = sword_server_factory("--statement", "ore")
    [result] = deposit_to(server, secrets, bag_factory())
    assert result.status == "deposited" and result.verification == "bytes", result.message
    assert result.details["statement-iri"].endswith(".rdf")


def test_nothing_to_check_is_deposited_unverified_and_kept(bag_factory, sword_server_factory, secrets):
    server = sword_server_factory("--disseminate", "none", "--unlisted-original")
    bag = bag_factory()
    [result] = deposit_to(server, secrets, bag)
    assert result.status == "deposited" and result.ok
    assert result.verified is False and result.verification == "none"
    assert "unverified" in result.message and "406" in result.message
    [container] = server.state()["containers"].values()
    assert container["in_progress"] is False          # completed, never deleted
    [receipt] = read_receipts(bag)
    assert receipt["outcome"] == "success" and receipt["verified"] == "false"
    assert receipt["details"]["verification"] == "none"
    assert "; unverified; receipt " in (bag / "metadata" / "premis.xml").read_text()


@pytest.mark.parametrize("flags", [(), ("--repackage", "--disseminate", "BagIt", "--unlisted-original")],
                         ids=["reference", "repackaging"])
def test_deposited_twice_is_a_no_op_and_a_change_replaces_the_content(
        bag_factory, sword_server_factory, secrets, revalidate, flags):
    server = sword_server_factory(*flags)
    bag = bag_factory()
    first = deposit_to(server, secrets, bag)[0]
    assert first.status == "deposited" and first.verified, first.message
    again = deposit_to(server, secrets, bag)[0]
    assert again.status == "unchanged" and again.verified, again.message
    assert len(server.state()["containers"]) == 1
    revalidate(bag)
    third = deposit_to(server, secrets, bag)[0]
    assert third.status == "deposited" and third.verified and third.remote_id == first.remote_id
    assert third.details["resumed"] == first.remote_id
    [container] = server.state()["containers"].values()
    assert container["versions"] == 2 and container["in_progress"] is False


def test_500_on_first_try_then_success(bag_factory, sword_server_factory, secrets):
    server = sword_server_factory("--fail-first", "1")
    [result] = deposit_to(server, secrets, bag_factory())
    assert result.status == "deposited" and result.verified, result.message
    state = server.state()
    assert state["deposit_attempts"] == 2 and len(state["containers"]) == 1


def test_corrupted_deposit_is_kept_and_the_next_run_replaces_it(bag_factory, sword_server_factory,
                                                                secrets):
    server = sword_server_factory("--corrupt")
    bag = bag_factory()
    [failed] = deposit_to(server, secrets, bag)
    assert failed.status == "failed" and not failed.verified
    assert "verification failed" in failed.message and "next deposit" in failed.message
    [container] = server.state()["containers"].values()
    assert container["in_progress"] is True            # never completed, never deleted
    [receipt] = read_receipts(bag)
    assert receipt["outcome"] == "failure"
    details = receipt["details"]
    for iri in ("edit-iri", "em-iri", "se-iri", "statement-iri", "ore-statement-iri"):
        assert details[iri].startswith(f"http://127.0.0.1:{server.port}/"), iri
    assert details["error-code"] == "SWORD-VERIFY-MISMATCH"
    assert failed.details["edit-iri"] == details["edit-iri"]
    server.set_mode(corrupt=False)
    [finished] = deposit_to(server, secrets, bag)
    assert finished.status == "deposited" and finished.verified, finished.message
    assert finished.remote_id == details["edit-iri"] and finished.details["resumed"] == finished.remote_id
    [container] = server.state()["containers"].values()   # no duplicate
    assert container["versions"] == 2 and container["in_progress"] is False


def test_a_read_back_that_fails_keeps_the_container_for_the_next_run(bag_factory,
                                                                      sword_server_factory, secrets):
    server = sword_server_factory()
    server.set_mode(fail_reads=100)
    bag = bag_factory()
    [failed] = deposit_to(server, secrets, bag)
    assert failed.status == "failed" and "HTTP 500" in failed.message
    [receipt] = read_receipts(bag)
    assert receipt["details"]["edit-iri"] == failed.details["edit-iri"]
    server.set_mode(fail_reads=0)
    [finished] = deposit_to(server, secrets, bag)
    assert finished.status == "deposited" and finished.verified, finished.message
    assert finished.remote_id == failed.details["edit-iri"]
    assert len(server.state()["containers"]) == 1


def test_a_container_removed_on_the_server_is_deposited_anew(bag_factory, sword_server_factory,
                                                             secrets, revalidate):
    server = sword_server_factory()
    bag = bag_factory()
    first = deposit_to(server, secrets, bag)[0]
    assert requests.delete(first.remote_id, auth=auth(secrets)).status_code == 204
    revalidate(bag)
    second = deposit_to(server, secrets, bag)[0]
    assert second.status == "deposited" and second.remote_id != first.remote_id
    assert "is gone" in second.message and len(server.state()["containers"]) == 1


def test_wrong_credentials(bag_factory, sword_server, secrets):
    bag = bag_factory()
    wrong = "not-the-password-Vb6Nq1"
    [result] = deposit([bag], f"sword:{sword_server.url}",
                       config=sword_config(sword_server, secrets, password=wrong, collection="reports"))
    assert result.status == "failed" and "refused the credentials (HTTP 401)" in result.message
    basic = base64.b64encode(f"{secrets['sword_user']}:{wrong}".encode()).decode()
    written = "".join(p.read_text(errors="replace") for p in bag.rglob("*") if p.is_file())
    for secret in (wrong, basic):
        assert secret not in result.message and secret not in written


def test_server_down(bag_factory, closed_port, secrets):
    bag = bag_factory()
    url = f"http://127.0.0.1:{closed_port}/sd"
    [result] = deposit([bag], f"sword:{url}", config=sword_config(None, secrets))
    assert result.status == "failed" and "could not reach the SWORD server" in result.message
    assert "gave up after 3 attempts" in result.message


def test_several_collections_need_a_choice(bag_factory, sword_server, secrets):
    """Only one collection takes BagIt here, so it is chosen; a wrong name is an error."""
    bag = bag_factory()
    [chosen] = deposit([bag], f"sword:{sword_server.url}", config=sword_config(sword_server, secrets))
    assert chosen.status == "deposited"
    [wrong] = deposit([bag_factory()], f"sword:{sword_server.url}",
                      config=sword_config(sword_server, secrets, collection="nope"))
    assert wrong.status == "failed" and "no collection 'nope'" in wrong.message
    [refused] = deposit([bag_factory()], f"sword:{sword_server.url}",
                        config=sword_config(sword_server, secrets, collection="Theses"))
    assert refused.status == "failed" and "does not accept BagIt" in refused.message


def test_on_behalf_of_is_sent_and_recorded(bag_factory, sword_server_factory, secrets):
    server = sword_server_factory("--known-owner", "jbloggs")
    [result] = deposit_to(server, secrets, bag_factory(), on_behalf_of="jbloggs")
    assert result.status == "deposited", result.message
    [container] = server.state()["containers"].values()
    assert container["on_behalf_of"] == "jbloggs"
    [refused] = deposit_to(server, secrets, bag_factory(), on_behalf_of="stranger")
    assert refused.status == "failed" and "TargetOwnerUnknown" in refused.message


def test_server_follows_the_profile(sword_server, secrets):
    """The test server itself: checksum, packaging and auth errors as SWORD error documents;
    406 for a packaging it does not disseminate; the state where the sword2 client reads it."""
    col = f"http://127.0.0.1:{sword_server.port}/col/reports"
    body = io.BytesIO()
    with zipfile.ZipFile(body, "w") as zf:
        zf.writestr("b/bagit.txt", "BagIt-Version: 1.0\n")
    headers = {"Content-Disposition": "attachment; filename=b.zip", "Content-Type": "application/zip",
               "Packaging": BAGIT, "Content-MD5": "0" * 32}
    bad_md5 = requests.post(col, data=body.getvalue(), headers=headers, auth=auth(secrets))
    assert bad_md5.status_code == 412
    assert parse_error(bad_md5.content)[0] == "http://purl.org/net/sword/error/ErrorChecksumMismatch"
    headers.pop("Content-MD5")
    headers["Packaging"] = "http://example.org/unknown"
    bad_packaging = requests.post(col, data=body.getvalue(), headers=headers, auth=auth(secrets))
    assert bad_packaging.status_code == 415
    assert parse_error(bad_packaging.content)[0].endswith("/ErrorContent")
    assert requests.get(sword_server.url).status_code == 401
    headers["Packaging"] = BAGIT
    created = requests.post(col, data=body.getvalue(), headers={**headers, "In-Progress": "true"},
                            auth=auth(secrets))
    assert created.status_code == 201
    receipt = parse_receipt(created.content)
    assert created.headers["Location"] == receipt.edit_iri
    assert receipt.em_iri.endswith(receipt.edit_iri.rsplit("/", 1)[1])  # the media, not the feed
    assert receipt.packaging == [SIMPLE_ZIP] and receipt.original_deposit
    refused = requests.get(receipt.em_iri, headers={"Accept-Packaging": BAGIT}, auth=auth(secrets))
    assert refused.status_code == 406
    assert parse_error(refused.content)[0] == "http://purl.org/net/sword/error/ErrorContent"
    simple = requests.get(receipt.em_iri, auth=auth(secrets))
    assert simple.headers["Packaging"] == SIMPLE_ZIP and simple.content != body.getvalue()
    assert requests.get(receipt.original_deposit, auth=auth(secrets)).content == body.getvalue()
    atom = requests.get(receipt.statements["application/atom+xml;type=feed"], auth=auth(secrets))
    feed = etree.fromstring(atom.content)
    # where the sword2 client looks: atom:category with the state scheme, its text the description
    [category] = [c for c in feed.findall(f"{{{ATOM}}}category") if c.get("scheme") == STATE_SCHEME]
    assert category.get("term") == "http://purl.org/net/sword/state/in-progress" and category.text
    for kind in ("application/atom+xml;type=feed", "application/rdf+xml"):
        statement = parse_statement(requests.get(receipt.statements[kind], auth=auth(secrets)).content)
        assert statement.states[0][0] == "http://purl.org/net/sword/state/in-progress"
        [original] = statement.original_deposits
        assert original.href == receipt.original_deposit and original.packaging == [BAGIT]
    assert requests.delete(receipt.edit_iri, auth=auth(secrets)).status_code == 204


def test_cli_json_reports_the_container_it_resumed(bag_factory, sword_server_factory, secrets,
                                                   tmp_path, monkeypatch):
    import json

    from click.testing import CliRunner

    from archiver.cli import main

    server = sword_server_factory("--corrupt", "--disseminate", "none")
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("XDG_CONFIG_HOME", str(tmp_path / "user-config"))
    (tmp_path / "archiver.toml").write_text(
        f'[deposit.targets.repo]\ntype = "sword"\nservice_document = "{server.url}"\n'
        f'collection = "reports"\nusername = "{secrets["sword_user"]}"\n'
        f'password = "{secrets["sword_password"]}"\n')
    bag = bag_factory()
    failed = CliRunner().invoke(main, ["deposit", str(bag), "--to", "repo", "--json"])
    assert failed.exit_code == 1
    [item] = json.loads(failed.output)["results"]
    assert item["status"] == "failed" and item["details"]["edit-iri"]
    server.set_mode(corrupt=False)
    done = CliRunner().invoke(main, ["deposit", str(bag), "--to", "repo", "--json"])
    assert done.exit_code == 0, done.output
    [item2] = json.loads(done.output)["results"]
    assert item2["status"] == "deposited" and item2["details"]["resumed"] == item["details"]["edit-iri"]
    # nothing to read back at all: deposited, and the line says it is unverified and why
    server.set_mode(unlisted_original=True)
    text = CliRunner().invoke(main, ["deposit", str(bag_factory()), "--to", "repo"])
    assert text.exit_code == 0 and "verified no" in text.output and "unverified:" in text.output
