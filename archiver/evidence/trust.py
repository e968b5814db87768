"""Trust material: the verifier's anchors, certificate paths checked at a token's genTime,
and revocation data (CRLs) obtained at sealing time and embedded in the package.

A package may carry any certificate, a root included: a forger can make a root of their own.
So embedded certificates only ever help build a path; a path counts when it ends at an
anchor the verifier chose (--trust, `trust` in [evidence] of archiver.toml, or the system's
store), and every certificate on it is checked at genTime, not today: an authority's
certificate that expired after it issued a token leaves the token good.
"""
from __future__ import annotations

import datetime as dt
import functools
import hashlib
import os
import re
import urllib.request
import warnings
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path

from cryptography import x509
from cryptography.hazmat.primitives import serialization

from archiver.problems import ArchiverError

SYSTEM_STORES = ("/etc/ssl/certs/ca-certificates.crt", "/etc/pki/tls/certs/ca-bundle.crt",
                 "/etc/ssl/cert.pem")
_PEM_CRL = re.compile(rb"-----BEGIN X509 CRL-----.*?-----END X509 CRL-----", re.S)


def fingerprint(cert: x509.Certificate) -> str:
    return "sha256:" + hashlib.sha256(cert.public_bytes(serialization.Encoding.DER)).hexdigest()[:32]


def describe(cert: x509.Certificate) -> str:
    return f"{cert.subject.rfc4514_string()} ({fingerprint(cert)})"


def der(cert: x509.Certificate) -> bytes:
    return cert.public_bytes(serialization.Encoding.DER)


def pem_chain(certs: Iterable[x509.Certificate]) -> bytes:
    return b"".join(c.public_bytes(serialization.Encoding.PEM) for c in certs)


def read_certificates(path: str | os.PathLike) -> list[x509.Certificate]:
    p = Path(path)
    try:
        certs = x509.load_pem_x509_certificates(p.read_bytes())
    except (OSError, ValueError) as e:
        raise ArchiverError(str(p), f"not a PEM certificate file: {e}", "EVIDENCE-TRUST") from None
    return certs


def system_anchors() -> list[x509.Certificate]:
    for candidate in (os.environ.get("SSL_CERT_FILE"), *SYSTEM_STORES):
        if candidate and os.path.isfile(candidate):
            st = os.stat(candidate)
            certs = _load_store(candidate, st.st_mtime_ns, st.st_size)
            if certs:
                return list(certs)
    return []


@functools.lru_cache(maxsize=4)  # read once per process, not once per package verified
def _load_store(path: str, mtime_ns: int, size: int) -> tuple[x509.Certificate, ...]:
    with warnings.catch_warnings():  # system stores hold a few roots older than RFC 5280
        warnings.simplefilter("ignore")
        try:
            return tuple(x509.load_pem_x509_certificates(Path(path).read_bytes()))
        except ValueError:
            return ()


@dataclass(frozen=True, eq=False)
class Anchors:
    """The certificates a verifier trusts, and where they came from (said in the report).
    Compared and hashed by one digest of them all: token checks are cached by it."""
    certificates: tuple[x509.Certificate, ...]
    source: str
    digest: str = field(init=False, default="")

    def __post_init__(self) -> None:
        h = hashlib.sha256()
        for c in self.certificates:
            h.update(hashlib.sha256(der(c)).digest())
        object.__setattr__(self, "digest", h.hexdigest())

    def __hash__(self) -> int:
        return hash(self.digest)

    def __eq__(self, other) -> bool:
        return isinstance(other, Anchors) and other.digest == self.digest

    def find(self, cert: x509.Certificate) -> x509.Certificate | None:
        """The anchor that is `cert` (the same subject and key: a re-issued root counts)."""
        spki = cert.public_key().public_bytes(serialization.Encoding.DER,
                                              serialization.PublicFormat.SubjectPublicKeyInfo)
        for a in self.certificates:
            # roots only: OpenSSL, which checks the token's CMS signature, ends a path there
            if a.subject == a.issuer and a.subject == cert.subject and a.public_key().public_bytes(
                    serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo) == spki:
                return a
        return None


def anchors_from(files: Sequence[str | os.PathLike], config_files: Sequence[str] = ()) -> Anchors:
    """--trust files, else the configuration's, else the system's store."""
    named = list(files) or list(config_files)
    if named:
        certs = [c for f in named for c in read_certificates(f)]
        return Anchors(tuple(certs), ", ".join(map(str, named)))
    return Anchors(tuple(system_anchors()), "the system's certificate store")


@dataclass
class PathCheck:
    path: list[x509.Certificate] = field(default_factory=list)  # leaf first, anchor last
    anchor: x509.Certificate | None = None
    problems: list[tuple[str, str]] = field(default_factory=list)  # (code, message)


def _issued_by(cert: x509.Certificate, issuer: x509.Certificate) -> bool:
    try:
        cert.verify_directly_issued_by(issuer)
        return True
    except Exception:  # ValueError, TypeError, InvalidSignature: not this issuer
        return False


def check_path(leaf: x509.Certificate, pool: Sequence[x509.Certificate], anchors: Anchors,
               when: dt.datetime) -> PathCheck:
    """Build the path from `leaf` through `pool` to one of `anchors`, checking every
    certificate's validity at `when` and every signature on the way."""
    result = PathCheck(path=[leaf])
    current = leaf
    for _ in range(10):
        anchor = anchors.find(current)
        if anchor is not None:
            result.anchor = anchor
            break
        issuers = [c for c in (*pool, *anchors.certificates)
                   if c.subject == current.issuer and der(c) != der(current) and _issued_by(current, c)]
        if not issuers:
            if current.subject == current.issuer:
                result.problems.append(("EVIDENCE-TSA-UNTRUSTED", f"the certificate path ends at "
                                        f"{describe(current)}, which is not a trusted anchor "
                                        f"(trusted: {anchors.source})"))
            else:
                result.problems.append(("EVIDENCE-CERT-CHAIN-INCOMPLETE", f"no certificate of the "
                                        f"issuer {current.issuer.rfc4514_string()} of "
                                        f"{current.subject.rfc4514_string()} in the package or "
                                        f"among the trusted anchors"))
            break
        anchored = [c for c in issuers if anchors.find(c) is not None]
        current = (anchored or issuers)[0]
        result.path.append(current)
    for cert in result.path:
        if not cert.not_valid_before_utc <= when <= cert.not_valid_after_utc:
            result.problems.append(("EVIDENCE-CERT-NOT-VALID-AT-GENTIME", f"{describe(cert)} is "
                                    f"valid from {cert.not_valid_before_utc:%Y-%m-%dT%H:%M:%SZ} to "
                                    f"{cert.not_valid_after_utc:%Y-%m-%dT%H:%M:%SZ}, not at the "
                                    f"token's genTime {when:%Y-%m-%dT%H:%M:%SZ}"))
    return result


def load_crls(data: bytes) -> list[x509.CertificateRevocationList]:
    return [x509.load_pem_x509_crl(m.group(0)) for m in _PEM_CRL.finditer(data)]


def pem_crls(crls: Iterable[x509.CertificateRevocationList]) -> bytes:
    return b"".join(c.public_bytes(serialization.Encoding.PEM) for c in crls)


def revocation_problems(path: Sequence[x509.Certificate], crls: Sequence[x509.CertificateRevocationList],
                        when: dt.datetime) -> list[tuple[str, str]]:
    """Each certificate of the path below its anchor, judged by the CRLs of its issuer that
    the issuer really signed: revoked at or before `when` is fatal; no CRL at all is said."""
    problems = []
    for cert, issuer in zip(path, path[1:]):
        signed = [c for c in crls if c.issuer == issuer.subject and c.is_signature_valid(issuer.public_key())]
        if not signed:
            problems.append(("EVIDENCE-REVOCATION-UNKNOWN", f"no revocation data for "
                             f"{describe(cert)} in the package: revocation not checked"))
            continue
        for crl in signed:
            revoked = crl.get_revoked_certificate_by_serial_number(cert.serial_number)
            if revoked is not None and revoked.revocation_date_utc <= when:
                problems.append(("EVIDENCE-TSA-REVOKED", f"{describe(cert)} was revoked on "
                                 f"{revoked.revocation_date_utc:%Y-%m-%dT%H:%M:%SZ}, before the "
                                 f"token's genTime {when:%Y-%m-%dT%H:%M:%SZ}"))
                break
    return problems


def crl_urls(cert: x509.Certificate) -> list[str]:
    try:
        points = cert.extensions.get_extension_for_class(x509.CRLDistributionPoints).value
    except x509.ExtensionNotFound:
        return []
    return [n.value for p in points for n in (p.full_name or [])
            if isinstance(n, x509.UniformResourceIdentifier) and n.value.startswith(("http://", "https://"))]


def fetch_crls(certs: Iterable[x509.Certificate], timeout: float = 20) -> tuple[list[x509.CertificateRevocationList], list[str]]:
    """The CRLs the certificates point to (CRL distribution points), fetched now, at sealing
    time, so a verifier decades later needs no network. Returns the CRLs and what failed."""
    crls, failures, seen = [], [], set()
    for cert in certs:
        for url in crl_urls(cert):
            if url in seen:
                continue
            seen.add(url)
            try:
                with urllib.request.urlopen(url, timeout=timeout) as response:
                    data = response.read(16 << 20)
                crls.append(load_crls(data)[0] if b"-----BEGIN" in data else x509.load_der_x509_crl(data))
            except Exception as e:  # the seal still stands; the report says what is missing
                failures.append(f"{url}: {type(e).__name__}: {e}")
    return crls, failures
