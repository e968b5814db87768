"""A small SWORD 2.0 server for archiver's tests. Not for production use.

Written from the SWORD 2.0 profile (swordapp.github.io/SWORDv2-Profile): a service document
(section 6.1), binary deposit to a Col-IRI (6.3.1) with Content-MD5 (hex), Packaging,
In-Progress and On-Behalf-Of, deposit receipts (10) at the Edit-IRI, content at the EM-IRI
(6.4) replaceable with PUT (6.5.1), completion by an empty POST to the SE-IRI (9.3),
container deletion (6.8), an Atom statement (11.3), error documents (12) and HTTP Basic
authentication (8). Standard library only; binds 127.0.0.1 only.

Fault switches for tests: --fail-first N answers the first N deposits with 500;
--corrupt flips a byte of what it stores after checking its Content-MD5.

    python tests/sword_server/server.py --port 8081 --store /tmp/sword \
        --user depositor --password-env SWORD_PASSWORD
"""
from __future__ import annotations

import argparse
import base64
import hashlib
import json
import os
import re
import threading
import uuid
import zipfile
from datetime import datetime, timezone
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from xml.sax.saxutils import escape, quoteattr

ATOM = "http://www.w3.org/2005/Atom"
APP = "http://www.w3.org/2007/app"
SWORD = "http://purl.org/net/sword/terms/"
DCTERMS = "http://purl.org/dc/terms/"
ERROR = "http://purl.org/net/sword/error/"
# Errors SWORD does not enumerate live in a namespace of our own (profile section 12).
OWN_ERROR = "http://archiver.example.org/sword-test/error/"
OWN_STATE = "http://archiver.example.org/sword-test/state/"
BAGIT = "http://purl.org/net/sword/package/BagIt"
SIMPLE_ZIP = "http://purl.org/net/sword/package/SimpleZip"
BINARY = "http://purl.org/net/sword/package/Binary"
COLLECTIONS = {
    "reports": {"title": "Reports from at-risk sources", "packaging": [BAGIT, SIMPLE_ZIP]},
    "theses": {"title": "Theses", "packaging": [SIMPLE_ZIP]},
}
MAX_UPLOAD = 512 * 1024 * 1024


def now() -> str:
    return datetime.now(timezone.utc).replace(microsecond=0).isoformat().replace("+00:00", "Z")


class Store:
    def __init__(self, root: Path, fail_first: int, corrupt: bool):
        self.root = root
        self.root.mkdir(parents=True, exist_ok=True)
        self.lock = threading.Lock()
        self.containers: dict[str, dict] = {}
        self.fail_first = fail_first
        self.corrupt = corrupt
        self.deposit_attempts = 0


class Handler(BaseHTTPRequestHandler):
    server_version = "archiver-sword-test/1.0"
    store: Store
    user: str
    password: str
    mediation = True
    known_owners: set[str] | None = None

    # -- plumbing ---------------------------------------------------------------------
    def log_message(self, format, *args):  # quiet; the request line never holds secrets
        pass

    @property
    def base(self) -> str:
        host, port = self.server.server_address[:2]
        return f"http://{host}:{port}"

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

    def error_document(self, status: int, href: str, summary: str, treatment: str = "processing failed"):
        body = (f'<?xml version="1.0" encoding="utf-8"?>\n'
                f'<sword:error xmlns="{ATOM}" xmlns:sword="{SWORD}" href={quoteattr(href)}>\n'
                f"  <title>ERROR</title>\n  <updated>{now()}</updated>\n"
                f'  <generator uri="{self.base}/" version="1.0">archiver SWORD test server</generator>\n'
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
        if not self.mediation:
            self.error_document(412, ERROR + "MediationNotAllowed", "Mediated deposit is not allowed")
            return False
        if self.known_owners is not None and owner not in self.known_owners:
            self.error_document(403, ERROR + "TargetOwnerUnknown", f"Unknown user {owner!r}")
            return False
        return True

    def in_progress(self) -> bool | None:
        value = self.headers.get("In-Progress", "false").strip().lower()
        if value not in ("true", "false"):
            self.error_document(400, ERROR + "ErrorBadRequest", "In-Progress must be true or false")
            return None
        return value == "true"

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
                f"      <sword:mediation>{'true' if self.mediation else 'false'}</sword:mediation>\n"
                f"      <sword:treatment>Stored unchanged as deposited.</sword:treatment>\n"
                f"{packaging}    </collection>\n")
        return (f'<?xml version="1.0" encoding="utf-8"?>\n'
                f'<service xmlns="{APP}" xmlns:atom="{ATOM}" xmlns:sword="{SWORD}" '
                f'xmlns:dcterms="{DCTERMS}">\n'
                f"  <sword:version>2.0</sword:version>\n"
                f"  <sword:maxUploadSize>{MAX_UPLOAD // 1024}</sword:maxUploadSize>\n"
                f"  <workspace>\n    <atom:title>archiver test repository</atom:title>\n"
                f"{''.join(collections)}  </workspace>\n</service>\n").encode("utf-8")

    def receipt(self, cid: str, original: bool = True) -> bytes:
        c = self.store.containers[cid]
        em, edit = f"{self.base}/em/{cid}", f"{self.base}/edit/{cid}"
        state = "in progress" if c["in_progress"] else "archived"
        original_link = (f'  <link rel="{SWORD}originalDeposit" type="application/zip" href="{em}"/>\n'
                         if original else "")
        return (f'<?xml version="1.0" encoding="utf-8"?>\n'
                f'<entry xmlns="{ATOM}" xmlns:sword="{SWORD}" xmlns:dcterms="{DCTERMS}">\n'
                f"  <title>{escape(c['filename'])}</title>\n"
                f"  <id>urn:uuid:{cid}</id>\n  <updated>{c['updated']}</updated>\n"
                f"  <author><name>{escape(c['deposited_by'])}</name></author>\n"
                f'  <generator uri="{self.base}/" version="1.0">archiver SWORD test server</generator>\n'
                f"  <dcterms:identifier>urn:uuid:{cid}</dcterms:identifier>\n"
                f'  <content type="application/zip" src="{em}"/>\n'
                f'  <link rel="edit-media" href="{em}"/>\n'
                f'  <link rel="edit" href="{edit}"/>\n'
                f'  <link rel="{SWORD}add" href="{edit}"/>\n'
                f'  <link rel="{SWORD}statement" type="application/atom+xml;type=feed" '
                f'href="{self.base}/statement/{cid}"/>\n'
                f"{original_link}"
                f"  <sword:packaging>{c['packaging']}</sword:packaging>\n"
                f"  <sword:treatment>Stored unchanged as deposited ({state}).</sword:treatment>\n"
                f"  <sword:verboseDescription>{c['size']} bytes, MD5 {c['md5']}</sword:verboseDescription>\n"
                f"</entry>\n").encode("utf-8")

    def statement(self, cid: str) -> bytes:
        c = self.store.containers[cid]
        state = "inProgress" if c["in_progress"] else "archived"
        behalf = (f"    <sword:depositedOnBehalfOf>{escape(c['on_behalf_of'])}</sword:depositedOnBehalfOf>\n"
                  if c["on_behalf_of"] else "")
        return (f'<?xml version="1.0" encoding="utf-8"?>\n'
                f'<atom:feed xmlns:atom="{ATOM}" xmlns:sword="{SWORD}">\n'
                f"  <atom:id>urn:uuid:{cid}:statement</atom:id>\n"
                f"  <atom:title>Statement for {escape(c['filename'])}</atom:title>\n"
                f"  <atom:updated>{c['updated']}</atom:updated>\n"
                f'  <sword:state href="{OWN_STATE}{state}">\n'
                f"    <sword:stateDescription>{'Held in the workspace until the deposit is complete' if c['in_progress'] else 'Deposit complete and archived'}</sword:stateDescription>\n"
                f"  </sword:state>\n  <atom:entry>\n"
                f'    <atom:category scheme="{SWORD}" term="{SWORD}originalDeposit" label="Original Deposit"/>\n'
                f'    <atom:content type="application/zip" src="{self.base}/em/{cid}"/>\n'
                f"    <sword:packaging>{c['packaging']}</sword:packaging>\n"
                f"    <sword:depositedOn>{c['deposited_on']}</sword:depositedOn>\n"
                f"    <sword:depositedBy>{escape(c['deposited_by'])}</sword:depositedBy>\n"
                f"{behalf}  </atom:entry>\n</atom:feed>\n").encode("utf-8")

    # -- content checks ----------------------------------------------------------------
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
        if packaging in (BAGIT, SIMPLE_ZIP):
            import io
            if not zipfile.is_zipfile(io.BytesIO(body)):
                self.error_document(415, ERROR + "ErrorContent", f"{packaging} requires a ZIP file")
                return None
        return match.group(1), packaging

    def store_content(self, cid: str, body: bytes) -> None:
        data = bytearray(body)
        if self.store.corrupt and data:
            data[len(data) // 2] ^= 0x01  # a silent bit flip after the checksum passed
        (self.store.root / cid).write_bytes(bytes(data))

    def container(self, kind: str) -> str | None:
        match = re.fullmatch(rf"/{kind}/([0-9a-f-]+)", self.path.split("?")[0])
        cid = match.group(1) if match else None
        if cid is None or cid not in self.store.containers:
            self.error_document(404, OWN_ERROR + "NotFound", "No such container")
            return None
        return cid

    # -- verbs ------------------------------------------------------------------------
    def do_GET(self):
        path = self.path.split("?")[0]
        if path == "/_test/state":
            with self.store.lock:
                body = json.dumps({"containers": self.store.containers,
                                   "deposit_attempts": self.store.deposit_attempts}).encode()
            return self.send(200, body, "application/json")
        if not self.authenticated() or not self.on_behalf_of_ok():
            return
        if path == "/sd":
            return self.send(200, self.service_document(), "application/atomsvc+xml; charset=utf-8")
        if path.startswith("/edit/"):
            if cid := self.container("edit"):
                self.send(200, self.receipt(cid, original=False), "application/atom+xml;type=entry")
            return
        if path.startswith("/em/"):
            if cid := self.container("em"):
                c = self.store.containers[cid]
                self.send(200, (self.store.root / cid).read_bytes(), "application/zip",
                          {"Packaging": c["packaging"],
                           "Content-Disposition": f'attachment; filename="{c["filename"]}"'})
            return
        if path.startswith("/statement/"):
            if cid := self.container("statement"):
                self.send(200, self.statement(cid), "application/atom+xml;type=feed")
            return
        self.error_document(404, OWN_ERROR + "NotFound", "Nothing here")

    def do_POST(self):
        path = self.path.split("?")[0]
        try:
            body = self.read_body()
        except ValueError:
            return self.error_document(413, ERROR + "MaxUploadSizeExceeded", "Upload too large")
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
                failing = self.store.deposit_attempts <= self.store.fail_first
            if failing:
                return self.error_document(500, OWN_ERROR + "InternalError",
                                           "Simulated failure (--fail-first)")
            accepted = self.accept_content(body, COLLECTIONS[name]["packaging"])
            if accepted is None:
                return
            filename, packaging = accepted
            cid = str(uuid.uuid4())
            with self.store.lock:
                self.store.containers[cid] = {
                    "collection": name, "filename": filename, "packaging": packaging,
                    "in_progress": in_progress, "md5": hashlib.md5(body).hexdigest(),
                    "size": len(body), "deposited_on": now(), "updated": now(),
                    "deposited_by": self.user, "on_behalf_of": self.headers.get("On-Behalf-Of"),
                    "versions": 1}
                self.store_content(cid, body)
            return self.send(201, self.receipt(cid), "application/atom+xml;type=entry",
                             {"Location": f"{self.base}/edit/{cid}"})
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
            return self.send(200, self.receipt(cid, original=False), "application/atom+xml;type=entry",
                             {"Location": f"{self.base}/edit/{cid}"})
        self.error_document(405, ERROR + "MethodNotAllowed", "Cannot POST here")

    def do_PUT(self):
        try:
            body = self.read_body()
        except ValueError:
            return self.error_document(413, ERROR + "MaxUploadSizeExceeded", "Upload too large")
        if not self.authenticated() or not self.on_behalf_of_ok():
            return
        if not self.path.startswith("/em/"):
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
                      "versions": c["versions"] + 1})
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
    parser.add_argument("--fail-first", type=int, default=0, metavar="N",
                        help="answer the first N deposits with HTTP 500")
    parser.add_argument("--corrupt", action="store_true",
                        help="flip a byte of stored content after checking its Content-MD5")
    parser.add_argument("--no-mediation", action="store_true", help="refuse On-Behalf-Of")
    parser.add_argument("--known-owner", action="append",
                        help="users On-Behalf-Of may name (default: anyone)")
    args = parser.parse_args(argv)
    password = os.environ.get(args.password_env)
    if not password:
        parser.error(f"set the password in ${args.password_env}")
    store = Store(Path(args.store), args.fail_first, args.corrupt)
    handler = type("ConfiguredHandler", (Handler,), {
        "store": store, "user": args.user, "password": password,
        "mediation": not args.no_mediation,
        "known_owners": set(args.known_owner) if args.known_owner else None})
    server = ThreadingHTTPServer(("127.0.0.1", args.port), handler)
    try:
        server.serve_forever()
    except KeyboardInterrupt:
        pass
    finally:
        server.server_close()


if __name__ == "__main__":
    main()
