"""SWORD v2 deposit (DSpace, EPrints, Dataverse), our own client on requests.

Fetch the service document, pick the collection, POST the zipped bag with Packaging
http://purl.org/net/sword/package/BagIt, a hex Content-MD5 (SWORD 2.0 profile 6.3.1),
In-Progress: true and On-Behalf-Of where given; read the deposit receipt (Edit-IRI, EM-IRI,
SE-IRI, statement IRIs). Then verify: fetch the content back from the EM-IRI and compare its
SHA-256 with what was sent. Only a verified deposit is completed (an empty POST to the SE-IRI
with In-Progress: false, profile 9.3); one that fails verification is deleted. A changed
package replaces the content of its container (PUT to the EM-IRI, profile 6.5.1).
"""
from __future__ import annotations

import hashlib
import logging
import tempfile
import zipfile
from dataclasses import dataclass, field
from pathlib import Path

from lxml import etree

from archiver.deposit.base import (DEPOSITED, UNCHANGED, ConfigurationError, DepositError,
                                   Outcome, Previous, Target)
from archiver.deposit.retry import RetryPolicy, with_retry

log = logging.getLogger("archiver.deposit")

ATOM = "http://www.w3.org/2005/Atom"
APP = "http://www.w3.org/2007/app"
# The profile names http://purl.org/net/sword/terms/; some servers still use the older form.
SWORD_NAMESPACES = ("http://purl.org/net/sword/terms/", "http://purl.org/net/sword/")
BAGIT = "http://purl.org/net/sword/package/BagIt"
REL_ADD = "http://purl.org/net/sword/terms/add"
REL_STATEMENT = "http://purl.org/net/sword/terms/statement"
BLOCK = 1 << 20
_PARSER = etree.XMLParser(resolve_entities=False, no_network=True)


@dataclass
class Collection:
    href: str
    title: str
    accept: list[str] = field(default_factory=list)
    packaging: list[str] = field(default_factory=list)
    mediation: bool = False


@dataclass
class DepositReceipt:
    edit_iri: str | None
    em_iri: str | None
    se_iri: str | None
    statements: dict[str, str]   # media type -> IRI
    identifier: str | None
    treatment: str | None
    document: bytes


def _sword(el, name):
    for ns in SWORD_NAMESPACES:
        found = el.find(f"{{{ns}}}{name}")
        if found is not None:
            return found
    return None


def _sword_all(el, name):
    return [x for ns in SWORD_NAMESPACES for x in el.findall(f"{{{ns}}}{name}")]


def parse_service_document(data: bytes) -> list[Collection]:
    try:
        root = etree.fromstring(data, _PARSER)
    except etree.XMLSyntaxError as e:
        raise DepositError(f"the service document is not XML ({e})", code="SWORD-BAD-RESPONSE") from None
    collections = []
    for col in root.iter(f"{{{APP}}}collection"):
        mediation = _sword(col, "mediation")
        collections.append(Collection(
            href=col.get("href", ""),
            title=(col.findtext(f"{{{ATOM}}}title") or "").strip(),
            accept=[(a.text or "").strip() for a in col.findall(f"{{{APP}}}accept")],
            packaging=[(p.text or "").strip() for p in _sword_all(col, "acceptPackaging")],
            mediation=mediation is not None and (mediation.text or "").strip() == "true"))
    return collections


def parse_receipt(data: bytes) -> DepositReceipt:
    try:
        root = etree.fromstring(data, _PARSER)
    except etree.XMLSyntaxError as e:
        raise DepositError(f"the deposit receipt is not XML ({e})", code="SWORD-BAD-RESPONSE") from None
    links = {}
    statements = {}
    for link in root.findall(f"{{{ATOM}}}link"):
        rel, href = link.get("rel"), link.get("href")
        if rel == REL_STATEMENT:
            statements[link.get("type") or ""] = href
        elif rel and href:
            links.setdefault(rel, href)
    treatment = _sword(root, "treatment")
    return DepositReceipt(edit_iri=links.get("edit"), em_iri=links.get("edit-media"),
                          se_iri=links.get(REL_ADD), statements=statements,
                          identifier=root.findtext(f"{{{ATOM}}}id"),
                          treatment=(treatment.text or "").strip() if treatment is not None else None,
                          document=data)


def parse_error(data: bytes) -> tuple[str, str] | None:
    """(error IRI, summary) from a SWORD error document, or None."""
    try:
        root = etree.fromstring(data, _PARSER)
    except (etree.XMLSyntaxError, ValueError):
        return None
    if etree.QName(root).localname != "error" or etree.QName(root).namespace not in SWORD_NAMESPACES:
        return None
    summary = root.findtext(f"{{{ATOM}}}summary") or root.findtext(f"{{{ATOM}}}title") or ""
    return root.get("href", ""), " ".join(summary.split())


def write_zip(bag: Path, out) -> None:
    """The bag, zipped under a top-level directory of its own name, in a stable order."""
    with zipfile.ZipFile(out, "w", compression=zipfile.ZIP_DEFLATED, compresslevel=6) as zf:
        for path in sorted(bag.rglob("*")):
            if path.is_file():
                zf.write(path, f"{bag.name}/{path.relative_to(bag).as_posix()}")


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
        import base64
        password = self._secrets.get("password")
        if not password:
            return []
        basic = base64.b64encode(f"{self._secrets.get('username', '')}:{password}".encode()).decode()
        return [password, basic]

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
        import requests

        def attempt():
            if body is not None:
                body.seek(0)
            try:
                response = self.session().request(method, url, data=body, timeout=self.timeout, **kw)
            except (requests.ConnectionError, requests.Timeout) as e:
                raise DepositError(f"{what}: could not reach the SWORD server at {url} "
                                   f"({type(e).__name__})", code="SWORD-UNREACHABLE",
                                   transient=True) from None
            if response.status_code in ok:
                return response
            raise self._http_error(what, response)
        return with_retry(attempt, self.retry, what)

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
                                code="SWORD-UNAUTHORIZED")
        if status == 403:
            return DepositError(f"{what}: forbidden (HTTP 403){detail}", code=code)
        return DepositError(f"{what}: HTTP {status}{detail}", code=code,
                            transient=status >= 500 or status in (408, 429))

    # -- the steps ----------------------------------------------------------------------
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

    def _headers(self, bag: Path, md5: str) -> dict:
        return {"Content-Type": "application/zip",
                "Content-Disposition": f'attachment; filename="{bag.name}.zip"',
                "Packaging": BAGIT, "Content-MD5": md5}

    def _fetch_digest(self, em_iri: str) -> tuple[int, str]:
        response = self._request("reading the deposit back", "GET", em_iri, stream=True,
                                 headers={"Accept-Packaging": BAGIT})
        h, size = hashlib.sha256(), 0
        for chunk in response.iter_content(BLOCK):
            h.update(chunk)
            size += len(chunk)
        return size, h.hexdigest()

    def put(self, bag: Path, package_id: str, fingerprint: str,
            previous: Previous | None) -> Outcome:
        existing = previous.details if previous and previous.details.get("edit-iri") else None
        if existing and previous.fingerprint == fingerprint:
            size, sha256 = self._fetch_digest(existing["em-iri"])
            if sha256 == existing.get("sha256"):
                return Outcome(status=UNCHANGED, remote_id=previous.remote_id, verified=True,
                               details=dict(existing),
                               message="unchanged since its last deposit: nothing sent")
        with tempfile.TemporaryFile(prefix="archiver-deposit-") as spool:
            write_zip(bag, spool)
            spool.seek(0)
            md5, sha = hashlib.md5(), hashlib.sha256()
            size = 0
            while chunk := spool.read(BLOCK):
                md5.update(chunk)
                sha.update(chunk)
                size += len(chunk)
            md5_hex, sha256 = md5.hexdigest(), sha.hexdigest()
            headers = self._headers(bag, md5_hex)
            if existing:
                return self._replace(bag, spool, headers, size, sha256, previous)
            collection = self.choose_collection()
            headers["In-Progress"] = "true" if self.in_progress else "false"
            response = self._request(f"depositing to {collection.href}", "POST", collection.href,
                                     ok=(201,), body=spool, headers=headers)
        receipt = self._receipt_from(response)
        details = {"collection": collection.href, "edit-iri": receipt.edit_iri,
                   "em-iri": receipt.em_iri, "se-iri": receipt.se_iri,
                   "statement-iri": next(iter(receipt.statements.values()), None),
                   "sha256": sha256, "size": size, "treatment": receipt.treatment}
        got_size, got_sha = self._fetch_digest(receipt.em_iri)
        if (got_size, got_sha) != (size, sha256):
            self._delete(receipt.edit_iri)
            raise DepositError(
                f"verification failed: the server holds {got_size} bytes with SHA-256 "
                f"{got_sha[:16]}…, {size} bytes with SHA-256 {sha256[:16]}… were sent; the "
                "incomplete deposit was deleted", code="SWORD-VERIFY-MISMATCH", details=details)
        if self.in_progress:
            done = self._request("completing the deposit", "POST", receipt.se_iri,
                                 ok=(200, 201, 204), headers={"In-Progress": "false",
                                                              "Content-Length": "0"})
            if done.content:
                receipt = self._receipt_from(done, fallback=receipt)
        return Outcome(status=DEPOSITED, remote_id=receipt.edit_iri or receipt.identifier,
                       bytes=size, verified=True, details=details,
                       receipt_document=receipt.document,
                       message=f"deposited to {collection.title or collection.href}, read back "
                               "and verified")

    def _replace(self, bag, spool, headers, size, sha256, previous) -> Outcome:
        details = dict(previous.details)
        self._request("replacing the deposited content", "PUT", details["em-iri"],
                      ok=(200, 201, 204), body=spool, headers=headers)
        got_size, got_sha = self._fetch_digest(details["em-iri"])
        details.update({"sha256": sha256, "size": size})
        if (got_size, got_sha) != (size, sha256):
            raise DepositError(
                f"verification failed after replacing the content of {details['edit-iri']}: "
                f"the server holds SHA-256 {got_sha[:16]}…, {sha256[:16]}… was sent",
                code="SWORD-VERIFY-MISMATCH", details=details)
        receipt = self._request("fetching the deposit receipt", "GET", details["edit-iri"]).content
        return Outcome(status=DEPOSITED, remote_id=previous.remote_id, bytes=size, verified=True,
                       details=details, receipt_document=receipt,
                       message="replaced the content of the existing deposit, read back and verified")

    def _receipt_from(self, response, fallback: DepositReceipt | None = None) -> DepositReceipt:
        location = response.headers.get("Location")
        if response.content:
            receipt = parse_receipt(response.content)
        elif location:
            receipt = parse_receipt(self._request("fetching the deposit receipt", "GET", location).content)
        elif fallback:
            return fallback
        else:
            raise DepositError("the server answered without a deposit receipt or Location",
                               code="SWORD-BAD-RESPONSE")
        receipt.edit_iri = receipt.edit_iri or location
        if not receipt.em_iri or not receipt.edit_iri:
            raise DepositError("the deposit receipt lacks its Edit-IRI or EM-IRI (SWORD 2.0 "
                               "profile section 10)", code="SWORD-BAD-RESPONSE")
        receipt.se_iri = receipt.se_iri or receipt.edit_iri
        return receipt

    def _delete(self, edit_iri: str | None) -> None:
        if not edit_iri:
            return
        try:
            self._request("deleting the unverified deposit", "DELETE", edit_iri, ok=(200, 202, 204))
        except DepositError as e:
            log.warning("could not delete %s: %s", edit_iri, e.message)
