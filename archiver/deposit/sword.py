"""SWORD v2 deposit (DSpace, EPrints, Dataverse, the SWORD reference server), our own client.

Fetch the service document, pick the collection, POST the zipped bag with Packaging
http://purl.org/net/sword/package/BagIt, a hex Content-MD5 (SWORD 2.0 profile 6.3.1),
In-Progress: true and On-Behalf-Of where given, and read the deposit receipt (section 10).

Then verify what the server holds by what it offers, never by assuming it returns the bytes
it was sent: the original deposit the statement lists (Atom or OAI-ORE, section 11), then the
EM-IRI in a packaging the receipt lists, then SimpleZip (6.4). Equal bytes verify; different
bytes are opened as a zip and the bag in it compared file by file with the package
(zipped_bag.py). A deposit is completed (an empty POST to the SE-IRI with In-Progress: false,
9.3) once verified, or once nothing the server offers could be checked ("deposited,
unverified"). One whose content differs is left in progress, never deleted, and its failure
receipt keeps every IRI: the next deposit of the package replaces the content of that same
container (PUT to the EM-IRI, 6.5.1), verifies and completes it. No orphans, no duplicates.

A run can die (or a POST's answer be lost) between the server's 201 and the receipt: so a
pending record (pending.py) is written in the package before the POST, naming the attempt and
the Slug it sends (AtomPub 9.7: the reference server names the container by it), and
completed with the Edit-IRI right after the 201. The next run, or the retry of a POST that
timed out, resumes that container; where the 201 was never recorded it looks for the Slug
in the collection's listing (6.2), and when it cannot find it, deposits anew and says what
it could not find.
"""
from __future__ import annotations

import base64
import hashlib
import logging
import re
import tempfile
import uuid
from collections.abc import Callable
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import datetime, timezone
from pathlib import Path
from urllib.parse import unquote

from archiver import durable
from archiver.deposit import pending
from archiver.deposit.base import (DEPOSITED, UNCHANGED, ConfigurationError, DepositError,
                                   Outcome, Previous, Target)
from archiver.deposit.receipt import changed_by_recording
from archiver.deposit.retry import RetryPolicy, with_retry
from archiver.deposit.sword_documents import (ATOM_FEED, BAGIT, SIMPLE_ZIP, Collection,
                                              DepositReceipt, OriginalDeposit,
                                              parse_collection_feed, parse_error, parse_receipt,
                                              parse_service_document, parse_statement)
from archiver.deposit.zipped_bag import (DIFFERENT, NOT_FOUND, SAME, compare_zip, package_files,
                                         write_zip)

log = logging.getLogger("archiver.deposit")

BLOCK = 1 << 20
LISTING_PAGES = 50   # pages of a collection's feed read when looking for a container


@dataclass
class Sent:
    """The zip that went to the server, as the verification needs it."""
    size: int
    sha256: str
    files: dict[str, tuple[int, str]]   # bag-relative path -> (size, sha256)
    md5: str = ""
    skip: Callable[[str], bool] | None = None  # files not to judge (see changed_by_recording)


@dataclass
class Verification:
    verified: bool
    way: str             # "bytes", "content" or "none"
    against: str         # what was compared: "original deposit IRI" / "EM-IRI (packaging)"
    detail: str

    def details(self) -> dict:
        return {"verification": self.way, "verified-against": self.against or None,
                "verification-detail": self.detail}

    def sentence(self) -> str:
        if self.way == "bytes":
            return f"verified: {self.against} is byte-identical to the zip sent"
        if self.way == "content":
            return f"verified by content: {self.against} holds {self.detail}"
        return f"unverified: nothing the server offers could be checked ({self.detail})"


@contextmanager
def _kept_in(details: dict):
    """A failure from here on carries the container's IRIs to its receipt, so the next run
    finishes that container instead of making another."""
    try:
        yield
    except DepositError as e:
        e.details = {**details, **e.details}
        raise


class SwordTarget(Target):
    kind = "sword"
    event_type = "tra"

    def __init__(self, service_document: str, collection: str | None = None,
                 in_progress: bool = True, timeout: float = 60.0, retry: dict | None = None,
                 secrets: dict | None = None, **unknown):
        if unknown:
            raise ConfigurationError(f"unknown SWORD target setting(s): {', '.join(sorted(unknown))}")
        self.service_document = service_document
        self.collection = collection
        self.in_progress = bool(in_progress)
        self.timeout = float(timeout)
        self.retry = RetryPolicy.from_config({"retry": retry or {}})
        self._secrets = dict(secrets or {})
        self._session = None

    @property
    def uri(self) -> str:
        return f"sword:{self.service_document}"

    def secrets(self) -> list[str]:
        password = self._secrets.get("password")
        if not password:
            return []
        basic = base64.b64encode(f"{self._secrets.get('username', '')}:{password}".encode()).decode()
        return [basic, password]

    # -- HTTP ---------------------------------------------------------------------------
    def session(self):
        if self._session is None:
            import requests
            self._session = requests.Session()
            if self._secrets.get("username") or self._secrets.get("password"):
                self._session.auth = (self._secrets.get("username", ""),
                                      self._secrets.get("password", ""))
            self._session.headers["User-Agent"] = "archiver-deposit"
            if self._secrets.get("on_behalf_of"):
                self._session.headers["On-Behalf-Of"] = self._secrets["on_behalf_of"]
        return self._session

    def _request(self, what: str, method: str, url: str, ok=(200,), body=None, **kw):
        """One HTTP exchange with retries on transient failures; errors made readable."""
        return with_retry(lambda: self._exchange(what, method, url, ok, body, **kw), self.retry, what)

    def _exchange(self, what: str, method: str, url: str, ok=(200,), body=None, **kw):
        import requests

        if body is not None:
            body.seek(0)
        try:
            response = self.session().request(method, url, data=body, timeout=self.timeout, **kw)
        except (requests.ConnectionError, requests.Timeout) as e:
            raise DepositError(f"{what}: could not reach the SWORD server at {url} "
                               f"({type(e).__name__})", code="SWORD-UNREACHABLE",
                               transient=True) from None
        except requests.RequestException as e:
            # requests may quote the request it could not send (a header, the URL)
            raise DepositError(f"{what}: {type(e).__name__}: {self.redact(str(e))}",
                               code="SWORD-REQUEST-FAILED") from None
        if response.status_code in ok:
            return response
        raise self._http_error(what, response)

    def _http_error(self, what: str, response) -> DepositError:
        status = response.status_code
        parsed = parse_error(response.content) if response.content else None
        detail = ""
        code = "SWORD-HTTP-ERROR"
        if parsed:
            href, summary = parsed
            detail = f" {href.rsplit('/', 1)[-1] or href}: {summary}"
            code = "SWORD-" + (href.rsplit("/", 1)[-1] or "ERROR")
        if status == 401:
            return DepositError(f"{what}: the SWORD server refused the credentials (HTTP 401)",
                                code="SWORD-UNAUTHORIZED", status=status)
        return DepositError(f"{what}: HTTP {status}{detail}", code=code, status=status,
                            transient=status >= 500 or status in (408, 429))

    def _download(self, what: str, url: str, spool, headers: dict | None = None):
        """GET `url` into `spool`; return (size, sha256, response headers)."""
        import requests

        def attempt():
            response = self._exchange(what, "GET", url, stream=True, headers=headers or {})
            spool.seek(0)
            spool.truncate()
            h, size = hashlib.sha256(), 0
            try:
                for chunk in response.iter_content(BLOCK):
                    h.update(chunk)
                    spool.write(chunk)
                    size += len(chunk)
            except requests.RequestException as e:
                raise DepositError(f"{what}: the transfer from {url} broke off ({type(e).__name__})",
                                   code="SWORD-UNREACHABLE", transient=True) from None
            finally:
                response.close()
            spool.flush()
            return size, h.hexdigest(), response.headers
        return with_retry(attempt, self.retry, what)

    # -- choosing where to deposit ------------------------------------------------------
    def choose_collection(self) -> Collection:
        response = self._request("fetching the service document", "GET", self.service_document)
        collections = parse_service_document(response.content)
        if not collections:
            raise DepositError("the service document lists no collections", code="SWORD-NO-COLLECTION")
        if self.collection:
            matches = [c for c in collections
                       if self.collection in (c.href, c.title) or c.href.rstrip("/").endswith(
                           "/" + self.collection.strip("/"))]
            if not matches:
                names = "; ".join(f"{c.title} <{c.href}>" for c in collections)
                raise DepositError(f"no collection {self.collection!r} in the service document "
                                   f"(it lists: {names})", code="SWORD-NO-COLLECTION")
            chosen = matches[0]
        elif len(collections) == 1:
            chosen = collections[0]
        else:
            bagit_ok = [c for c in collections if BAGIT in c.packaging]
            if len(bagit_ok) != 1:
                names = "; ".join(f"{c.title} <{c.href}>" for c in collections)
                raise DepositError(f"the service document lists several collections; choose one "
                                   f"with --collection or `collection` in archiver.toml ({names})",
                                   code="SWORD-NO-COLLECTION")
            chosen = bagit_ok[0]
        if chosen.packaging and BAGIT not in chosen.packaging:
            raise DepositError(f"collection {chosen.title!r} does not accept BagIt packages "
                               f"(it accepts {', '.join(chosen.packaging)})", code="SWORD-ErrorContent")
        return chosen

    # -- the deposit --------------------------------------------------------------------
    def put(self, bag: Path, package_id: str, fingerprint: str,
            previous: Previous | None, vouched=None) -> Outcome:
        attempt = pending.read(bag, self.uri)  # a deposit an earlier run began, not recorded
        container = dict(previous.details) if previous and previous.details.get("edit-iri") else None
        if (attempt is None and container and previous.outcome == "success"
                and previous.fingerprint == fingerprint):
            unchanged = self._unchanged(bag, previous)
            if unchanged is not None:
                return unchanged
        with tempfile.TemporaryFile(prefix="archiver-deposit-") as spool:
            sent = self._spool(bag, spool)
            if attempt is not None:
                return self._resume(bag, spool, sent, package_id, attempt)
            if container:
                outcome = self._replace(bag, spool, sent, previous)
                if outcome is not None:
                    return outcome
            return self._create(bag, spool, sent, package_id, gone=container)

    def _resume(self, bag: Path, spool, sent: Sent, package_id: str, attempt: dict) -> Outcome:
        """Finish the deposit an earlier run began and never recorded: its container when
        the 201 was recorded or the container is found by its Slug; else deposit again under
        the same attempt, saying what could not be found."""
        edit_iri, unfound = attempt.get("edit-iri"), None
        if not edit_iri:
            edit_iri, unfound = self._find(attempt)
        if edit_iri:
            outcome = self._replace(bag, spool, sent, _previous_of(attempt, edit_iri), attempt,
                                    said=f"finished the deposit an earlier run began in {edit_iri}")
            if outcome is not None:
                return outcome
            unfound = f"its container {edit_iri} is gone"
        return self._create(bag, spool, sent, package_id, gone=None, attempt=attempt,
                            unfound=unfound)

    def _find(self, attempt: dict) -> tuple[str | None, str]:
        """The container an unanswered POST of `attempt` made, looked for by its Slug in the
        collection's listing (profile 6.2: servers SHOULD offer one, clients MUST NOT need
        it). (Edit-IRI, "") when found, else (None, what could not be found, in words)."""
        slug, url, seen, pages = attempt["slug"], attempt["collection"], 0, 0
        while url and pages < LISTING_PAGES:
            try:
                page = parse_collection_feed(self._request("listing the collection", "GET", url).content)
            except DepositError as e:
                if e.transient:
                    raise
                return None, ("the collection offers no listing to look for it in "
                              f"({e.message.split(': ', 1)[-1]})")
            for edit_iri, identifier in page.members:
                if slug in (_last_name(edit_iri), _last_name(identifier)):
                    return edit_iri, ""
            seen, pages, url = seen + len(page.members), pages + 1, page.next
        more = f" (in the first {pages} pages of its listing)" if url else ""
        return None, (f"no container named {slug} among the {seen} the collection lists{more}; "
                      "a server that does not name containers by their Slug lists it under "
                      "another name")

    def _spool(self, bag: Path, spool) -> Sent:
        files = write_zip(bag, spool)
        spool.seek(0)
        md5, sha = hashlib.md5(), hashlib.sha256()
        size = 0
        while chunk := spool.read(BLOCK):
            md5.update(chunk)
            sha.update(chunk)
            size += len(chunk)
        return Sent(size=size, sha256=sha.hexdigest(), files=files, md5=md5.hexdigest())

    def _headers(self, bag: Path, sent: Sent) -> dict:
        return {"Content-Type": "application/zip",
                "Content-Disposition": f'attachment; filename="{bag.name}.zip"',
                "Packaging": BAGIT, "Content-MD5": sent.md5}

    def _begin(self, bag: Path, package_id: str, collection: Collection, sent: Sent) -> dict:
        """A new attempt, written to the package before anything is sent."""
        attempt_id = uuid.uuid4().hex
        attempt = {"attempt": attempt_id, "slug": _slug(package_id, attempt_id),
                   "collection": collection.href, "package": package_id, "posted": _now(),
                   "sha256": sent.sha256, "size": sent.size}
        pending.write(bag, self.uri, attempt)
        return attempt

    def _create(self, bag: Path, spool, sent: Sent, package_id: str, gone: dict | None,
                attempt: dict | None = None, unfound: str | None = None) -> Outcome:
        collection = self.choose_collection()
        if attempt is None or attempt.get("collection") != collection.href:
            attempt = self._begin(bag, package_id, collection, sent)
        unfound = [unfound] if unfound else []  # why an earlier POST's container was not found

        def earlier() -> dict:
            if not unfound:
                return {}
            return {"earlier-attempt": (
                f"an earlier POST of this package ({attempt['posted']}, Slug {attempt['slug']}) "
                f"got no answer and {unfound[-1]}: if it made a container, that one is left in "
                "progress on the server")}
        headers = self._headers(bag, sent)
        headers["In-Progress"] = "true" if self.in_progress else "false"
        headers["Slug"] = attempt["slug"]
        what = f"depositing to {collection.href}"
        posts = []

        def post():
            if posts:  # a retry: the POST before may have made the container all the same
                found, why = self._find(attempt)
                if found:
                    return found, None
                unfound.append(why)
            posts.append(1)
            durable.step(f"POST {collection.href}")
            return None, self._exchange(what, "POST", collection.href, ok=(201,), body=spool,
                                        headers=headers)

        keep = {"attempt": attempt["attempt"], "slug": attempt["slug"]}
        try:
            found, response = with_retry(post, self.retry, what)
        except DepositError as e:
            keep.update(earlier())
            if e.transient or len(posts) > 1:  # a container may exist: the next run looks for it
                keep["attempt-state"] = pending.OPEN
                e.message += (f"; the server may have made a container all the same (Slug "
                              f"{attempt['slug']}): the next deposit looks for it")
            elif "earlier-attempt" in keep:
                e.message += f"; {keep['earlier-attempt']}"
            e.args = (e.message,)
            e.details = {**keep, **e.details}
            raise
        keep.update(earlier())
        if found:
            outcome = self._replace(bag, spool, sent, _previous_of(attempt, found), attempt,
                                    said=f"the answer to its POST was lost; found {found} by "
                                         "its Slug and finished it")
            if outcome is None:
                raise DepositError(f"the collection lists {found}, which is gone",
                                   code="SWORD-BAD-RESPONSE", details=keep)
            return outcome
        details = {"collection": collection.href, "edit-iri": response.headers.get("Location"),
                   "sha256": sent.sha256, "size": sent.size, **keep}
        self._created(bag, attempt, response)
        if not attempt.get("edit-iri"):  # a container nobody can name yet: keep looking for it
            details["attempt-state"] = pending.OPEN
        with _kept_in(details):
            receipt = self._receipt_from(response)
        outcome = self._finish(bag, receipt, sent, details,
                               f"deposited to {collection.title or collection.href}")
        if gone:
            outcome.message += (f"; the container {gone['edit-iri']} of its last deposit is gone, "
                                "so a new one was made")
        if "earlier-attempt" in keep:
            outcome.message += f"; {keep['earlier-attempt']}"
        return outcome

    def _created(self, bag: Path, attempt: dict, response) -> None:
        """Record the container's Edit-IRI in the pending record right after the 201, before
        anything else is asked of the server."""
        edit_iri = response.headers.get("Location")
        if not edit_iri and response.content:
            try:
                edit_iri = parse_receipt(response.content).edit_iri
            except DepositError:
                edit_iri = None  # _receipt_from says what is wrong with it
        if edit_iri:
            attempt["edit-iri"] = edit_iri
            pending.write(bag, self.uri, attempt)

    def _replace(self, bag: Path, spool, sent: Sent, previous: Previous,
                 attempt: dict | None = None, said: str | None = None) -> Outcome | None:
        """Replace the content of the container of an earlier deposit (a changed package, or
        one whose last deposit failed) and finish it. None when the container is gone."""
        details = {k: v for k, v in previous.details.items()
                   if k in ("collection", "edit-iri", "em-iri", "se-iri", "statement-iri",
                            "ore-statement-iri")}
        if attempt is not None:
            details.update({"attempt": attempt["attempt"], "slug": attempt["slug"]})
        edit_iri = details["edit-iri"]
        try:
            with _kept_in(details):
                receipt = self._receipt_at(edit_iri)
                durable.step(f"PUT {receipt.em_iri}")
                self._request(f"replacing the content of {edit_iri}", "PUT", receipt.em_iri,
                              ok=(200, 201, 204), body=spool, headers=self._headers(bag, sent))
        except DepositError as e:
            if e.status in (404, 410):
                return None
            raise
        details.update({"sha256": sent.sha256, "size": sent.size, "resumed": edit_iri})
        with _kept_in(details):
            receipt = self._receipt_at(edit_iri)
        what = said or ((f"finished the deposit its last run left {edit_iri}"
                         if previous.outcome != "success"
                         else f"replaced the content of its deposit {edit_iri}"))
        return self._finish(bag, receipt, sent, details, what)

    def _finish(self, bag: Path, receipt: DepositReceipt, sent: Sent, details: dict,
                said: str) -> Outcome:
        """Verify what the container holds now, complete it, and say how it went."""
        with _kept_in(details):
            details.update(self._iris(receipt))
            documents = [("deposit-receipt", receipt.document)]
            verification = self._verify(bag.name, receipt, sent)
            documents += self._complete(receipt)
        return Outcome(status=DEPOSITED, remote_id=receipt.edit_iri, bytes=sent.size,
                       verified=verification.verified, details={**details, **verification.details()},
                       server_documents=documents, verification=verification.way,
                       message=f"{said}, {verification.sentence()}")

    def _unchanged(self, bag: Path, previous: Previous) -> Outcome | None:
        """The package is as it was last deposited: check the server still holds it. None when
        it does not (or the container is gone): then it is deposited again."""
        details = dict(previous.details)
        try:
            receipt = self._receipt_at(details["edit-iri"])
        except DepositError as e:
            if e.status in (404, 410):
                return None
            raise
        # What recording the last deposit changed in the package was not in the zip sent.
        sent = Sent(size=int(details.get("size") or 0), sha256=details.get("sha256") or "",
                    files=package_files(bag, skip=changed_by_recording), skip=changed_by_recording)
        try:
            verification = self._verify(bag.name, receipt, sent)
        except DepositError as e:
            if e.code != "SWORD-VERIFY-MISMATCH":
                raise
            log.info("%s: %s; depositing it again", details["edit-iri"], e.message)
            return None
        said = ("unchanged since its last deposit: nothing sent; " + verification.sentence())
        return Outcome(status=UNCHANGED, remote_id=previous.remote_id,
                       verified=verification.verified, verification=verification.way,
                       details={**details, **verification.details()}, message=said)

    def _complete(self, receipt: DepositReceipt) -> list[tuple[str, bytes]]:
        if not self.in_progress:
            return []
        durable.step(f"POST {receipt.se_iri} (In-Progress: false)")
        done = self._request("completing the deposit", "POST", receipt.se_iri, ok=(200, 201, 204),
                             headers={"In-Progress": "false", "Content-Length": "0"})
        return [("completion-receipt", done.content)] if done.content else []

    # -- receipts -----------------------------------------------------------------------
    def _receipt_at(self, edit_iri: str) -> DepositReceipt:
        receipt = parse_receipt(self._request("fetching the deposit receipt", "GET", edit_iri).content)
        return self._checked(receipt, edit_iri)

    def _receipt_from(self, response) -> DepositReceipt:
        location = response.headers.get("Location")
        if response.content:
            return self._checked(parse_receipt(response.content), location)
        if location:
            return self._receipt_at(location)
        raise DepositError("the server answered without a deposit receipt or Location",
                           code="SWORD-BAD-RESPONSE")

    @staticmethod
    def _checked(receipt: DepositReceipt, location: str | None) -> DepositReceipt:
        receipt.edit_iri = receipt.edit_iri or location
        if not receipt.em_iri or not receipt.edit_iri:
            raise DepositError("the deposit receipt lacks its Edit-IRI or EM-IRI (SWORD 2.0 "
                               "profile section 10)", code="SWORD-BAD-RESPONSE")
        receipt.se_iri = receipt.se_iri or receipt.edit_iri
        return receipt

    @staticmethod
    def _iris(receipt: DepositReceipt) -> dict:
        atom = receipt.statements.get(ATOM_FEED) or next(
            (iri for kind, iri in receipt.statements.items() if "atom" in kind), None)
        ore = next((iri for kind, iri in receipt.statements.items() if "rdf" in kind), None)
        return {"edit-iri": receipt.edit_iri, "em-iri": receipt.em_iri, "se-iri": receipt.se_iri,
                "statement-iri": atom or next(iter(receipt.statements.values()), None),
                "ore-statement-iri": ore if ore != atom else None,
                "original-deposit-iri": receipt.original_deposit,
                "treatment": receipt.treatment}

    # -- verification -------------------------------------------------------------------
    def _verify(self, bag_name: str, receipt: DepositReceipt, sent: Sent) -> Verification:
        """Check what the server holds by what it offers; raise on a difference."""
        notes: list[str] = []
        originals = self._original_deposits(receipt, notes)
        with tempfile.TemporaryFile(prefix="archiver-readback-") as spool:
            differences = []
            for original in originals:
                if original.href in (receipt.em_iri, receipt.content_iri):
                    continue  # the media resource, disseminated as the server likes: below
                # The original deposit is the package as deposited: any other content is damage.
                found = self._check(original.href, None, bag_name, sent, spool, notes, "original deposit")
                if found is None:
                    continue
                if found.verified:
                    return found
                differences.append(found)
            if differences:
                raise self._mismatch(differences[0], receipt)
            offered = [p for p in (BAGIT, SIMPLE_ZIP) if p in receipt.packaging]
            offered += [SIMPLE_ZIP] if SIMPLE_ZIP not in offered else []  # the default (6.4)
            for packaging in offered:
                found = self._check(receipt.em_iri, packaging, bag_name, sent, spool, notes,
                                    f"EM-IRI as {packaging.rsplit('/', 1)[-1]}")
                if found is None:
                    continue
                if found.verified:
                    return found
                raise self._mismatch(found, receipt)
        return Verification(False, "none", "", "; ".join(notes) or "it offers nothing to read back")

    def _original_deposits(self, receipt: DepositReceipt, notes: list[str]) -> list[OriginalDeposit]:
        iris = [self._iris(receipt)[k] for k in ("statement-iri", "ore-statement-iri")]
        for iri in [i for i in iris if i]:
            try:
                statement = parse_statement(self._request("reading the statement", "GET", iri).content)
            except DepositError as e:
                if e.transient:
                    raise
                notes.append(f"statement {iri}: {e.message}")
                continue
            if statement.original_deposits:
                return statement.original_deposits
            notes.append(f"the {statement.serialisation} statement lists no original deposit")
        if receipt.original_deposit:
            return [OriginalDeposit(receipt.original_deposit, [])]
        return []

    def _check(self, iri: str, packaging: str | None, bag_name: str, sent: Sent, spool,
               notes: list[str], label: str) -> Verification | None:
        """Read `iri` back and compare it with what was sent. None: it could not be judged
        (refused, not there, no bag in it), with the reason added to `notes`."""
        headers = {"Accept-Packaging": packaging} if packaging else {}
        try:
            size, sha256, got = self._download(f"reading back the {label}", iri, spool, headers)
        except DepositError as e:
            if e.transient:
                raise
            notes.append(f"{label}: {e.message.split(': ', 1)[-1]}")
            return None
        served = got.get("Packaging")
        against = f"{label} {iri}" + (f" ({served})" if served and served != packaging else "")
        if sent.sha256 and (size, sha256) == (sent.size, sent.sha256):
            return Verification(True, "bytes", against, f"{size} bytes, SHA-256 {sha256}")
        spool.seek(0)
        found = compare_zip(spool, sent.files, bag_name, sent.skip)
        if found.outcome == SAME:
            return Verification(True, "content", against, f"{found.detail} (at {found.where})")
        if found.outcome == DIFFERENT:
            return Verification(False, "content", against, f"{found.detail} (at {found.where})")
        assert found.outcome == NOT_FOUND
        if packaging is None:  # an original deposit that is not the zip sent, nor holds the bag
            return Verification(False, "bytes", against,
                                f"{size} bytes, SHA-256 {sha256[:16]}…, not the zip sent "
                                f"({sent.size} bytes, SHA-256 {sent.sha256[:16]}…) and {found.detail}")
        notes.append(f"{label}: {found.detail}")
        return None

    def _mismatch(self, found: Verification, receipt: DepositReceipt) -> DepositError:
        left = ("left in progress" if self.in_progress else "kept")
        return DepositError(
            f"verification failed: the {found.against} differs from the package: {found.detail}; "
            f"the deposit was {left} at {receipt.edit_iri} and the next deposit of this "
            "package replaces its content", code="SWORD-VERIFY-MISMATCH",
            details=Verification(False, found.way, found.against, found.detail).details())


def _now() -> str:
    return datetime.now(timezone.utc).replace(microsecond=0).isoformat().replace("+00:00", "Z")


def _slug(package_id: str, attempt_id: str) -> str:
    """A Slug (AtomPub 9.7) the next run can look for: the package's identifier, made safe
    for a server that turns it into a path, and the attempt."""
    safe = re.sub(r"[^A-Za-z0-9._-]+", "-", package_id).strip("-.")[:64] or "package"
    return f"{safe}-{attempt_id[:12]}"


def _last_name(iri: str) -> str:
    """The last segment of an IRI or URN (where a server puts the Slug it was given)."""
    return unquote(re.split(r"[/:]", iri.rstrip("/"))[-1]) if iri else ""


def _previous_of(attempt: dict, edit_iri: str) -> Previous:
    """The container of an unrecorded attempt, as a failed deposit to finish."""
    return Previous(fingerprint="", remote_id=edit_iri, version=None, outcome="failure",
                    details={"collection": attempt["collection"], "edit-iri": edit_iri})
