"""[evidence] of archiver.toml, merged with what the command line names (which wins).

```toml
[evidence]
key = "/etc/archiver/seal.key"           # archiver keygen's private key, or an X.509 key (PEM)
certificate = "/etc/archiver/seal.pem"   # that key's certificate chain, leaf first (optional)
password_env = "ARCHIVER_KEY_PASSWORD"   # for an encrypted key: the variable holding it
tsa = ["https://tsa.example.org/tsr",    # authorities; a table gives a name and, for tokens
       {url = "https://tsa2.example.net", name = "tsa2", certificates = "tsa2-chain.pem"}]
trust = ["/etc/archiver/tsa-roots.pem"]  # anchors for verify (default: the system's store)
signers = ["/etc/archiver/seal.key.pub"] # keys verify accepts as signers
```
"""
from __future__ import annotations

from collections.abc import Sequence

from archiver.config import load_config
from archiver.evidence.keys import SigningKey, load_signing_key
from archiver.evidence.timestamps import Authority, authorities_from
from archiver.problems import ArchiverError


def evidence_config() -> dict:
    section = load_config().get("evidence", {})
    if not isinstance(section, dict):
        raise ArchiverError("archiver.toml", "[evidence] must be a table", "EVIDENCE-CONFIG")
    for name in ("trust", "signers", "tsa"):
        if name in section and not isinstance(section[name], list):
            raise ArchiverError("archiver.toml", f"[evidence] {name} must be a list", "EVIDENCE-CONFIG")
    return section


def sealing_setup(key: str | None, tsas: Sequence[str], certificate: str | None = None
                  ) -> tuple[SigningKey | None, list[Authority]]:
    """The signing key (None when neither --key nor the config names one) and authorities."""
    config = evidence_config()
    path = key or config.get("key")
    signing = (load_signing_key(path, certificate or config.get("certificate"), config.get("password_env"))
               if path else None)
    try:
        authorities = authorities_from(tsas, config)
    except ValueError as e:
        raise ArchiverError("--tsa" if tsas else "archiver.toml", str(e), "EVIDENCE-CONFIG") from None
    return signing, authorities
