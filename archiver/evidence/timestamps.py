"""RFC 3161 timestamps: asking authorities for tokens, and checking a token offline.

A token is kept as the authority's TimeStampResp, byte for byte as received (`.tsr`, what
`openssl ts -reply` writes and `openssl ts -verify -in X.tsr` reads), with the authority's
certificates and the revocation data fetched at sealing time beside it. rfc3161-client builds
the requests and checks the CMS signature; the certificate path, genTime validity and
revocation are judged here (archiver.evidence.trust), so each failure has its own code.
"""
from __future__ import annotations

import datetime as dt
import functools
import hashlib
import urllib.error
import urllib.request
from collections.abc import Sequence
from dataclasses import dataclass, field

from cryptography import x509
from rfc3161_client import (HashAlgorithm, PKIStatus, TimestampRequestBuilder, VerifierBuilder,
                            decode_timestamp_response)

from archiver.evidence.der import DERError, sort_token_certificates
from archiver.evidence.trust import (Anchors, check_path, der, describe, fetch_crls, load_crls,
                                     pem_chain, pem_crls, read_certificates, revocation_problems)
from archiver.urls import has_userinfo

HASHES = {"sha256": HashAlgorithm.SHA256, "sha512": HashAlgorithm.SHA512}
IMPRINT_OIDS = {"2.16.840.1.101.3.4.2.1": "sha256", "2.16.840.1.101.3.4.2.2": "sha384",
                "2.16.840.1.101.3.4.2.3": "sha512"}


CREDENTIALS_IN_URL = ("a time-stamping authority URL must not carry credentials (user:password@host): "
                      "it is written into every seal and shown in messages")


@dataclass(frozen=True)
class Authority:
    """A time-stamping authority as configured: `certificates` is a PEM file of its chain,
    for authorities that do not put their certificates in their tokens."""
    url: str
    name: str = ""
    certificates: str | None = None
    timeout: float = 30

    def __post_init__(self):
        # the URL is shown (warnings, timestamps.json, the seal's PREMIS event): it must
        # never hold a password, so no URL with userinfo is an Authority at all
        if has_userinfo(self.url):
            raise ValueError(CREDENTIALS_IN_URL)

    @property
    def label(self) -> str:
        return self.name or self.url


@dataclass
class Token:
    """One authority's answer for one message, with what a verifier needs offline."""
    authority: Authority
    response: bytes  # the TimeStampResp as received
    chain: list[x509.Certificate] = field(default_factory=list)
    crls: list = field(default_factory=list)
    gen_time: dt.datetime | None = None
    notes: list[str] = field(default_factory=list)  # what could not be obtained

    def chain_pem(self) -> bytes:
        return pem_chain(self.chain)

    def crls_pem(self) -> bytes:
        return pem_crls(self.crls)


class TimestampError(Exception):
    def __init__(self, code: str, message: str):
        super().__init__(message)
        self.code = code
        self.message = message


def parse(response: bytes):
    """The TimeStampResp parsed by rfc3161-client, its certificate SET sorted first (see der.py)."""
    try:
        return decode_timestamp_response(sort_token_certificates(response))
    except (DERError, ValueError) as e:
        raise TimestampError("EVIDENCE-TOKEN-UNREADABLE", f"not an RFC 3161 TimeStampResp: {e}") from None


def embedded_certificates(parsed) -> list[x509.Certificate]:
    return [x509.load_der_x509_certificate(c) for c in parsed.signed_data.certificates]


def signer_certificate(parsed, pool: Sequence[x509.Certificate]) -> x509.Certificate | None:
    """The certificate the token's SignerInfo names (issuer and serial number)."""
    infos = list(parsed.signed_data.signer_infos)
    if len(infos) != 1:
        return None
    si = infos[0]
    for cert in (*embedded_certificates(parsed), *pool):
        if cert.issuer == si.issuer and cert.serial_number == si.serial_number:
            return cert
    return None


def request_token(authority: Authority, message: bytes, algorithm: str = "sha256") -> Token:
    """Ask one authority for a token over `message` (the imprint is its `algorithm` hash),
    with a nonce and the certificates requested; the answer is checked to be for this very
    request before it is kept."""
    req = (TimestampRequestBuilder().data(message).hash_algorithm(HASHES[algorithm])
           .nonce(nonce=True).cert_request(cert_request=True).build())
    http = urllib.request.Request(authority.url, data=req.as_bytes(), method="POST",
                                  headers={"Content-Type": "application/timestamp-query",
                                           "Accept": "application/timestamp-reply"})
    try:
        with urllib.request.urlopen(http, timeout=authority.timeout) as r:
            body = r.read(1 << 20)
    except urllib.error.HTTPError as e:
        raise TimestampError("EVIDENCE-TSA-FAILED", f"{authority.label}: HTTP {e.code} {e.reason}") from None
    except (urllib.error.URLError, OSError) as e:
        reason = getattr(e, "reason", e)
        raise TimestampError("EVIDENCE-TSA-FAILED", f"{authority.label}: {reason}") from None
    parsed = parse(body)
    if PKIStatus(parsed.status) not in (PKIStatus.GRANTED, PKIStatus.GRANTED_WITH_MODS):
        raise TimestampError("EVIDENCE-TSA-FAILED", f"{authority.label}: request refused "
                             f"(status {parsed.status})")
    info = parsed.tst_info
    if info.nonce != req.nonce:
        raise TimestampError("EVIDENCE-TOKEN-WRONG-DIGEST", f"{authority.label}: the reply's nonce "
                             "is not the request's")
    if info.message_imprint.message != hashlib.new(algorithm, message).digest():
        raise TimestampError("EVIDENCE-TOKEN-WRONG-DIGEST", f"{authority.label}: the reply "
                             "timestamps another digest")
    return Token(authority, body, gen_time=info.gen_time)


def complete_trust_material(tokens: Sequence[Token]) -> None:
    """Add to each token its authority's certificates (those in the token, those configured)
    and the CRLs they point to, fetched now: once per authority, however many packages."""
    for token in tokens:
        parsed = parse(token.response)
        certs = embedded_certificates(parsed)
        if token.authority.certificates:
            certs += read_certificates(token.authority.certificates)
        token.chain = list({der(c): c for c in certs}.values())
        token.crls, failures = fetch_crls(c for c in token.chain if c.subject != c.issuer)
        token.notes += [f"revocation data not obtained: {f}" for f in failures]


@dataclass(frozen=True)
class TokenCheck:
    gen_time: dt.datetime | None
    authority: str  # the signing certificate's subject
    anchor: str | None  # the trusted anchor the proof rests on
    problems: tuple[tuple[str, str], ...]  # (code, message); empty when the token proves

    @property
    def ok(self) -> bool:
        return not any(code != "EVIDENCE-REVOCATION-UNKNOWN" for code, _ in self.problems)


def check_token(response: bytes, message: bytes, chain_pem: bytes, crls_pem: bytes,
                anchors: Anchors) -> TokenCheck:
    """Does this token prove that `message` existed at its genTime, by anchors' lights?"""
    return _check_token(response, message, chain_pem, crls_pem, anchors)


@functools.lru_cache(maxsize=256)  # a batch shares its tokens: each is judged once per process
def _check_token(response: bytes, message: bytes, chain_pem: bytes, crls_pem: bytes,
                 anchors: Anchors) -> TokenCheck:
    try:
        parsed = parse(response)
    except TimestampError as e:
        return TokenCheck(None, "?", None, ((e.code, e.message),))
    info = parsed.tst_info
    when = info.gen_time
    if when.tzinfo is None:
        when = when.replace(tzinfo=dt.timezone.utc)
    algorithm = IMPRINT_OIDS.get(info.message_imprint.hash_algorithm.dotted_string)
    if algorithm is None:
        return TokenCheck(when, "?", None, (("EVIDENCE-TOKEN-INVALID", "the token's imprint uses "
                          f"an unsupported hash {info.message_imprint.hash_algorithm.dotted_string}"),))
    if info.message_imprint.message != hashlib.new(algorithm, message).digest():
        return TokenCheck(when, "?", None, (("EVIDENCE-TOKEN-WRONG-DIGEST", "the token timestamps "
                          "another digest than this record's"),))
    try:
        pool = x509.load_pem_x509_certificates(chain_pem) if chain_pem.strip() else []
        crls = load_crls(crls_pem)
    except ValueError as e:
        return TokenCheck(when, "?", None, (("EVIDENCE-RECORD-UNREADABLE", f"unreadable "
                          f"certificates or CRLs beside the token: {e}"),))
    signer = signer_certificate(parsed, pool)
    if signer is None:
        return TokenCheck(when, "?", None, (("EVIDENCE-CERT-CHAIN-INCOMPLETE", "the certificate "
                          "that signed the token is neither in it nor beside it"),))
    path = check_path(signer, [*embedded_certificates(parsed), *pool], anchors, when)
    problems = list(path.problems)
    if path.anchor is not None:
        problems += revocation_problems(path.path, crls, when)
    if not problems or all(c == "EVIDENCE-REVOCATION-UNKNOWN" for c, _ in problems):
        # the CMS signature, the signing certificate's EKU and its ESS identifier, with the
        # path just found: only non-root certificates of it go in as intermediates (the
        # library trusts everything it is given; OpenSSL ends a path at a self-signed root)
        builder = VerifierBuilder().add_root_certificate(path.anchor)
        embedded = parsed.signed_data.certificates
        if not embedded:
            builder = builder.tsa_certificate(signer)
        for cert in path.path[1:-1]:
            builder = builder.add_intermediate_certificate(cert)
        try:
            builder.build().verify(parsed, info.message_imprint.message)
        except Exception as e:  # VerificationError, or what the library raises on odd tokens
            problems.append(("EVIDENCE-TOKEN-INVALID", f"the token's signature does not verify: {e}"))
    return TokenCheck(when, describe(signer), describe(path.anchor) if path.anchor else None,
                      tuple(problems))


def gen_time_text(when: dt.datetime | None) -> str:
    return when.astimezone(dt.timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ") if when else "?"


def authorities_from(urls: Sequence[str], config: dict) -> list[Authority]:
    """--tsa URLs, else the `tsa` list of [evidence] (URLs, or tables with url, name,
    certificates, timeout). ValueError names the option or key, never a URL with credentials."""
    out = []
    where = "" if urls else "[evidence] tsa, "  # the caller names --tsa or archiver.toml
    for i, item in enumerate(list(urls) or list(config.get("tsa", [])), 1):
        url = item if isinstance(item, str) else item.get("url") if isinstance(item, dict) else None
        if isinstance(url, str) and has_userinfo(url):
            raise ValueError(f"{where}authority {i}: {CREDENTIALS_IN_URL}")
        if isinstance(item, str):
            out.append(Authority(url=item))
        elif isinstance(item, dict) and item.get("url"):
            out.append(Authority(url=str(item["url"]), name=str(item.get("name", "")),
                                 certificates=item.get("certificates"),
                                 timeout=float(item.get("timeout", 30))))
        else:
            raise ValueError(f"{where}authority {i}: tsa entries are URLs or tables with a url")
    return out

