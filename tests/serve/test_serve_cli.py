"""`archiver serve` refuses what it must: other addresses without a token, a catalogue inside
the store, a store that is not one; with a token, every request must carry it."""
from __future__ import annotations

import base64
import os
import subprocess
import sys

from servefixtures import Server, archiver
from seeds import SEED_003

TOKEN = "a-token-of-some-length-8f3k2"


def serve(*args: str, env: dict | None = None) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "archiver", "serve", *args], capture_output=True,
                          text=True, timeout=60, env=env)


def _env(**extra) -> dict:
    env = {k: v for k, v in os.environ.items() if k != "ARCHIVER_SERVE_TOKEN"}
    env.update(extra)
    return env


def test_another_address_is_refused_without_a_token(tmp_path):
    (tmp_path / "packages").mkdir()
    for host in ("0.0.0.0", "::", "192.0.2.1"):
        done = serve(str(tmp_path / "packages"), "--host", host, "--port", "0", env=_env())
        assert done.returncode == 2, (host, done.stdout, done.stderr)
        assert "access token" in done.stderr and "Traceback" not in done.stderr


def test_a_short_token_is_refused(tmp_path):
    (tmp_path / "packages").mkdir()
    done = serve(str(tmp_path / "packages"), "--port", "0", env=_env(ARCHIVER_SERVE_TOKEN="short"))
    assert done.returncode == 2 and "16 characters" in done.stderr


def test_unusable_stores_and_catalogues(tmp_path):
    store = tmp_path / "packages"
    archiver("build", str(SEED_003), "--out", str(store), "--no-fsync", "-q")
    bag = next(store.iterdir())
    cases = [(str(tmp_path / "none"), "no such store"),
             (str(bag), "this is a package, not a store"),
             (str(store), "inside the store")]
    for path, message in cases:
        extra = ["--index", str(store / "index.sqlite3")] if message == "inside the store" else []
        done = serve(path, "--port", "0", *extra, env=_env())
        assert done.returncode == 2, (path, done.stdout, done.stderr)
        assert message in done.stderr and "Traceback" not in done.stderr
    assert sorted(p.name for p in store.iterdir()) == [bag.name]


def test_with_a_token_every_request_carries_it(tmp_path):
    store = tmp_path / "packages"
    archiver("build", str(SEED_003), "--out", str(store), "--no-fsync", "-q")
    server = Server(store, tmp_path / "index.sqlite3", env=_env(ARCHIVER_SERVE_TOKEN=TOKEN))
    try:
        for path in ("/", "/api/packages", "/health", "/static/style.css"):
            status, headers, body = server.get(path)
            assert status == 401 and headers["WWW-Authenticate"].startswith("Basic")
            assert status == 401 and TOKEN.encode() not in body
        wrong = base64.b64encode(b"anyone:not-the-token-at-all").decode()
        assert server.get("/", {"Authorization": f"Basic {wrong}"})[0] == 401
        assert server.get("/", {"Authorization": "Bearer not-the-token"})[0] == 401
        basic = base64.b64encode(f"librarian:{TOKEN}".encode()).decode()
        assert server.get("/api/packages", {"Authorization": f"Basic {basic}"})[0] == 200
        status, _, body = server.get("/api/packages", {"Authorization": f"Bearer {TOKEN}"})
        assert status == 200 and b'"total":1' in body.replace(b" ", b"")
    finally:
        server.stop()
    assert TOKEN not in server.log.read_text()
