"""A real time-stamping authority on 127.0.0.1 for the tests: `openssl ts -reply` behind a
small HTTP handler, with the test PKI of pki.py. Each authority has its own URL
(/tsa/NAME); the intermediate CA publishes its CRL at /crl/intermediate.crl, the URL every
authority certificate names as its CRL distribution point (and the root its own, for the
intermediate, at /crl/root.crl).

Authorities differ as real ones do: with the CA certificates in the token (`certs` in the
OpenSSL configuration, which OpenSSL 3.0 writes out of DER order) or with the signing
certificate only; valid for years, or expiring seconds after issuing; revoked before issuing.
"""
from __future__ import annotations

import datetime as dt
import subprocess
import tempfile
import threading
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

from debian import ensure_command
from pki import Authority, key_pem, now, pem, root_authority, write

OPENSSL_TSA = """
[ tsa ]
default_tsa = this_tsa
[ this_tsa ]
serial = {dir}/serial
crypto_device = builtin
signer_cert = {dir}/tsa.pem
signer_key = {dir}/tsa.key
{certs}
signer_digest = sha256
default_policy = 1.3.6.1.4.1.99999.1
digests = sha256, sha384, sha512
accuracy = secs:1
ordering = no
tsa_name = yes
ess_cert_id_chain = no
ess_cert_id_alg = sha256
"""


@dataclass
class TSA:
    name: str
    authority: Authority
    config: Path
    url: str


class TestAuthorities:
    """The PKI and the HTTP server; `add` makes another authority."""

    def __init__(self, folder: Path):
        self.openssl = ensure_command("openssl", "openssl")  # `openssl ts -reply` signs the tokens
        self.folder = folder
        self.tsas: dict[str, TSA] = {}
        self.requests = 0
        self._lock = threading.Lock()
        self.server = ThreadingHTTPServer(("127.0.0.1", 0), self._handler())
        self.base = f"http://127.0.0.1:{self.server.server_port}"
        self.root = root_authority("archiver Test Root CA")
        t = now()
        self.intermediate = self.root.issue("archiver Test Intermediate CA", ca=True,
                                            not_before=t - dt.timedelta(days=1000),
                                            not_after=t + dt.timedelta(days=1000),
                                            crl_url=f"{self.base}/crl/root.crl")
        self.root_pem = write(folder / "root.pem", pem(self.root.cert))
        self._thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self._thread.start()

    def add(self, name: str, *, chain_in_token: bool = True, lifetime: dt.timedelta = dt.timedelta(days=365),
            revoked_ago: dt.timedelta | None = None) -> TSA:
        t = now()
        tsa = self.intermediate.issue(f"archiver Test TSA {name}", ca=False,
                                      not_before=t - dt.timedelta(days=30), not_after=t + lifetime,
                                      crl_url=f"{self.base}/crl/intermediate.crl")
        if revoked_ago is not None:
            self.intermediate.revoke(tsa, t - revoked_ago)
        d = self.folder / name
        write(d / "tsa.pem", pem(tsa.cert))
        write(d / "tsa.key", key_pem(tsa.key))
        write(d / "chain.pem", pem(self.intermediate.cert) + pem(self.root.cert))
        (d / "serial").write_text("01\n")
        certs = f"certs = {d}/chain.pem" if chain_in_token else ""
        config = write(d / "openssl.cnf", OPENSSL_TSA.format(dir=d, certs=certs).encode())
        entry = TSA(name, tsa, config, f"{self.base}/tsa/{name}")
        self.tsas[name] = entry
        return entry

    def chain_file(self, name: str) -> Path:
        """The chain an authority publishes for tokens that do not carry it."""
        return self.folder / name / "chain.pem"

    def stop(self) -> None:
        self.server.shutdown()
        self.server.server_close()

    def _handler(self):
        authorities = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args):  # quiet tests
                pass

            def do_GET(self):
                if self.path == "/crl/intermediate.crl":
                    self._send(200, "application/pkix-crl", authorities.intermediate.crl())
                elif self.path == "/crl/root.crl":
                    self._send(200, "application/pkix-crl", authorities.root.crl())
                else:
                    self._send(404, "text/plain", b"not found")

            def do_POST(self):
                name = self.path.removeprefix("/tsa/")
                tsa = authorities.tsas.get(name)
                query = self.rfile.read(int(self.headers.get("Content-Length", 0)))
                if tsa is None or self.headers.get("Content-Type") != "application/timestamp-query":
                    self._send(404, "text/plain", b"no such authority")
                    return
                with tempfile.TemporaryDirectory() as tmp, authorities._lock:
                    authorities.requests += 1
                    q, r = Path(tmp) / "q.tsq", Path(tmp) / "r.tsr"
                    q.write_bytes(query)
                    done = subprocess.run([authorities.openssl, "ts", "-reply", "-config", str(tsa.config),
                                           "-queryfile", str(q), "-out", str(r)], capture_output=True)
                    if done.returncode != 0:
                        self._send(500, "text/plain", done.stderr)
                        return
                    self._send(200, "application/timestamp-reply", r.read_bytes())

            def _send(self, status, kind, body):
                self.send_response(status)
                self.send_header("Content-Type", kind)
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

        return Handler
