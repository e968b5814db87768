"""A SWORD 2.0 server for archiver's tests, as strict as real ones. Not for production use.

Written from the SWORD 2.0 profile (swordapp.github.io/SWORDv2-Profile) and the behaviour of
the reference server (Simple-Sword-Server): a service document (6.1); binary deposit to a
Col-IRI (6.3.1) with Content-MD5 (hex), Packaging, In-Progress and On-Behalf-Of; deposit
receipts (10) at the Edit-IRI, listing the EM-IRI twice (the media resource and its Atom feed,
6.4.1), the formats the EM-IRI disseminates (sword:packaging) and, in the response to a
deposit only, the original deposit; the original deposit at a part IRI, byte for byte;
the Slug header (AtomPub 9.7) as the container's name, as the reference server does; the
collection's listing (6.2) as an Atom feed of its members' Edit-IRIs, as the reference server
writes it; content negotiation at the EM-IRI with Accept-Packaging (6.4): a packaging it does not
disseminate is 406 with an ErrorContent document; replacement by PUT (6.5.1); completion by
an empty POST to the SE-IRI (9.3); container deletion (6.8); the statement (11) as an Atom
feed, the state as `atom:category` with scheme http://purl.org/net/sword/terms/state (as the
reference server writes it and the sword2 client reads it) and as `sword:state`, and as
OAI-ORE RDF/XML; error documents (12); HTTP Basic authentication (8). Standard library only;
binds 127.0.0.1 only.

Like the reference server it disseminates SimpleZip only, as a new zip holding the deposited
file. Switches (command line, or at run time by POST /_test/mode with JSON):
  --disseminate P       the packagings the EM-IRI offers (repeatable; BagIt, SimpleZip, none)
  --repackage           disseminate a fresh zip of the unpacked bag, never the bytes deposited
  --unlisted-original   list no original deposit in receipts and statements
  --statement KIND      atom, ore or both (default both)
  --prefix PATH         serve under PATH (/swordv2, as DSpace), so IRIs name it
  --fail-first N        answer the first N deposits with 500
  --fail-reads N        answer the next N reads of statements and content with 500
  --corrupt             flip a byte of what it stores after checking its Content-MD5
  --ignore-slug         name containers by a UUID whatever the Slug (AtomPub lets a server)
  --no-listing          answer a GET of a collection with 405 (the profile only says SHOULD)
  --hang-deposits N     make the next N deposits' containers, then answer only after --hang
                        seconds (a client's timeout: the 201 never reaches it)
POST /_test/reset empties the store.

    python tests/sword_server/server.py --port 8081 --store /tmp/sword \
        --user depositor --password-env SWORD_PASSWORD
"""
from __future__ import annotations

import argparse
import base64
import hashlib
import io
import json
import os
import re
import threading
import time
import uuid
import zipfile
from datetime import datetime, timezone
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from urllib.parse import quote, unquote
from xml.sax.saxutils import escape, quoteattr

ATOM = "http://www.w3.org/2005/Atom"
APP = "http://www.w3.org/2007/app"
SWORD = "http://purl.org/net/sword/terms/"
DCTERMS = "http://purl.org/dc/terms/"
RDF = "http://www.w3.org/1999/02/22-rdf-syntax-ns#"
ORE = "http://www.openarchives.org/ore/terms/"
ERROR = "http://purl.org/net/sword/error/"
# Errors SWORD does not enumerate live in a namespace of our own (profile section 12).
OWN_ERROR = "http://archiver.example.org/sword-test/error/"
STATE_SCHEME = SWORD + "state"
# The reference server's two states.
IN_PROGRESS = "http://purl.org/net/sword/state/in-progress"
ARCHIVED = "http://purl.org/net/sword/state/archived"
STATE_TEXT = {IN_PROGRESS: "The item is in progress: held in the workspace until the deposit is complete",
              ARCHIVED: "The item has passed through the workflow and is now archived"}
PACKAGE = "http://purl.org/net/sword/package/"
BAGIT = PACKAGE + "BagIt"
SIMPLE_ZIP = PACKAGE + "SimpleZip"
BINARY = PACKAGE + "Binary"
COLLECTIONS = {
    "reports": {"title": "Reports from at-risk sources", "packaging": [BAGIT, SIMPLE_ZIP]},
    "theses": {"title": "Theses", "packaging": [SIMPLE_ZIP]},
}
MAX_UPLOAD = 512 * 1024 * 1024
NAME = r"[A-Za-z0-9._~-]{1,128}"  # a container's name: a UUID, or the Slug it was given
FEED = "application/atom+xml;type=feed"
PAGE = 20  # members per page of a collection's listing
ENTRY = "application/atom+xml;type=entry"


def now() -> str:
    return datetime.now(timezone.utc).replace(microsecond=0).isoformat().replace("+00:00", "Z")


def packaging_iri(name: str) -> str | None:
    """BagIt, SimpleZip or a full IRI; 'none' is no packaging."""
    if name.lower() == "none":
        return None
    return name if "/" in name else PACKAGE + name


class Store:
    def __init__(self, root: Path, mode: dict):
        self.root = root
        self.root.mkdir(parents=True, exist_ok=True)
        self.lock = threading.Lock()
        self.containers: dict[str, dict] = {}
        self.mode = mode
        self.deposit_attempts = 0
        self.sent_receipts: list[str] = []   # SHA-256 of every deposit receipt sent


class Handler(BaseHTTPRequestHandler):
    server_version = "archiver-sword-test/2.0"
    store: Store
    user: str
    password: str
    prefix: str = ""      # where the server lives under the host, e.g. /swordv2 as DSpace

    # -- plumbing ---------------------------------------------------------------------
    def log_message(self, format, *args):  # quiet; the request line never holds secrets
        pass

    @property
    def base(self) -> str:
        host, port = self.server.server_address[:2]
        return f"http://{host}:{port}{self.prefix}"

    @property
    def route(self) -> str:
        """The request path below the prefix, without its query."""
        path = self.path.split("?")[0]
        return path[len(self.prefix):] if self.prefix and path.startswith(self.prefix + "/") else path

    @property
    def mode(self) -> dict:
        return self.store.mode

    def send(self, status: int, body: bytes = b"", content_type: str | None = None,
             headers: dict | None = None):
        self.send_response(status)
        if content_type:
            self.send_header("Content-Type", content_type)
        for key, value in (headers or {}).items():
            self.send_header(key, value)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        if body and self.command != "HEAD":
            self.wfile.write(body)

    def send_receipt(self, status: int, body: bytes, headers: dict | None = None):
        with self.store.lock:
            self.store.sent_receipts.append(hashlib.sha256(body).hexdigest())
        self.send(status, body, ENTRY, headers)

    def error_document(self, status: int, href: str, summary: str, treatment: str = "processing failed"):
        body = (f'<?xml version="1.0" encoding="utf-8"?>\n'
                f'<sword:error xmlns="{ATOM}" xmlns:sword="{SWORD}" href={quoteattr(href)}>\n'
                f"  <title>ERROR</title>\n  <updated>{now()}</updated>\n"
                f'  <generator uri="{self.base}/" version="2.0">archiver SWORD test server</generator>\n'
                f"  <summary>{escape(summary)}</summary>\n"
                f"  <sword:treatment>{escape(treatment)}</sword:treatment>\n"
                f"  <sword:verboseDescription>{escape(self.command)} {escape(self.path)}: "
                f"{escape(summary)}</sword:verboseDescription>\n"
                f"</sword:error>\n").encode("utf-8")
        headers = {"WWW-Authenticate": 'Basic realm="SWORD"'} if status == 401 else None
        self.send(status, body, "application/xml; charset=utf-8", headers)

    def read_body(self) -> bytes:
        length = int(self.headers.get("Content-Length") or 0)
        if length > MAX_UPLOAD:
            raise ValueError("too large")
        return self.rfile.read(length) if length else b""

    def authenticated(self) -> bool:
        header = self.headers.get("Authorization", "")
        if header.startswith("Basic "):
            try:
                user, _, password = base64.b64decode(header[6:]).decode("utf-8").partition(":")
            except (ValueError, UnicodeDecodeError):
                user, password = "", ""
            if user == self.user and password == self.password:
                return True
        self.error_document(401, OWN_ERROR + "AuthenticationFailed",
                            "Authentication required: HTTP Basic with a known user")
        return False

    def on_behalf_of_ok(self) -> bool:
        owner = self.headers.get("On-Behalf-Of")
        if owner is None:
            return True
        if not self.mode["mediation"]:
            self.error_document(412, ERROR + "MediationNotAllowed", "Mediated deposit is not allowed")
            return False
        known = self.mode["known_owners"]
        if known is not None and owner not in known:
            self.error_document(403, ERROR + "TargetOwnerUnknown", f"Unknown user {owner!r}")
            return False
        return True

    def in_progress(self) -> bool | None:
        value = self.headers.get("In-Progress", "false").strip().lower()
        if value not in ("true", "false"):
            self.error_document(400, ERROR + "ErrorBadRequest", "In-Progress must be true or false")
            return None
        return value == "true"

    def failing_read(self) -> bool:
        with self.store.lock:
            if self.mode["fail_reads"] > 0:
                self.mode["fail_reads"] -= 1
                failing = True
            else:
                failing = False
        if failing:
            self.error_document(500, OWN_ERROR + "InternalError", "Simulated failure (--fail-reads)")
        return failing

    # -- IRIs -------------------------------------------------------------------------
    def part_iri(self, cid: str) -> str:
        return f"{self.base}/part/{cid}/{quote(self.store.containers[cid]['filename'])}"

    def disseminated(self) -> list[str]:
        return [p for p in self.mode["disseminate"] if p]

    # -- documents --------------------------------------------------------------------
    def service_document(self) -> bytes:
        collections = []
        for name, info in COLLECTIONS.items():
            packaging = "".join(f"      <sword:acceptPackaging>{p}</sword:acceptPackaging>\n"
                                for p in info["packaging"])
            collections.append(
                f'    <collection href="{self.base}/col/{name}">\n'
                f"      <atom:title>{escape(info['title'])}</atom:title>\n"
                f"      <accept>application/zip</accept>\n"
                f'      <accept alternate="multipart-related">application/zip</accept>\n'
                f"      <sword:collectionPolicy>Test collection: nothing here is kept.</sword:collectionPolicy>\n"
                f"      <dcterms:abstract>{escape(info['title'])}</dcterms:abstract>\n"
                f"      <sword:mediation>{'true' if self.mode['mediation'] else 'false'}</sword:mediation>\n"
                f"      <sword:treatment>Stored as deposited.</sword:treatment>\n"
                f"{packaging}    </collection>\n")
        return (f'<?xml version="1.0" encoding="utf-8"?>\n'
                f'<service xmlns="{APP}" xmlns:atom="{ATOM}" xmlns:sword="{SWORD}" '
                f'xmlns:dcterms="{DCTERMS}">\n'
                f"  <sword:version>2.0</sword:version>\n"
                f"  <sword:maxUploadSize>{MAX_UPLOAD // 1024}</sword:maxUploadSize>\n"
                f"  <workspace>\n    <atom:title>archiver test repository</atom:title>\n"
                f"{''.join(collections)}  </workspace>\n</service>\n").encode("utf-8")

    def state(self, cid: str) -> str:
        return IN_PROGRESS if self.store.containers[cid]["in_progress"] else ARCHIVED

    def receipt(self, cid: str, deposit_response: bool = False) -> bytes:
        c = self.store.containers[cid]
        em, edit = f"{self.base}/em/{cid}", f"{self.base}/edit/{cid}"
        statements = ""
        if self.mode["statement"] in ("atom", "both"):
            statements += (f'  <link rel="{SWORD}statement" type="{FEED}" '
                           f'href="{self.base}/statement/{cid}"/>\n')
        if self.mode["statement"] in ("ore", "both"):
            statements += (f'  <link rel="{SWORD}statement" type="application/rdf+xml" '
                           f'href="{self.base}/statement/{cid}.rdf"/>\n')
        # The original deposit is named only in the response to the deposit (profile 10).
        original = (f'  <link rel="{SWORD}originalDeposit" type="application/zip" '
                    f'href="{self.part_iri(cid)}"/>\n'
                    if deposit_response and not self.mode["unlisted_original"] else "")
        packaging = "".join(f"  <sword:packaging>{p}</sword:packaging>\n" for p in self.disseminated())
        return (f'<?xml version="1.0" encoding="utf-8"?>\n'
                f'<entry xmlns="{ATOM}" xmlns:sword="{SWORD}" xmlns:dcterms="{DCTERMS}">\n'
                f"  <title>{escape(c['filename'])}</title>\n"
                f"  <id>urn:uuid:{cid}</id>\n  <updated>{c['updated']}</updated>\n"
                f"  <author><name>{escape(c['deposited_by'])}</name></author>\n"
                f'  <generator uri="{self.base}/" version="2.0">archiver SWORD test server</generator>\n'
                f"  <dcterms:identifier>urn:uuid:{cid}</dcterms:identifier>\n"
                f'  <content type="application/zip" src="{em}"/>\n'
                f'  <link rel="edit-media" type="{FEED}" href="{em}.feed"/>\n'
                f'  <link rel="edit-media" href="{em}"/>\n'
                f'  <link rel="edit" href="{edit}"/>\n'
                f'  <link rel="{SWORD}add" href="{edit}"/>\n'
                f"{statements}{original}{packaging}"
                f"  <sword:treatment>Stored as deposited; disseminated as "
                f"{', '.join(p.rsplit('/', 1)[-1] for p in self.disseminated()) or 'nothing'}.</sword:treatment>\n"
                f"  <sword:verboseDescription>{c['size']} bytes, MD5 {c['md5']}</sword:verboseDescription>\n"
                f"</entry>\n").encode("utf-8")

    def atom_statement(self, cid: str) -> bytes:
        c = self.store.containers[cid]
        state = self.state(cid)
        entry = ""
        if not self.mode["unlisted_original"]:
            behalf = (f"    <sword:depositedOnBehalfOf>{escape(c['on_behalf_of'])}</sword:depositedOnBehalfOf>\n"
                      if c["on_behalf_of"] else "")
            entry = (f"  <atom:entry>\n"
                     f"    <atom:id>{self.part_iri(cid)}</atom:id>\n"
                     f"    <atom:title>{escape(c['filename'])}</atom:title>\n"
                     f"    <atom:updated>{c['updated']}</atom:updated>\n"
                     f'    <atom:category scheme="{SWORD}" term="{SWORD}originalDeposit" label="Original Deposit"/>\n'
                     f'    <atom:content type="application/zip" src="{self.part_iri(cid)}"/>\n'
                     f"    <sword:packaging>{c['packaging']}</sword:packaging>\n"
                     f"    <sword:depositedOn>{c['deposited_on']}</sword:depositedOn>\n"
                     f"    <sword:depositedBy>{escape(c['deposited_by'])}</sword:depositedBy>\n"
                     f"{behalf}  </atom:entry>\n")
        return (f'<?xml version="1.0" encoding="utf-8"?>\n'
                f'<atom:feed xmlns:atom="{ATOM}" xmlns:sword="{SWORD}">\n'
                f"  <atom:id>{self.base}/statement/{cid}</atom:id>\n"
                f"  <atom:title>Statement for {escape(c['filename'])}</atom:title>\n"
                f"  <atom:updated>{c['updated']}</atom:updated>\n"
                f"  <atom:author><atom:name>{escape(c['deposited_by'])}</atom:name></atom:author>\n"
                f'  <atom:category scheme="{STATE_SCHEME}" term="{state}" label="State">'
                f"{STATE_TEXT[state]}</atom:category>\n"
                f'  <sword:state href="{state}">\n'
                f"    <sword:stateDescription>{STATE_TEXT[state]}</sword:stateDescription>\n"
                f"  </sword:state>\n"
                f"{entry}</atom:feed>\n").encode("utf-8")

    def ore_statement(self, cid: str) -> bytes:
        c = self.store.containers[cid]
        state, edit, agg, part = self.state(cid), f"{self.base}/edit/{cid}", f"{self.base}/agg/{cid}", \
            self.part_iri(cid)
        original = ("" if self.mode["unlisted_original"] else
                    f'    <sword:originalDeposit rdf:resource="{part}"/>\n')
        behalf = (f"    <sword:depositedOnBehalfOf>{escape(c['on_behalf_of'])}</sword:depositedOnBehalfOf>\n"
                  if c["on_behalf_of"] else "")
        return (f'<?xml version="1.0" encoding="utf-8"?>\n'
                f'<rdf:RDF xmlns:rdf="{RDF}" xmlns:ore="{ORE}" xmlns:sword="{SWORD}">\n'
                f'  <rdf:Description rdf:about="{edit}">\n'
                f'    <ore:describes rdf:resource="{agg}"/>\n  </rdf:Description>\n'
                f'  <rdf:Description rdf:about="{agg}">\n'
                f'    <ore:isDescribedBy rdf:resource="{edit}"/>\n'
                f'    <ore:aggregates rdf:resource="{part}"/>\n'
                f"{original}"
                f'    <sword:state rdf:resource="{state}"/>\n  </rdf:Description>\n'
                f'  <rdf:Description rdf:about="{part}">\n'
                f'    <sword:packaging rdf:resource="{c["packaging"]}"/>\n'
                f'    <sword:depositedOn rdf:datatype="http://www.w3.org/2001/XMLSchema#dateTime">'
                f"{c['deposited_on']}</sword:depositedOn>\n"
                f"    <sword:depositedBy>{escape(c['deposited_by'])}</sword:depositedBy>\n"
                f"{behalf}  </rdf:Description>\n"
                f'  <rdf:Description rdf:about="{state}">\n'
                f"    <sword:stateDescription>{STATE_TEXT[state]}</sword:stateDescription>\n"
                f"  </rdf:Description>\n</rdf:RDF>\n").encode("utf-8")

    def collection_feed(self, name: str) -> bytes:
        """The members of a collection, as the reference server lists them: an entry with an
        edit link each (and here an id), newest first, pages of PAGE with rel="next"."""
        with self.store.lock:
            members = [cid for cid, c in self.store.containers.items() if c["collection"] == name]
        members.reverse()
        page = int(re.search(r"[?&]page=(\d+)", self.path).group(1)) if "page=" in self.path else 0
        shown = members[page * PAGE:(page + 1) * PAGE]
        following = (f'  <link rel="next" href="{self.base}/col/{name}?page={page + 1}"/>\n'
                     if len(members) > (page + 1) * PAGE else "")
        entries = "".join(f"  <entry>\n    <id>{self.base}/edit/{cid}</id>\n"
                          f'    <link rel="edit" href="{self.base}/edit/{cid}"/>\n  </entry>\n'
                          for cid in shown)
        return (f'<?xml version="1.0" encoding="utf-8"?>\n<feed xmlns="{ATOM}">\n'
                f"  <id>{self.base}/col/{name}</id>\n  <title>{escape(COLLECTIONS[name]['title'])}</title>\n"
                f"  <updated>{now()}</updated>\n{following}{entries}</feed>\n").encode("utf-8")

    def media_feed(self, cid: str) -> bytes:
        c = self.store.containers[cid]
        return (f'<?xml version="1.0" encoding="utf-8"?>\n<feed xmlns="{ATOM}">\n'
                f"  <id>{self.base}/em/{cid}.feed</id>\n  <title>{escape(c['filename'])}</title>\n"
                f"  <updated>{c['updated']}</updated>\n  <entry>\n"
                f"    <id>{self.part_iri(cid)}</id>\n    <title>{escape(c['filename'])}</title>\n"
                f"    <updated>{c['updated']}</updated>\n"
                f'    <content type="application/zip" src="{self.part_iri(cid)}"/>\n'
                f"  </entry>\n</feed>\n").encode("utf-8")

    # -- content ----------------------------------------------------------------------
    def accept_content(self, body: bytes, accepted: list[str]) -> tuple[str, str] | None:
        """Check the headers of a binary deposit; return (filename, packaging) or None."""
        disposition = self.headers.get("Content-Disposition", "")
        match = re.search(r'filename="?([^";]+)"?', disposition)
        if not disposition.lower().startswith("attachment") or not match:
            self.error_document(400, ERROR + "ErrorBadRequest",
                                "Content-Disposition: attachment; filename=... is required")
            return None
        packaging = self.headers.get("Packaging", BINARY)
        if packaging not in accepted:
            self.error_document(415, ERROR + "ErrorContent",
                                f"Packaging {packaging} is not accepted here")
            return None
        md5 = self.headers.get("Content-MD5")
        if md5 is not None and md5.strip().lower() != hashlib.md5(body).hexdigest():
            self.error_document(412, ERROR + "ErrorChecksumMismatch",
                                "Content-MD5 does not match the content received")
            return None
        if packaging in (BAGIT, SIMPLE_ZIP) and not zipfile.is_zipfile(io.BytesIO(body)):
            self.error_document(415, ERROR + "ErrorContent", f"{packaging} requires a ZIP file")
            return None
        return match.group(1), packaging

    def store_content(self, cid: str, body: bytes) -> None:
        data = bytearray(body)
        if self.mode["corrupt"] and data:
            data[len(data) // 2] ^= 0x01  # a silent bit flip after the checksum passed
        (self.store.root / cid).write_bytes(bytes(data))

    def dissemination(self, cid: str, packaging: str) -> bytes:
        """The media resource in `packaging`, made now: never the stored bytes themselves
        but for BagIt from a server that does not re-package."""
        c = self.store.containers[cid]
        stored = (self.store.root / cid).read_bytes()
        out = io.BytesIO()
        if self.mode["repackage"]:
            # unpack and zip again: other order, no compression, new dates
            with zipfile.ZipFile(io.BytesIO(stored)) as src, zipfile.ZipFile(out, "w") as dst:
                for info in reversed(src.infolist()):
                    if not info.is_dir():
                        dst.writestr(zipfile.ZipInfo(info.filename, (2000, 1, 1, 0, 0, 0)),
                                     src.read(info))
            return out.getvalue()
        if packaging == BAGIT:
            return stored
        # SimpleZip as the reference server makes it: a zip of the files in the container
        with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as dst:
            dst.writestr(c["filename"], stored)
        return out.getvalue()

    def container(self, kind: str, suffix: str = "") -> str | None:
        match = re.fullmatch(rf"/{kind}/({NAME}){re.escape(suffix)}", self.route)
        cid = match.group(1) if match else None
        if cid is None or cid not in self.store.containers:
            self.error_document(404, OWN_ERROR + "NotFound", "No such container")
            return None
        return cid

    # -- verbs ------------------------------------------------------------------------
    def do_GET(self):
        path = self.route
        if path == "/_test/state":
            with self.store.lock:
                body = json.dumps({"containers": self.store.containers,
                                   "deposit_attempts": self.store.deposit_attempts,
                                   "sent_receipts": self.store.sent_receipts}).encode()
            return self.send(200, body, "application/json")
        if not self.authenticated() or not self.on_behalf_of_ok():
            return
        if path == "/sd":
            return self.send(200, self.service_document(), "application/atomsvc+xml; charset=utf-8")
        if path.startswith("/edit/"):
            if cid := self.container("edit"):
                self.send_receipt(200, self.receipt(cid))
            return
        if path.startswith("/col/"):
            name = path[len("/col/"):]
            if name not in COLLECTIONS:
                return self.error_document(404, OWN_ERROR + "NotFound", "No such collection")
            if not self.mode["listing"]:
                return self.error_document(405, ERROR + "MethodNotAllowed",
                                           "This server does not list collections")
            return self.send(200, self.collection_feed(name), FEED)
        if path.startswith(("/em/", "/part/", "/statement/")) and self.failing_read():
            return
        if path.startswith("/em/") and path.endswith(".feed"):
            if cid := self.container("em", ".feed"):
                self.send(200, self.media_feed(cid), FEED)
            return
        if path.startswith("/em/"):
            if cid := self.container("em"):
                wanted = self.headers.get("Accept-Packaging") or SIMPLE_ZIP  # profile 6.4
                if wanted not in self.disseminated():
                    return self.error_document(406, ERROR + "ErrorContent",
                                               f"{wanted} is not offered for dissemination")
                self.send(200, self.dissemination(cid, wanted), "application/zip",
                          {"Packaging": wanted,
                           "Content-Disposition": f'attachment; filename="{cid}.zip"'})
            return
        if path.startswith("/part/"):
            cid, _, name = path[len("/part/"):].partition("/")
            c = self.store.containers.get(cid)
            if c is None or unquote(name) != c["filename"]:
                return self.error_document(404, OWN_ERROR + "NotFound", "No such file")
            return self.send(200, (self.store.root / cid).read_bytes(), "application/zip",
                             {"Content-Disposition": f'attachment; filename="{c["filename"]}"'})
        if path.startswith("/statement/") and path.endswith(".rdf"):
            if self.mode["statement"] in ("ore", "both") and (cid := self.container("statement", ".rdf")):
                self.send(200, self.ore_statement(cid), "application/rdf+xml")
            elif self.mode["statement"] not in ("ore", "both"):
                self.error_document(404, OWN_ERROR + "NotFound", "No ORE statement here")
            return
        if path.startswith("/statement/"):
            if self.mode["statement"] in ("atom", "both") and (cid := self.container("statement")):
                self.send(200, self.atom_statement(cid), FEED)
            elif self.mode["statement"] not in ("atom", "both"):
                self.error_document(404, OWN_ERROR + "NotFound", "No Atom statement here")
            return
        self.error_document(404, OWN_ERROR + "NotFound", "Nothing here")

    def do_POST(self):
        path = self.route
        try:
            body = self.read_body()
        except ValueError:
            return self.error_document(413, ERROR + "MaxUploadSizeExceeded", "Upload too large")
        if path == "/_test/mode":
            with self.store.lock:
                self.store.mode.update(json.loads(body or b"{}"))
            return self.send(204)
        if path == "/_test/reset":
            with self.store.lock:
                for cid in self.store.containers:
                    (self.store.root / cid).unlink(missing_ok=True)
                self.store.containers.clear()
                self.store.deposit_attempts = 0
            return self.send(204)
        if not self.authenticated() or not self.on_behalf_of_ok():
            return
        in_progress = self.in_progress()
        if in_progress is None:
            return
        if path.startswith("/col/"):
            name = path[len("/col/"):]
            if name not in COLLECTIONS:
                return self.error_document(404, OWN_ERROR + "NotFound", "No such collection")
            with self.store.lock:
                self.store.deposit_attempts += 1
                failing = self.store.deposit_attempts <= self.mode["fail_first"]
            if failing:
                return self.error_document(500, OWN_ERROR + "InternalError",
                                           "Simulated failure (--fail-first)")
            accepted = self.accept_content(body, COLLECTIONS[name]["packaging"])
            if accepted is None:
                return
            filename, packaging = accepted
            slug = unquote(self.headers.get("Slug", "")).strip()
            with self.store.lock:
                # the Slug names the container when it can (AtomPub 9.7), never a taken name
                named = (not self.mode["ignore_slug"] and re.fullmatch(NAME, slug)
                         and slug not in self.store.containers)
                cid = slug if named else str(uuid.uuid4())
                hang = self.mode["hang_deposits"] > 0
                if hang:
                    self.mode["hang_deposits"] -= 1
                self.store.containers[cid] = {
                    "collection": name, "filename": filename, "packaging": packaging,
                    "in_progress": in_progress, "md5": hashlib.md5(body).hexdigest(),
                    "size": len(body), "deposited_on": now(), "updated": now(),
                    "deposited_by": self.user, "on_behalf_of": self.headers.get("On-Behalf-Of"),
                    "versions": 1, "slug": slug or None}
                self.store_content(cid, body)
            if hang:  # made, but the answer comes too late for the client
                time.sleep(self.mode["hang"])
            try:
                return self.send_receipt(201, self.receipt(cid, deposit_response=True),
                                         {"Location": f"{self.base}/edit/{cid}"})
            except (BrokenPipeError, ConnectionResetError):
                return None
        if path.startswith("/edit/"):
            cid = self.container("edit")
            if cid is None:
                return
            if body:
                return self.error_document(405, ERROR + "MethodNotAllowed",
                                           "This server only accepts an empty POST to the SE-IRI")
            with self.store.lock:
                c = self.store.containers[cid]
                c["in_progress"] = in_progress
                c["updated"] = now()
            return self.send_receipt(200, self.receipt(cid), {"Location": f"{self.base}/edit/{cid}"})
        self.error_document(405, ERROR + "MethodNotAllowed", "Cannot POST here")

    def do_PUT(self):
        try:
            body = self.read_body()
        except ValueError:
            return self.error_document(413, ERROR + "MaxUploadSizeExceeded", "Upload too large")
        if not self.authenticated() or not self.on_behalf_of_ok():
            return
        if not self.route.startswith("/em/"):
            return self.error_document(405, ERROR + "MethodNotAllowed", "Cannot PUT here")
        cid = self.container("em")
        if cid is None:
            return
        c = self.store.containers[cid]
        accepted = self.accept_content(body, COLLECTIONS[c["collection"]]["packaging"])
        if accepted is None:
            return
        with self.store.lock:
            c.update({"filename": accepted[0], "packaging": accepted[1], "size": len(body),
                      "md5": hashlib.md5(body).hexdigest(), "updated": now(),
                      "deposited_on": now(), "versions": c["versions"] + 1})
            self.store_content(cid, body)
        self.send(204)

    def do_DELETE(self):
        if not self.authenticated() or not self.on_behalf_of_ok():
            return
        cid = self.container("edit")
        if cid is None:
            return
        with self.store.lock:
            del self.store.containers[cid]
            (self.store.root / cid).unlink(missing_ok=True)
        self.send(204)


def main(argv=None):
    parser = argparse.ArgumentParser(description="SWORD 2.0 test server (127.0.0.1 only)")
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--store", required=True, help="directory for deposited content")
    parser.add_argument("--user", default="depositor")
    parser.add_argument("--password-env", default="SWORD_PASSWORD",
                        help="environment variable holding the password (never argv)")
    parser.add_argument("--disseminate", action="append", metavar="PACKAGING",
                        help="a packaging the EM-IRI offers: BagIt, SimpleZip, an IRI, or none "
                             "(repeatable; default SimpleZip, as the reference server)")
    parser.add_argument("--repackage", action="store_true",
                        help="disseminate a fresh zip of the unpacked bag, not the bytes deposited")
    parser.add_argument("--unlisted-original", action="store_true",
                        help="name no original deposit in receipts and statements")
    parser.add_argument("--statement", choices=("atom", "ore", "both"), default="both")
    parser.add_argument("--prefix", default="", help="path the server lives under, e.g. /swordv2")
    parser.add_argument("--fail-first", type=int, default=0, metavar="N",
                        help="answer the first N deposits with HTTP 500")
    parser.add_argument("--fail-reads", type=int, default=0, metavar="N",
                        help="answer the next N reads of statements and content with HTTP 500")
    parser.add_argument("--corrupt", action="store_true",
                        help="flip a byte of stored content after checking its Content-MD5")
    parser.add_argument("--ignore-slug", action="store_true",
                        help="name containers by a UUID, whatever the Slug")
    parser.add_argument("--no-listing", action="store_true",
                        help="answer a GET of a collection with 405")
    parser.add_argument("--hang-deposits", type=int, default=0, metavar="N",
                        help="make the next N deposits' containers, then answer after --hang s")
    parser.add_argument("--hang", type=float, default=3.0, metavar="SECONDS")
    parser.add_argument("--no-mediation", action="store_true", help="refuse On-Behalf-Of")
    parser.add_argument("--known-owner", action="append",
                        help="users On-Behalf-Of may name (default: anyone)")
    args = parser.parse_args(argv)
    password = os.environ.get(args.password_env)
    if not password:
        parser.error(f"set the password in ${args.password_env}")
    disseminate = [packaging_iri(p) for p in (args.disseminate or ["SimpleZip"])]
    mode = {"disseminate": disseminate, "repackage": args.repackage,
            "unlisted_original": args.unlisted_original, "statement": args.statement,
            "fail_first": args.fail_first, "fail_reads": args.fail_reads, "corrupt": args.corrupt,
            "mediation": not args.no_mediation, "ignore_slug": args.ignore_slug,
            "listing": not args.no_listing, "hang_deposits": args.hang_deposits, "hang": args.hang,
            "known_owners": list(args.known_owner) if args.known_owner else None}
    store = Store(Path(args.store), mode)
    handler = type("ConfiguredHandler", (Handler,), {
        "store": store, "user": args.user, "password": password,
        "prefix": "/" + args.prefix.strip("/") if args.prefix.strip("/") else ""})
    server = ThreadingHTTPServer(("127.0.0.1", args.port), handler)
    try:
        server.serve_forever()
    except KeyboardInterrupt:
        pass
    finally:
        server.server_close()


if __name__ == "__main__":
    main()
