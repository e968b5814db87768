"""The Flask application: the pages, the JSON behind each, and the downloads.

Every page has its JSON twin under /api/ (the same data the template renders), so scripts
need not scrape. Only GET and HEAD are answered; nothing here writes to the store or the
ledger. Reports are hostile input: Jinja2 escapes every value (no `|safe` anywhere), links
are made only of http(s) URLs, pages carry no script and a CSP that forbids any, and files
are sent as attachments of type application/octet-stream, never rendered.
"""
from __future__ import annotations

import logging
import os
from datetime import datetime, timedelta, timezone
from pathlib import Path
from urllib.parse import quote

from flask import Flask, Response, abort, jsonify, render_template, request, send_file, url_for
from werkzeug.exceptions import HTTPException

from archiver.bagit.bag import human_size
from archiver.serve import access, describe
from archiver.serve.index import PAGE_SIZES, STATES, Catalogue, Indexer
from archiver.serve.sources import LedgerSource, merge_timeline

log = logging.getLogger("archiver.serve")

STATE_LABELS = {"failed": "check failed", "unreadable": "unreadable metadata",
                "unchecked": "never checked", "passed": "passed", "due": "due for a check"}
CHECK_LABELS = {"fix": "fixity check", "val": "validation", "audit": "audit"}
DEFAULT_DUE_DAYS = 90
# Verifying a seal hashes the payload; a page opens without waiting for more than this
VERIFY_ON_PAGE_BYTES = 256 * 1024 * 1024
MAX_PAGE = 10 ** 9  # beyond it, the offset would not fit SQLite's integers (no store is so large)


def create_app(catalogue: Catalogue, *, indexer: Indexer | None = None, port: int = 0,
               token: str | None = None, due_days: float = DEFAULT_DUE_DAYS,
               ledger: LedgerSource | None = None) -> Flask:
    """The application over `catalogue`; `ledger` adds the audit ledger's history."""
    app = Flask(__name__)
    app.config.update(JSON_SORT_KEYS=False, MAX_CONTENT_LENGTH=0, TEMPLATES_AUTO_RELOAD=False)
    app.json.ensure_ascii = False
    app.json.sort_keys = False
    app.url_map.merge_slashes = False  # "//etc/passwd" is refused, not redirected
    app.jinja_env.filters["size"] = lambda n: "—" if n is None else human_size(int(n))
    app.jinja_env.filters["http_url"] = _http_url
    app.jinja_env.globals.update(STATE_LABELS=STATE_LABELS, CHECK_LABELS=CHECK_LABELS,
                                 page_url=_page_url, file_url=_file_url)

    def due_before() -> str:
        when = datetime.now(timezone.utc) - timedelta(days=due_days)
        return when.replace(microsecond=0).isoformat().replace("+00:00", "Z")

    @app.before_request
    def guard():
        if request.method not in ("GET", "HEAD"):
            abort(405)
        if token:
            if not access.token_matches(request.headers.get("Authorization"), token):
                return Response("an access token is required\n", 401,
                                {"WWW-Authenticate": 'Basic realm="archiver", charset="UTF-8"'},
                                mimetype="text/plain")
        elif not access.allowed_host(request.host, port):
            abort(403)
        raw = request.environ.get("REQUEST_URI") or request.environ.get("RAW_URI") or ""
        path = raw.split("?", 1)[0].lower()
        if "%2f" in path or "%5c" in path or "%00" in path or ".." in request.path.split("/"):
            abort(404)  # encoded separators and dot-dot segments name nothing here
        if indexer:
            indexer.poke()

    @app.after_request
    def headers(response: Response) -> Response:
        for name, value in access.HEADERS.items():
            response.headers.setdefault(name, value)
        response.headers.setdefault("Cache-Control", "no-store")
        return response

    @app.errorhandler(HTTPException)
    def http_error(e: HTTPException):
        if request.path.startswith("/api/"):
            if e.code == 400:  # say what was wrong with the request
                return jsonify(error=e.name, status=e.code, message=e.description), e.code
            return jsonify(error=e.name, status=e.code), e.code
        return render_template("error.html", code=e.code, name=e.name,
                               description=e.description, status=status()), e.code

    @app.errorhandler(Exception)
    def internal_error(e: Exception):
        log.exception("while answering %s", request.path)
        if request.path.startswith("/api/"):
            return jsonify(error="Internal Server Error", status=500), 500
        return render_template("error.html", code=500, name="Internal Server Error",
                               description="The server met an error; it is logged.",
                               status=status()), 500

    def status() -> dict:
        p = catalogue.progress
        return {"indexing": p.running, "read": p.done, "to_read": p.total,
                "last_refresh": (datetime.fromtimestamp(p.last_refresh, timezone.utc)
                                 .replace(microsecond=0).isoformat().replace("+00:00", "Z")
                                 if p.last_refresh else None),
                "complete": p.last_refresh is not None and not p.running,
                "error": p.error}

    def list_data() -> dict:
        args = request.args
        try:
            page = int(args.get("page", "1"))
            per_page = int(args.get("per_page", "50"))
        except ValueError:
            abort(400, description="page and per_page are whole numbers")
        if not 1 <= page <= MAX_PAGE:
            abort(400, description=f"page is a number from 1 to {MAX_PAGE:,}")
        query = args.get("q", "")[:500]
        if any((ord(c) < 32 and c not in "\t\n\r") or ord(c) == 127 for c in query):
            abort(400, description="q (the search) holds a control character")
        data = catalogue.page(q=query, sort=args.get("sort", ""),
                              order=args.get("order", ""), state=args.get("state", ""),
                              language=args.get("language", ""), page=page, per_page=per_page,
                              due_before=due_before())
        data["q"] = args.get("q", "")[:500]
        data["state"] = args.get("state", "") if args.get("state") in (*STATES, "due") else ""
        data["language"] = args.get("language", "")
        data["index"] = status()
        return data

    @app.get("/")
    def packages_page():
        data = list_data()
        return render_template("list.html", data=data, languages=catalogue.languages(),
                               page_sizes=PAGE_SIZES, states=(*STATES, "due"),
                               status=data["index"])

    @app.get("/api/packages")
    def packages_api():
        return jsonify(list_data())

    def package_data(name: str) -> dict:
        row = catalogue.get(name)
        if row is None or row["kind"] != "bag":
            abort(404)
        bag = catalogue.store / name
        if not bag.is_dir() or bag.is_symlink():
            abort(404)
        page = describe.describe(describe.read(bag))
        if page["sealed"]:
            page["evidence"] = evidence(bag, page["size"], request.args.get("verify") == "1")
        page["index"] = {k: row[k] for k in ("state", "checked", "check_type", "check_time",
                                              "check_outcome", "audit_time", "audit_outcome",
                                              "audit_findings", "sealed", "standing")}
        if ledger is not None:
            page.update(ledger.package(name, page["identifier"]))
            merge_timeline(page)
        return page

    @app.get("/packages/<name>")
    def package_page(name: str):
        return render_template("package.html", p=package_data(name), status=status())

    @app.get("/api/packages/<name>")
    def package_api(name: str):
        return jsonify(package_data(name))

    @app.get("/packages/<name>/files/<path:rel>")
    def download(name: str, rel: str):
        row = catalogue.get(name)
        if row is None or row["kind"] != "bag":
            abort(404)
        path = describe.payload_path(catalogue.store / name, rel)
        if path is None:
            abort(404)
        try:
            fd = os.open(path, os.O_RDONLY | getattr(os, "O_NOFOLLOW", 0))
        except OSError:
            abort(404)
        response = send_file(os.fdopen(fd, "rb"), mimetype="application/octet-stream",
                             as_attachment=True, download_name=Path(rel).name, conditional=False,
                             etag=False, max_age=0)
        response.headers["Content-Security-Policy"] = access.DOWNLOAD_POLICY
        return response

    def health_data() -> dict:
        data = {"counts": catalogue.counts(due_before()), "due_days": due_days,
                "problems": catalogue.with_problems(), "rounds": [], "findings_by_package": {},
                "index": status()}
        if ledger is not None:
            data.update(ledger.health(data["problems"]))
        return data

    @app.get("/health")
    def health_page():
        data = health_data()
        return render_template("health.html", h=data, status=data["index"])

    @app.get("/api/health")
    def health_api():
        return jsonify(health_data())

    return app


def evidence(bag: Path, size: int | None, asked: bool) -> dict:
    """What the package's seals prove, verified now, offline (trust anchors and signers from
    [evidence] of archiver.toml, else the system's store). A payload over
    VERIFY_ON_PAGE_BYTES is verified only when asked (?verify=1)."""
    from archiver.evidence import verify_package

    if size is not None and size > VERIFY_ON_PAGE_BYTES and not asked:
        return {"verified": False, "size": size}
    report = verify_package(bag).to_dict()
    report["verified"] = True
    report["verified_at"] = (datetime.now(timezone.utc).replace(microsecond=0).isoformat()
                             .replace("+00:00", "Z"))
    return report


def _http_url(value) -> str | None:
    """The value when it is an http(s) URL a link may point at; else None (shown as text)."""
    if isinstance(value, str) and value.lower().startswith(("http://", "https://")) \
            and not any(c in value for c in "\"'<>\\ \t\r\n"):
        return value
    return None


def _page_url(**changes) -> str:
    args = {k: v for k, v in request.args.items() if v}
    args.update({k: v for k, v in changes.items()})
    args = {k: v for k, v in args.items() if v not in (None, "")}
    if "page" in changes and changes["page"] == 1:
        args.pop("page", None)
    return url_for("packages_page", **args)


def _file_url(name: str, rel: str) -> str:
    return f"/packages/{quote(name, safe='')}/files/{quote(rel, safe='/')}"
