"""Who may reach the web view, and what every response tells the browser.

The view binds to the loopback interface unless told otherwise, and another address is
refused unless an access token is configured (ARCHIVER_SERVE_TOKEN, or `token` / `token_env`
in `[serve]` of archiver.toml; never the command line, where other users of the machine can
read it). With a token, every request must carry it: HTTP Basic (any user name, the token as
password: browsers ask for it themselves) or `Authorization: Bearer`. On loopback without a
token, the Host header must name the loopback too: a web page elsewhere cannot read the
archive through DNS rebinding.
"""
from __future__ import annotations

import base64
import hmac
import ipaddress
import os

from archiver.problems import ArchiverError

LOOPBACK_NAMES = ("localhost",)

# No script at all: the pages need none, and a report's hostile HTML has nowhere to run.
PAGE_POLICY = ("default-src 'none'; style-src 'self'; img-src 'self'; form-action 'self'; "
               "base-uri 'none'; frame-ancestors 'none'")
# a download is shown by no browser as a page of this origin, whatever its type
DOWNLOAD_POLICY = "default-src 'none'; sandbox; frame-ancestors 'none'"

HEADERS = {
    "Content-Security-Policy": PAGE_POLICY,
    "X-Content-Type-Options": "nosniff",
    "X-Frame-Options": "DENY",
    "Referrer-Policy": "no-referrer",
    "Cross-Origin-Opener-Policy": "same-origin",
    "Cross-Origin-Resource-Policy": "same-origin",
    "Permissions-Policy": "camera=(), microphone=(), geolocation=()",
}


def is_loopback(host: str) -> bool:
    if host.lower() in LOOPBACK_NAMES:
        return True
    try:
        return ipaddress.ip_address(host.strip("[]")).is_loopback
    except ValueError:
        return False


def configured_token(config: dict) -> str | None:
    """The access token from the environment or `[serve]` of archiver.toml, if any."""
    serve = config.get("serve", {}) if isinstance(config.get("serve"), dict) else {}
    token = os.environ.get("ARCHIVER_SERVE_TOKEN") or serve.get("token")
    if not token and serve.get("token_env"):
        token = os.environ.get(str(serve["token_env"]))
    if token is not None and (not isinstance(token, str) or len(token) < 16):
        raise ArchiverError("archiver.toml", "the serve access token must be a string of at "
                            "least 16 characters", "CONFIG")
    return token or None


def check_binding(host: str, token: str | None) -> None:
    if not is_loopback(host) and not token:
        raise ArchiverError(host, "refusing to serve on an address other than the loopback "
                            "without an access token (set ARCHIVER_SERVE_TOKEN or [serve] token "
                            "in archiver.toml)", "USAGE")


def allowed_host(header: str, port: int) -> bool:
    """Whether a Host header names the loopback (with our port, or none)."""
    host, _, given = header.rpartition(":") if not header.endswith("]") else (header, "", "")
    if not host:
        host, given = header, ""
    if given and given != str(port):
        return False
    return is_loopback(host)


def token_matches(authorization: str | None, token: str) -> bool:
    if not authorization:
        return False
    scheme, _, value = authorization.partition(" ")
    if scheme.lower() == "bearer":
        offered = value.strip()
    elif scheme.lower() == "basic":
        try:
            offered = base64.b64decode(value.strip(), validate=True).decode("utf-8").partition(":")[2]
        except (ValueError, UnicodeError):
            return False
    else:
        return False
    return hmac.compare_digest(offered.encode("utf-8"), token.encode("utf-8"))
