"""A real store for the web view, built with archiver's own commands, and `archiver serve` on it.

The store holds: the three seed reports (one deposited into a local OCFL root, so it has a
receipt; one damaged and validated with --record, so its last check failed), a report with a
source URL and dates from a sidecar whose commenters' names are withheld, a hostile report
(script in its title, a comment and its file name), a package whose report.json is not JSON,
a package whose manifest lists a link out of the store, and a link to a package outside the
store. Every package but the sidecar's has been audited (`archiver audit`, a ledger of its
own): the damaged one's audit failed. Seed 003 is sealed before the audit (`archiver seal`,
tokens from a real local time-stamping authority: tests/tsa_server.py); the audit and the
server run in a folder whose archiver.toml trusts that authority's root and names the signing
key (an audit verifies the seals it finds).
"""
from __future__ import annotations

import json
import os
import shutil

import pytest

from seeds import SEED_000, SEED_002, SEED_003
from servefixtures import HOSTILE, HOSTILE_NAME, SIDECAR, Server, Store, archiver, package_of
from tsa_server import TestAuthorities  # a real RFC 3161 authority on 127.0.0.1 (tests/)


@pytest.fixture(scope="session")
def evidence_config(tmp_path_factory):
    """A folder whose archiver.toml names a signing key, an authority, its root and the key."""
    folder = tmp_path_factory.mktemp("config")
    authorities = TestAuthorities(folder / "pki")
    authorities.add("chained")
    archiver("keygen", str(folder / "seal.key"))
    (folder / "archiver.toml").write_text(f'''[evidence]
key = "{folder / 'seal.key'}"
tsa = ["{authorities.tsas['chained'].url}"]
trust = ["{authorities.root_pem}"]
signers = ["{folder / 'seal.key.pub'}"]
''')
    yield folder
    authorities.stop()


@pytest.fixture(scope="session")
def store(tmp_path_factory, evidence_config) -> Store:
    base = tmp_path_factory.mktemp("serve")
    inputs = base / "inputs"
    inputs.mkdir()
    for seed in (SEED_000, SEED_002, SEED_003):
        shutil.copy(seed, inputs / seed.name)
    (inputs / HOSTILE_NAME).write_bytes(HOSTILE)
    path = base / "packages"
    archiver("build", str(inputs), "--out", str(path), "--no-fsync", "-q")

    # the sidecar report: seed 000 with a line more (another package), names withheld
    single = base / "single"
    single.mkdir()
    (single / "with-sidecar.txt").write_bytes(SEED_000.read_bytes() + b"\n")
    (single / "with-sidecar.txt.meta.json").write_text(json.dumps(SIDECAR))
    archiver("build", str(single / "with-sidecar.txt"), "--out", str(path), "--no-fsync", "-q")

    seed000 = package_of(path, SEED_000.name)
    archiver("deposit", str(seed000), "--to", f"ocfl:{base / 'ocfl'}", "-q")

    seed002 = package_of(path, SEED_002.name)
    payload = seed002 / "data" / SEED_002.name
    payload.write_bytes(payload.read_bytes().replace(b"Raqqa", b"Rakka", 1))
    assert archiver("validate", "--record", str(seed002), check=False).returncode == 1

    # a package with unreadable metadata, and one whose manifest lists a link out of the store
    extra = base / "extra"
    extra.mkdir()
    (extra / "broken.txt").write_text("A broken package\n\nIts report.json will not be JSON. "
                                      "The text is long enough to be a report.\n")
    (extra / "linking.txt").write_text("A package with a link\n\nIts manifest will list a file "
                                       "that is a link to a file outside the store.\n")
    archiver("build", str(extra), "--out", str(path), "--no-fsync", "-q")
    broken = package_of(path, "broken.txt")
    linking = package_of(path, "linking.txt")
    (broken / "metadata" / "report.json").write_text("{not json")
    os.symlink("/etc/passwd", linking / "data" / "passwd")
    with open(linking / "manifest-sha256.txt", "a") as f:
        f.write(f"{'0' * 64}  data/passwd\n")

    outside = base / "elsewhere"
    archiver("build", str(SEED_003), "--out", str(outside), "--no-fsync", "-q")
    outside_bag = next(outside.iterdir())
    # another name than the packages (seed 003 is in the store too): a link is never followed
    os.symlink(outside_bag, path / "rpt-linked-from-outside")
    archiver("seal", str(package_of(path, SEED_003.name)), cwd=evidence_config)
    ledger = base / "ledger.sqlite"
    audited = [p for p in path.iterdir() if p.name != package_of(path, "with-sidecar.txt").name]
    assert archiver("audit", *map(str, audited), "--ledger", str(ledger), "-q", cwd=evidence_config,
                    check=False).returncode == 1  # the damaged packages
    return Store(path=path, ledger=ledger, outside=outside_bag, seed000=seed000, seed002=seed002,
                 seed003=package_of(path, SEED_003.name),
                 sidecar=package_of(path, "with-sidecar.txt"), hostile=package_of(path, HOSTILE_NAME),
                 broken=broken, linking=linking)


@pytest.fixture(scope="session")
def server(store, tmp_path_factory, evidence_config):
    s = Server(store.path, tmp_path_factory.mktemp("index") / "index.sqlite3", "--refresh", "0.5",
               "--ledger", str(store.ledger), cwd=evidence_config)
    s.wait_indexed()
    yield s
    s.stop()
