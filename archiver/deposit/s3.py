"""S3-compatible object storage, through boto3: one tar-serialized bag per package.

The object is `<prefix>/<bag name>.tar`, holding the bag under a top-level directory of the
same name (the way APTrust and many cloud archives receive bags). Small bags go up in one
PUT, large ones in a multipart upload that is aborted on any failure, so no partial object
is left behind. Every request carries a Content-MD5 the server must check; the SHA-256 of
the tar travels as object metadata. Verification does not take the server's word: the
stored object is read back and its size and SHA-256 compared with what was sent.
"""
from __future__ import annotations

import base64
import hashlib
import logging
import os
import tarfile
import tempfile
from pathlib import Path

from archiver.deposit.base import (DEPOSITED, UNCHANGED, ConfigurationError, DepositError,
                                   Outcome, Previous, Target, deposited)
from archiver.deposit.retry import RetryPolicy, with_retry
from archiver.urls import has_userinfo

log = logging.getLogger("archiver.deposit")

MiB = 1 << 20
DEFAULT_THRESHOLD = 64 * MiB
DEFAULT_PART_SIZE = 16 * MiB
MIN_PART_SIZE = 5 * MiB  # S3's floor for every part but the last
BLOCK = 1 << 20
TRANSIENT_CODES = {"InternalError", "ServiceUnavailable", "SlowDown", "RequestTimeout",
                   "RequestTimeTooSkewed", "BadDigest", "XAmzContentSHA256Mismatch"}
AUTH_CODES = {"InvalidAccessKeyId", "SignatureDoesNotMatch", "AccessDenied", "ExpiredToken",
              "InvalidToken"}


class _HashingWriter:
    """A file wrapper that hashes what is written through it."""

    def __init__(self, f):
        self.f, self.sha256, self.size = f, hashlib.sha256(), 0

    def write(self, data):
        self.sha256.update(data)
        self.size += len(data)
        return self.f.write(data)

    def tell(self):
        return self.size


def write_tar(bag: Path, out) -> tuple[int, str]:
    """Write `bag` as an uncompressed tar under `<bag name>/`; return (size, sha256).

    Entries are sorted and owners normalised, so the same bag gives the same bytes.
    """
    writer = _HashingWriter(out)
    with tarfile.open(fileobj=writer, mode="w", format=tarfile.PAX_FORMAT) as tar:
        for path in [bag, *sorted(bag.rglob("*"))]:
            rel = path.relative_to(bag).as_posix()
            if not deposited(rel):
                continue  # archiver's own temporaries are never deposited
            name = bag.name if rel == "." else f"{bag.name}/{rel}"
            info = tar.gettarinfo(str(path), arcname=name)
            info.uid = info.gid = 0
            info.uname = info.gname = ""
            info.mode = 0o755 if info.isdir() else 0o644
            if info.isfile():
                with open(path, "rb") as f:
                    tar.addfile(info, f)
            elif info.isdir():
                tar.addfile(info)
            # symlinks and other types are not part of a valid bag's content
    return writer.size, writer.sha256.hexdigest()


def _md5_b64(data: bytes) -> str:
    return base64.b64encode(hashlib.md5(data).digest()).decode("ascii")


class S3Target(Target):
    kind = "s3"
    event_type = "rep"

    def __init__(self, bucket: str, prefix: str = "", endpoint_url: str | None = None,
                 region: str | None = None, addressing_style: str = "path",
                 multipart_threshold: int = DEFAULT_THRESHOLD, part_size: int = DEFAULT_PART_SIZE,
                 timeout: float = 60.0, retry: dict | None = None, secrets: dict | None = None,
                 **unknown):
        if unknown:
            raise ConfigurationError(f"unknown S3 target setting(s): {', '.join(sorted(unknown))}")
        self.bucket, self.prefix = bucket, prefix.strip("/")
        self.endpoint_url = endpoint_url or os.environ.get("AWS_ENDPOINT_URL_S3") or \
            os.environ.get("AWS_ENDPOINT_URL")
        if self.endpoint_url and has_userinfo(str(self.endpoint_url)):
            # it would be quoted in messages, receipts and PREMIS (which only ever grows)
            raise ConfigurationError("the S3 endpoint URL holds credentials: put them in "
                                     "access_key_id / secret_access_key (or their _env settings), "
                                     "not in the URL")
        self.region = region or os.environ.get("AWS_REGION") or \
            os.environ.get("AWS_DEFAULT_REGION") or "us-east-1"
        self.addressing_style = addressing_style
        self.multipart_threshold = int(multipart_threshold)
        self.part_size = max(MIN_PART_SIZE, int(part_size))
        self.timeout = float(timeout)
        self.retry = RetryPolicy.from_config({"retry": retry or {}})
        self._secrets = dict(secrets or {})
        self._client = None

    @property
    def uri(self) -> str:
        where = f"s3://{self.bucket}/{self.prefix}".rstrip("/")
        return f"{where} at {self.endpoint_url}" if self.endpoint_url else where

    def secrets(self) -> list[str]:
        # The access key id names the account (AWS treats it as an identifier); the secret
        # key and session token are what must never be shown.
        return [self._secrets[k] for k in ("secret_access_key", "session_token")
                if self._secrets.get(k)]

    def key_for(self, bag: Path) -> str:
        return f"{self.prefix}/{bag.name}.tar" if self.prefix else f"{bag.name}.tar"

    # -- client and errors --------------------------------------------------------------
    def client(self):
        if self._client is None:
            import boto3
            from botocore.config import Config
            session = boto3.session.Session(
                aws_access_key_id=self._secrets.get("access_key_id"),
                aws_secret_access_key=self._secrets.get("secret_access_key"),
                aws_session_token=self._secrets.get("session_token"),
                region_name=self.region)
            config = Config(s3={"addressing_style": self.addressing_style},
                            retries={"max_attempts": 1, "mode": "standard"},  # ours: retry.py
                            connect_timeout=self.timeout, read_timeout=self.timeout,
                            request_checksum_calculation="when_required",
                            response_checksum_validation="when_required")
            self._client = session.client("s3", endpoint_url=self.endpoint_url, config=config)
        return self._client

    def _call(self, what: str, action):
        """Run one S3 request with retries; turn botocore's errors into DepositErrors."""
        def attempt():
            try:
                return action()
            except DepositError:
                raise
            except Exception as e:
                raise self._error(what, e) from None
        return with_retry(attempt, self.retry, what)

    def _error(self, what: str, e: Exception) -> DepositError:
        from botocore import exceptions as bx
        if isinstance(e, bx.ClientError):
            code = e.response.get("Error", {}).get("Code", "")
            status = e.response.get("ResponseMetadata", {}).get("HTTPStatusCode", 0)
            text = self.redact(e.response.get("Error", {}).get("Message", "") or str(e))
            if code in AUTH_CODES or status in (401, 403):
                return DepositError(f"{what}: the S3 endpoint refused the credentials or access "
                                    f"({code or status}: {text})", code="S3-ACCESS-DENIED")
            if code in ("NoSuchBucket",):
                return DepositError(f"{what}: no bucket {self.bucket!r} at the endpoint",
                                    code="S3-NO-BUCKET")
            return DepositError(f"{what}: {code or status}: {text}", code="S3-ERROR",
                                transient=status >= 500 or code in TRANSIENT_CODES)
        if isinstance(e, bx.NoCredentialsError):
            return DepositError(f"{what}: no S3 credentials (set them in archiver.toml or the "
                                "AWS_ACCESS_KEY_ID / AWS_SECRET_ACCESS_KEY environment variables)",
                                code="S3-NO-CREDENTIALS")
        if isinstance(e, (bx.EndpointConnectionError, bx.ConnectionClosedError,
                          bx.ConnectTimeoutError, bx.ReadTimeoutError,
                          bx.ResponseStreamingError, ConnectionError, TimeoutError)):
            return DepositError(f"{what}: could not reach the S3 endpoint "
                                f"{self.endpoint_url or '(AWS)'}: {self.redact(str(e))}",
                                code="S3-UNREACHABLE", transient=True)
        return DepositError(f"{what}: {self.redact(str(e))}", code="S3-ERROR")

    # -- deposit ------------------------------------------------------------------------
    def put(self, bag: Path, package_id: str, fingerprint: str,
            previous: Previous | None, vouched=None) -> Outcome:
        key = self.key_for(bag)
        remote_id = f"s3://{self.bucket}/{key}"
        details = {"bucket": self.bucket, "key": key, "endpoint": self.endpoint_url}
        stored = self._head(key)
        if previous and previous.fingerprint == fingerprint and stored and \
                stored.get("sha256") == previous.details.get("sha256"):
            size, sha256 = self._read_back(key)
            if sha256 == stored["sha256"]:
                return Outcome(status=UNCHANGED, remote_id=remote_id, verified=True,
                               details={**details, "sha256": sha256, "size": size},
                               message="unchanged since its last deposit: nothing uploaded")
            raise _changed_since(remote_id, stored["sha256"], sha256)
        with tempfile.TemporaryFile(prefix="archiver-deposit-") as spool:
            size, sha256 = write_tar(bag, spool)
            details.update({"sha256": sha256, "size": size})
            if stored and stored.get("sha256") == sha256 and stored.get("size") == size:
                got_size, got_sha = self._read_back(key)
                if (got_size, got_sha) == (size, sha256):
                    return Outcome(status=UNCHANGED, remote_id=remote_id, verified=True,
                                   details=details, message="same bytes already stored")
                raise _changed_since(remote_id, sha256, got_sha)
            metadata = {"sha256": sha256, "archiver-fingerprint": fingerprint}
            if size <= self.multipart_threshold:
                self._put_single(spool, key, size, metadata)
                details["upload"] = "single"
            else:
                parts = self._put_multipart(spool, key, size, metadata)
                details["upload"] = f"multipart ({parts} parts)"
        got_size, got_sha = self._read_back(key)
        if (got_size, got_sha) != (size, sha256):
            self._delete(key)
            raise DepositError(
                f"verification failed for {remote_id}: stored {got_size} bytes with SHA-256 "
                f"{got_sha[:16]}…, sent {size} bytes with SHA-256 {sha256[:16]}…; "
                "the stored object was removed", code="S3-VERIFY-MISMATCH",
                details={**details, "stored-sha256": got_sha, "stored-size": got_size})
        return Outcome(status=DEPOSITED, remote_id=remote_id, bytes=size, verified=True,
                       details=details, message=f"uploaded {key} ({details['upload']}), "
                                                "read back and verified")

    def _head(self, key: str) -> dict | None:
        from botocore.exceptions import ClientError
        client = self.client()

        def head():
            try:
                return client.head_object(Bucket=self.bucket, Key=key)
            except ClientError as e:
                if e.response.get("ResponseMetadata", {}).get("HTTPStatusCode") == 404:
                    return None
                raise
        found = self._call(f"checking {key}", head)
        if found is None:
            return None
        return {"size": found.get("ContentLength"),
                "sha256": (found.get("Metadata") or {}).get("sha256")}

    def _put_single(self, spool, key: str, size: int, metadata: dict) -> None:
        client = self.client()
        spool.seek(0)
        md5 = hashlib.md5()
        while chunk := spool.read(BLOCK):
            md5.update(chunk)
        content_md5 = base64.b64encode(md5.digest()).decode("ascii")

        def upload():
            spool.seek(0)
            return client.put_object(Bucket=self.bucket, Key=key, Body=spool, ContentLength=size,
                                     ContentMD5=content_md5, ContentType="application/x-tar",
                                     Metadata=metadata)
        self._call(f"uploading {key}", upload)

    def _put_multipart(self, spool, key: str, size: int, metadata: dict) -> int:
        client = self.client()
        started = self._call(f"starting the multipart upload of {key}", lambda: client.create_multipart_upload(
            Bucket=self.bucket, Key=key, ContentType="application/x-tar", Metadata=metadata))
        upload_id = started["UploadId"]
        parts = []
        try:
            for number, offset in enumerate(range(0, size, self.part_size), start=1):
                spool.seek(offset)
                chunk = spool.read(self.part_size)
                content_md5 = _md5_b64(chunk)
                response = self._call(
                    f"uploading part {number} of {key}",
                    lambda n=number, c=chunk, m=content_md5: client.upload_part(
                        Bucket=self.bucket, Key=key, UploadId=upload_id, PartNumber=n, Body=c,
                        ContentMD5=m))
                parts.append({"PartNumber": number, "ETag": response["ETag"]})
            self._call(f"completing the multipart upload of {key}",
                       lambda: client.complete_multipart_upload(
                           Bucket=self.bucket, Key=key, UploadId=upload_id,
                           MultipartUpload={"Parts": parts}))
        except BaseException:
            try:
                client.abort_multipart_upload(Bucket=self.bucket, Key=key, UploadId=upload_id)
                log.info("aborted the multipart upload of %s", key)
            except Exception as e:  # best effort; the upload expires server-side
                log.warning("could not abort the multipart upload of %s: %s", key,
                            self.redact(str(e)))
            raise
        return len(parts)

    def _read_back(self, key: str) -> tuple[int, str]:
        """Size and SHA-256 of the stored bytes, streamed from the server."""
        client = self.client()

        def read():
            response = client.get_object(Bucket=self.bucket, Key=key)
            h, size = hashlib.sha256(), 0
            for chunk in response["Body"].iter_chunks(BLOCK):
                h.update(chunk)
                size += len(chunk)
            return size, h.hexdigest()
        return self._call(f"reading back {key}", read)

    def _delete(self, key: str) -> None:
        try:
            self.client().delete_object(Bucket=self.bucket, Key=key)
        except Exception as e:
            log.warning("could not remove %s after a failed verification: %s", key,
                        self.redact(str(e)))


def _changed_since(remote_id: str, deposited: str, found: str) -> DepositError:
    """The stored copy of an unchanged package no longer is what was deposited: reported and
    left as it is, never overwritten (that would heal the damage and hide it)."""
    return DepositError(f"{remote_id}: the stored copy changed since it was deposited (SHA-256 "
                        f"{deposited[:12]}… then, {found[:12]}… now); nothing uploaded, the copy left "
                        "as it is for inspection", code="S3-STORED-CHANGED")
