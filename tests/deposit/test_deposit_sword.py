"""Deposit over SWORD v2, against the project's own SWORD 2.0 test server (a separate process)."""
from __future__ import annotations

import base64
import io
import zipfile

import requests

from archiver.deposit import deposit
from archiver.deposit.receipt import read_receipts
from archiver.deposit.sword import parse_error, parse_receipt, parse_service_document


def sword_config(server, secrets, password=None, **extra):
    return {"deposit": {"sword": {"username": secrets["sword_user"],
                                  "password": password or secrets["sword_password"],
                                  "retry": {"attempts": 3, "base": 0.05, "cap": 0.2}, **extra}}}


def test_service_document_lists_collections(sword_server, secrets):
    response = requests.get(sword_server.url, auth=(secrets["sword_user"], secrets["sword_password"]))
    collections = parse_service_document(response.content)
    assert [c.title for c in collections] == ["Reports from at-risk sources", "Theses"]
    assert "http://purl.org/net/sword/package/BagIt" in collections[0].packaging
    assert collections[0].mediation


def test_deposit_posts_a_zipped_bag_and_completes_it(bag_factory, sword_server, secrets):
    bag = bag_factory("rpt-sword")
    config = sword_config(sword_server, secrets, collection="reports")
    [result] = deposit([bag], f"sword:{sword_server.url}", config=config)
    assert result.status == "deposited" and result.verified, result.message
    assert result.remote_id.startswith(f"http://127.0.0.1:{sword_server.port}/edit/")
    cid = result.remote_id.rsplit("/", 1)[1]
    container = sword_server.state()["containers"][cid]
    assert container["in_progress"] is False          # completed after verification
    assert container["packaging"] == "http://purl.org/net/sword/package/BagIt"
    assert container["filename"] == "rpt-sword.zip"
    content = requests.get(f"http://127.0.0.1:{sword_server.port}/em/{cid}",
                           auth=(secrets["sword_user"], secrets["sword_password"])).content
    names = zipfile.ZipFile(io.BytesIO(content)).namelist()
    assert "rpt-sword/bagit.txt" in names and "rpt-sword/data/report.txt" in names
    # The receipt keeps the server's own Atom receipt and the IRIs; the event is a transfer.
    [receipt] = read_receipts(bag)
    assert receipt["details"]["edit-iri"] == result.remote_id
    assert receipt["details"]["em-iri"].endswith(f"/em/{cid}")
    assert receipt["details"]["statement-iri"].endswith(f"/statement/{cid}")
    text = (bag / result.receipt).read_text()
    assert "http://www.w3.org/2005/Atom" in text
    assert 'valueURI="http://id.loc.gov/vocabulary/preservation/eventType/tra"' in \
        (bag / "metadata" / "premis.xml").read_text()


def test_deposited_twice_is_a_no_op_and_a_change_replaces_the_content(
        bag_factory, sword_server, secrets, revalidate):
    bag = bag_factory()
    config = sword_config(sword_server, secrets, collection="reports")
    first = deposit([bag], f"sword:{sword_server.url}", config=config)[0]
    assert first.status == "deposited"
    before = len(sword_server.state()["containers"])
    again = deposit([bag], f"sword:{sword_server.url}", config=config)[0]
    assert again.status == "unchanged" and again.verified
    assert len(sword_server.state()["containers"]) == before
    revalidate(bag)
    third = deposit([bag], f"sword:{sword_server.url}", config=config)[0]
    assert third.status == "deposited" and third.remote_id == first.remote_id
    cid = first.remote_id.rsplit("/", 1)[1]
    assert sword_server.state()["containers"][cid]["versions"] == 2
    assert len(sword_server.state()["containers"]) == before


def test_500_on_first_try_then_success(bag_factory, sword_server_factory, secrets):
    server = sword_server_factory("--fail-first", "1")
    bag = bag_factory()
    [result] = deposit([bag], f"sword:{server.url}",
                       config=sword_config(server, secrets, collection="reports"))
    assert result.status == "deposited" and result.verified, result.message
    state = server.state()
    assert state["deposit_attempts"] == 2 and len(state["containers"]) == 1


def test_corrupted_upload_is_caught_and_deleted(bag_factory, sword_server_factory, secrets):
    server = sword_server_factory("--corrupt")
    bag = bag_factory()
    [result] = deposit([bag], f"sword:{server.url}",
                       config=sword_config(server, secrets, collection="reports"))
    assert result.status == "failed" and not result.verified
    assert "verification failed" in result.message
    assert server.state()["containers"] == {}  # the unverified deposit was deleted
    [receipt] = read_receipts(bag)
    assert receipt["outcome"] == "failure"


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
    config = sword_config(server, secrets, collection="reports", on_behalf_of="jbloggs")
    [result] = deposit([bag_factory()], f"sword:{server.url}", config=config)
    assert result.status == "deposited", result.message
    [container] = server.state()["containers"].values()
    assert container["on_behalf_of"] == "jbloggs"
    config = sword_config(server, secrets, collection="reports", on_behalf_of="stranger")
    [refused] = deposit([bag_factory()], f"sword:{server.url}", config=config)
    assert refused.status == "failed" and "TargetOwnerUnknown" in refused.message


def test_server_enforces_the_profile(sword_server, secrets):
    """The test server itself: checksum, packaging and auth errors as SWORD error documents."""
    auth = (secrets["sword_user"], secrets["sword_password"])
    col = f"http://127.0.0.1:{sword_server.port}/col/reports"
    body = io.BytesIO()
    with zipfile.ZipFile(body, "w") as zf:
        zf.writestr("b/bagit.txt", "BagIt-Version: 1.0\n")
    headers = {"Content-Disposition": "attachment; filename=b.zip", "Content-Type": "application/zip",
               "Packaging": "http://purl.org/net/sword/package/BagIt", "Content-MD5": "0" * 32}
    bad_md5 = requests.post(col, data=body.getvalue(), headers=headers, auth=auth)
    assert bad_md5.status_code == 412
    assert parse_error(bad_md5.content)[0] == "http://purl.org/net/sword/error/ErrorChecksumMismatch"
    headers.pop("Content-MD5")
    headers["Packaging"] = "http://example.org/unknown"
    bad_packaging = requests.post(col, data=body.getvalue(), headers=headers, auth=auth)
    assert bad_packaging.status_code == 415
    assert parse_error(bad_packaging.content)[0].endswith("/ErrorContent")
    assert requests.get(sword_server.url).status_code == 401
    headers["Packaging"] = "http://purl.org/net/sword/package/BagIt"
    created = requests.post(col, data=body.getvalue(), headers={**headers, "In-Progress": "true"},
                            auth=auth)
    assert created.status_code == 201
    receipt = parse_receipt(created.content)
    assert created.headers["Location"] == receipt.edit_iri
    assert receipt.em_iri and receipt.se_iri and receipt.statements
    statement = requests.get(next(iter(receipt.statements.values())), auth=auth).text
    assert "inProgress" in statement
    assert requests.delete(receipt.edit_iri, auth=auth).status_code == 204
