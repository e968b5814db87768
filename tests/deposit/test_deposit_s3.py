"""Deposit to S3-compatible storage: SeaweedFS (checks Content-MD5 and credentials like S3)
and moto (accepts wrong checksums, so verification must be our own), both real processes."""
from __future__ import annotations

import io
import os
import tarfile

import boto3
import pytest
from botocore.config import Config

from archiver.deposit import deposit, resolve_target
from archiver.deposit.receipt import read_receipts


def s3_config(server, access_key, secret_key, **extra):
    return {"deposit": {"s3": {"endpoint_url": server["endpoint"], "access_key_id": access_key,
                               "secret_access_key": secret_key,
                               "retry": {"attempts": 3, "base": 0.05, "cap": 0.2}, **extra}}}


@pytest.fixture
def weed_config(seaweedfs, secrets):
    return s3_config(seaweedfs, secrets["s3_access_key"], secrets["s3_secret_key"])


@pytest.fixture
def weed_client(seaweedfs, secrets):
    return boto3.client("s3", endpoint_url=seaweedfs["endpoint"], region_name="us-east-1",
                        aws_access_key_id=secrets["s3_access_key"],
                        aws_secret_access_key=secrets["s3_secret_key"],
                        config=Config(s3={"addressing_style": "path"}))


def stored_members(client, key):
    body = client.get_object(Bucket="deposits", Key=key)["Body"].read()
    with tarfile.open(fileobj=io.BytesIO(body)) as tar:
        return {m.name: tar.extractfile(m).read() for m in tar.getmembers() if m.isfile()}


def test_deposit_uploads_a_verified_tar_named_after_the_package(bag_factory, weed_config, weed_client):
    bag = bag_factory("rpt-s3-one")
    [result] = deposit([bag], "s3://deposits/bags", config=weed_config)
    assert result.status == "deposited", result.message
    assert result.verified and result.remote_id == "s3://deposits/bags/rpt-s3-one.tar"
    members = stored_members(weed_client, "bags/rpt-s3-one.tar")
    assert members["rpt-s3-one/data/report.txt"] == (bag / "data" / "report.txt").read_bytes()
    assert "rpt-s3-one/bagit.txt" in members and "rpt-s3-one/metadata/premis.xml" in members
    [receipt] = read_receipts(bag)
    assert receipt["outcome"] == "success" and len(receipt["details"]["sha256"]) == 64
    assert int(receipt["bytes"]) == result.bytes


def test_same_package_twice_is_a_no_op_and_a_change_uploads_again(bag_factory, weed_config, revalidate):
    bag = bag_factory()
    first = deposit([bag], "s3://deposits/twice", config=weed_config)[0]
    assert first.status == "deposited"
    again = deposit([bag], "s3://deposits/twice", config=weed_config)[0]
    assert again.status == "unchanged" and again.verified and again.bytes == 0
    assert len(read_receipts(bag)) == 1
    revalidate(bag)
    third = deposit([bag], "s3://deposits/twice", config=weed_config)[0]
    assert third.status == "deposited" and third.bytes > 0
    assert len(read_receipts(bag)) == 2


def test_a_stored_copy_changed_since_is_reported_not_overwritten(bag_factory, weed_config, weed_client):
    """An unchanged package whose stored tar rotted (its metadata kept): the deposit says
    so and uploads nothing (a fresh upload would heal the damage and hide it)."""
    bag = bag_factory()
    deposit([bag], "s3://deposits/rot", config=weed_config)
    key = f"rot/{bag.name}.tar"
    stored = weed_client.get_object(Bucket="deposits", Key=key)
    body = bytearray(stored["Body"].read())
    body[len(body) // 3] ^= 1
    weed_client.put_object(Bucket="deposits", Key=key, Body=bytes(body), Metadata=stored["Metadata"])
    [again] = deposit([bag], "s3://deposits/rot", config=weed_config)
    assert again.status == "failed" and again.code == "S3-STORED-CHANGED" and not again.verified
    assert weed_client.get_object(Bucket="deposits", Key=key)["Body"].read() == bytes(body)


def test_credentials_in_a_url_are_refused_without_being_repeated(bag_factory, weed_config):
    from click.testing import CliRunner

    from archiver.cli import main
    from archiver.deposit.base import ConfigurationError

    bag = bag_factory()
    config = {"deposit": {"s3": {**weed_config["deposit"]["s3"],
                                 "endpoint_url": "http://AKIAUSER:EndpointSecret77@127.0.0.1:9/"}}}
    with pytest.raises(ConfigurationError) as refused:
        deposit([bag], "s3://deposits/creds", config=config)
    assert "credentials" in str(refused.value) and "EndpointSecret77" not in str(refused.value)
    assert not read_receipts(bag)  # nothing written into the package either
    out = CliRunner().invoke(main, ["deposit", "--to", "sword:http://depositor:MyPassw0rd@127.0.0.1:9/sd",
                                    str(bag)])
    assert out.exit_code == 2 and "credentials" in out.output and "MyPassw0rd" not in out.output


def test_large_bag_goes_up_in_parts(bag_factory, seaweedfs, secrets, weed_client):
    bag = bag_factory(payload={"video.bin": os.urandom(11 * (1 << 20))})
    config = s3_config(seaweedfs, secrets["s3_access_key"], secrets["s3_secret_key"],
                       multipart_threshold=5 << 20, part_size=5 << 20)
    [result] = deposit([bag], "s3://deposits/large", config=config)
    assert result.status == "deposited" and result.verified, result.message
    assert "multipart (3 parts)" in result.message
    assert weed_client.head_object(Bucket="deposits", Key=f"large/{bag.name}.tar")[
        "ContentLength"] == result.bytes


def test_failed_multipart_upload_is_aborted(bag_factory, seaweedfs, secrets, weed_client):
    bag = bag_factory(payload={"video.bin": os.urandom(11 * (1 << 20))})
    config = s3_config(seaweedfs, secrets["s3_access_key"], secrets["s3_secret_key"],
                       multipart_threshold=5 << 20, part_size=5 << 20)
    target = resolve_target("s3://deposits/aborted", config)
    client = target.client()
    calls = {"n": 0}

    def fail_second_part(params, **kw):
        calls["n"] += 1
        if calls["n"] == 2:
            raise RuntimeError("disk full on the client side")
    client.meta.events.register("before-parameter-build.s3.UploadPart", fail_second_part)
    [result] = deposit([bag], target, config=config)
    assert result.status == "failed" and "disk full" in result.message
    uploads = weed_client.list_multipart_uploads(Bucket="deposits", Prefix="aborted/")
    assert not uploads.get("Uploads")
    assert "Contents" not in weed_client.list_objects_v2(Bucket="deposits", Prefix="aborted/")


def test_connection_lost_on_first_try_is_retried(bag_factory, weed_config):
    from botocore.exceptions import ConnectionClosedError
    bag = bag_factory()
    target = resolve_target("s3://deposits/flaky", weed_config)
    calls = {"n": 0}

    def drop_first(request, **kw):
        calls["n"] += 1
        if calls["n"] == 1:
            raise ConnectionClosedError(endpoint_url=request.url)
    target.client().meta.events.register("before-send.s3.PutObject", drop_first)
    [result] = deposit([bag], target)
    assert result.status == "deposited" and result.verified, result.message
    assert calls["n"] == 2


def _corrupt_body(request):
    body = request.body
    data = body.read() if hasattr(body, "read") else bytes(body)
    data = bytearray(data)
    data[len(data) // 2] ^= 0xFF
    request.body = bytes(data)


def test_seaweedfs_rejects_a_corrupted_upload_and_the_retry_succeeds(bag_factory, weed_config):
    bag = bag_factory()
    target = resolve_target("s3://deposits/md5", weed_config)
    calls = {"n": 0}

    def corrupt_first(request, **kw):
        calls["n"] += 1
        if calls["n"] == 1:
            _corrupt_body(request)
    target.client().meta.events.register("before-send.s3.PutObject", corrupt_first)
    [result] = deposit([bag], target)
    assert result.status == "deposited" and result.verified, result.message
    assert calls["n"] == 2  # the first, corrupted, PUT was refused (BadDigest) and retried


def test_corrupted_upload_accepted_by_the_server_is_caught_by_verification(bag_factory, moto_s3):
    """moto stores a body that does not match its Content-MD5: only the read-back sees it."""
    bag = bag_factory()
    config = s3_config(moto_s3, "moto", "moto-secret")
    target = resolve_target("s3://deposits/corrupt", config)
    target.client().meta.events.register("before-send.s3.PutObject",
                                         lambda request, **kw: _corrupt_body(request))
    [result] = deposit([bag], target)
    assert result.status == "failed" and not result.verified
    assert "verification failed" in result.message
    client = boto3.client("s3", endpoint_url=moto_s3["endpoint"], region_name="us-east-1",
                          aws_access_key_id="moto", aws_secret_access_key="moto-secret")
    assert "Contents" not in client.list_objects_v2(Bucket="deposits", Prefix="corrupt/")
    [receipt] = read_receipts(bag)
    assert receipt["outcome"] == "failure"
    assert receipt["details"]["error-code"] == "S3-VERIFY-MISMATCH"


def test_moto_deposit_round_trip(bag_factory, moto_s3):
    bag = bag_factory()
    config = s3_config(moto_s3, "moto", "moto-secret")
    assert deposit([bag], "s3://deposits/moto", config=config)[0].status == "deposited"
    assert deposit([bag], "s3://deposits/moto", config=config)[0].status == "unchanged"


def test_wrong_credentials_fail_without_leaking_them(bag_factory, seaweedfs, secrets):
    bag = bag_factory()
    wrong_secret = "wrong-secret-Pq7Rt2Vx"
    config = s3_config(seaweedfs, secrets["s3_access_key"], wrong_secret)
    [result] = deposit([bag], "s3://deposits/denied", config=config)
    assert result.status == "failed" and "refused the credentials" in result.message
    everything = result.message + "".join(p.read_text(errors="replace")
                                          for p in bag.rglob("*") if p.is_file())
    assert wrong_secret not in everything


def test_server_down_fails_after_bounded_retries(bag_factory, closed_port):
    bag = bag_factory()
    config = s3_config({"endpoint": f"http://127.0.0.1:{closed_port}"}, "key", "down-secret")
    [result] = deposit([bag], "s3://deposits/down", config=config)
    assert result.status == "failed" and "could not reach" in result.message
    assert "gave up after 3 attempts" in result.message
    assert result.seconds < 10
