"""Shared test helpers (seeds.py, webfixtures.py, pki.py, tsa_server.py) live beside this file;
the fixtures here are those several test folders use: a real local time-stamping authority
for the whole session (evidence and audit seal with it) and signing keys."""
import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parent))


@pytest.fixture(scope="session")
def tsa(tmp_path_factory):
    from tsa_server import TestAuthorities

    authorities = TestAuthorities(tmp_path_factory.mktemp("pki"))
    authorities.add("chained")                         # CA certificates in the token (out of DER order)
    authorities.add("plain", chain_in_token=False)     # the signing certificate only
    yield authorities
    authorities.stop()


@pytest.fixture(scope="session")
def two_authorities(tsa):
    from archiver.evidence import Authority

    return [Authority(tsa.tsas["chained"].url, "chained"),
            Authority(tsa.tsas["plain"].url, "plain", certificates=str(tsa.chain_file("plain")))]


@pytest.fixture(scope="session")
def anchors(tsa):
    from archiver.evidence.trust import anchors_from

    return anchors_from([tsa.root_pem])


@pytest.fixture(scope="session")
def key_files(tmp_path_factory):
    from archiver.evidence import keygen

    private, public, _ = keygen(tmp_path_factory.mktemp("keys") / "seal.key")
    return private, public


@pytest.fixture(scope="session")
def signing_key(key_files):
    from archiver.evidence import load_signing_key

    return load_signing_key(key_files[0])
