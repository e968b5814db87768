"""A real local time-stamping authority (tsa_server.py) for the whole session, signing keys,
and stores of freshly built packages."""
from __future__ import annotations

import shutil
from pathlib import Path

import pytest
from tsa_server import TestAuthorities

from archiver.evidence import Authority, keygen, load_signing_key
from archiver.evidence.trust import anchors_from
from archiver.package.build import build

EXAMPLES = Path(__file__).resolve().parents[2] / "examples" / "reports"


@pytest.fixture(scope="session")
def tsa(tmp_path_factory):
    authorities = TestAuthorities(tmp_path_factory.mktemp("pki"))
    authorities.add("chained")                         # CA certificates in the token (out of DER order)
    authorities.add("plain", chain_in_token=False)     # the signing certificate only
    yield authorities
    authorities.stop()


@pytest.fixture(scope="session")
def two_authorities(tsa):
    return [Authority(tsa.tsas["chained"].url, "chained"),
            Authority(tsa.tsas["plain"].url, "plain", certificates=str(tsa.chain_file("plain")))]


@pytest.fixture(scope="session")
def anchors(tsa):
    return anchors_from([tsa.root_pem])


@pytest.fixture(scope="session")
def key_files(tmp_path_factory):
    private, public, _ = keygen(tmp_path_factory.mktemp("keys") / "seal.key")
    return private, public


@pytest.fixture(scope="session")
def signing_key(key_files):
    return load_signing_key(key_files[0])


@pytest.fixture(scope="session")
def built_store(tmp_path_factory):
    store = tmp_path_factory.mktemp("built") / "store"
    results = build([EXAMPLES], store, durable=False, jobs=1)
    assert [r.status for r in results] == ["built"] * 3
    return store


@pytest.fixture
def store(built_store, tmp_path):
    """A fresh copy of three unsealed packages."""
    copy = tmp_path / "store"
    shutil.copytree(built_store, copy)
    return copy

