"""Signing keys: Ed25519 keys made by `archiver keygen`, or an organisation's own X.509 key
(RSA or EC) with its certificate chain. The private key is only ever read here, used to sign,
and never written anywhere else, printed or logged: errors name the file, never its content.
"""
from __future__ import annotations

import hashlib
import os
import re
from dataclasses import dataclass
from pathlib import Path

from cryptography import x509
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, ed25519, padding, rsa

from archiver.problems import ArchiverError

PEM = serialization.Encoding.PEM
SPKI = serialization.PublicFormat.SubjectPublicKeyInfo


def public_pem(public_key) -> bytes:
    return public_key.public_bytes(PEM, SPKI)


def key_id(public_key) -> str:
    """`ed25519:`, `ec-secp256r1:` or `rsa-2048:` and 32 hex digits of the SHA-256 of the
    key's SubjectPublicKeyInfo: a short name that changes with the key."""
    der = public_key.public_bytes(serialization.Encoding.DER, SPKI)
    if isinstance(public_key, ed25519.Ed25519PublicKey):
        kind = "ed25519"
    elif isinstance(public_key, ec.EllipticCurvePublicKey):
        kind = f"ec-{public_key.curve.name}"
    elif isinstance(public_key, rsa.RSAPublicKey):
        kind = f"rsa-{public_key.key_size}"
    else:
        raise ValueError("unsupported key type")
    return f"{kind}:{hashlib.sha256(der).hexdigest()[:32]}"


def signature_method(public_key) -> str:
    """The LoC signatureMethod-style name: encryption algorithm, hyphen, hash."""
    if isinstance(public_key, ed25519.Ed25519PublicKey):
        return "Ed25519"
    if isinstance(public_key, ec.EllipticCurvePublicKey):
        return "ECDSA-SHA256"
    return "RSA-SHA256"


@dataclass(frozen=True)
class SigningKey:
    private: object  # kept out of repr: never printed
    certificates: tuple[x509.Certificate, ...] = ()  # the key's own chain, leaf first

    def __repr__(self) -> str:
        return f"SigningKey({self.id})"

    @property
    def public(self):
        return self.private.public_key()

    @property
    def id(self) -> str:
        return key_id(self.public)

    def sign(self, data: bytes) -> bytes:
        k = self.private
        if isinstance(k, ed25519.Ed25519PrivateKey):
            return k.sign(data)
        if isinstance(k, ec.EllipticCurvePrivateKey):
            return k.sign(data, ec.ECDSA(hashes.SHA256()))
        return k.sign(data, padding.PKCS1v15(), hashes.SHA256())

    def public_file(self) -> bytes:
        """What a verifier needs: the public key, then the certificate chain if any."""
        return public_pem(self.public) + b"".join(c.public_bytes(PEM) for c in self.certificates)


def verify_signature(public_key, signature: bytes, data: bytes) -> bool:
    try:
        if isinstance(public_key, ed25519.Ed25519PublicKey):
            public_key.verify(signature, data)
        elif isinstance(public_key, ec.EllipticCurvePublicKey):
            public_key.verify(signature, data, ec.ECDSA(hashes.SHA256()))
        elif isinstance(public_key, rsa.RSAPublicKey):
            public_key.verify(signature, data, padding.PKCS1v15(), hashes.SHA256())
        else:
            return False
    except (InvalidSignature, ValueError):
        return False
    return True


def keygen(path: str | os.PathLike) -> tuple[Path, Path, str]:
    """A new Ed25519 key: the private key in `path` (PKCS#8 PEM, mode 0600, never
    overwritten) and the public key in `path`.pub. Returns both paths and the key id."""
    private = Path(path)
    public = private.with_name(private.name + ".pub")
    for p in (private, public):
        if os.path.lexists(p):
            raise ArchiverError(str(p), "already exists: a key is never overwritten", "EVIDENCE-KEY")
    key = ed25519.Ed25519PrivateKey.generate()
    data = key.private_bytes(PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption())
    try:
        fd = os.open(private, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except OSError as e:
        raise ArchiverError(str(private), f"cannot create: {e.strerror}", "EVIDENCE-KEY") from None
    try:
        os.fchmod(fd, 0o600)  # whatever the umask
        os.write(fd, data)
        os.fsync(fd)
    finally:
        os.close(fd)
    public.write_bytes(public_pem(key.public_key()))
    return private, public, key_id(key.public_key())


def load_signing_key(path: str | os.PathLike, certificate: str | os.PathLike | None = None,
                     password_env: str | None = None) -> SigningKey:
    """The private key in `path` (PEM; encrypted if `password_env` names the variable
    holding its password) and, for an X.509 key, its certificate chain (PEM, leaf first)."""
    p = Path(path)
    try:
        data = p.read_bytes()
    except OSError as e:
        raise ArchiverError(str(p), f"cannot read the key: {e.strerror}", "EVIDENCE-KEY") from None
    password = os.environ.get(password_env, "").encode() if password_env else None
    try:
        private = serialization.load_pem_private_key(data, password or None)
    except (ValueError, TypeError):
        # the message of the library could quote the file: say only what went wrong
        raise ArchiverError(str(p), "not a usable private key (PEM, Ed25519/EC/RSA; "
                            "encrypted keys need password_env)", "EVIDENCE-KEY") from None
    if not isinstance(private, (ed25519.Ed25519PrivateKey, ec.EllipticCurvePrivateKey,
                                rsa.RSAPrivateKey)):
        raise ArchiverError(str(p), "unsupported key type (Ed25519, EC or RSA)", "EVIDENCE-KEY")
    certs: tuple[x509.Certificate, ...] = ()
    if certificate:
        c = Path(certificate)
        try:
            certs = tuple(x509.load_pem_x509_certificates(c.read_bytes()))
        except (OSError, ValueError) as e:
            raise ArchiverError(str(c), f"not a PEM certificate chain: {e}", "EVIDENCE-KEY") from None
        if certs and public_pem(certs[0].public_key()) != public_pem(private.public_key()):
            raise ArchiverError(str(c), "the first certificate is not the key's", "EVIDENCE-KEY")
    return SigningKey(private, certs)


_PEM_BLOCK = re.compile(rb"-----BEGIN ([A-Z0-9 ]+)-----.*?-----END \1-----", re.S)


def load_public_keys(data: bytes) -> list:
    """Public keys from PEM: SubjectPublicKeyInfo blocks and certificates (their keys)."""
    keys = []
    for block in _PEM_BLOCK.finditer(data):
        if block.group(1) == b"CERTIFICATE":
            keys.append(x509.load_pem_x509_certificate(block.group(0)).public_key())
        elif block.group(1) == b"PUBLIC KEY":
            keys.append(serialization.load_pem_public_key(block.group(0)))
    return keys


def signer_file_keys(path: str | os.PathLike) -> list:
    """The keys a verifier names with --signer: a public key file (keygen's .pub) or a
    certificate (PEM)."""
    p = Path(path)
    try:
        keys = load_public_keys(p.read_bytes())
    except (OSError, ValueError) as e:
        raise ArchiverError(str(p), f"not a public key or certificate: {e}", "EVIDENCE-KEY") from None
    if not keys:
        raise ArchiverError(str(p), "holds no PEM public key or certificate", "EVIDENCE-KEY")
    return keys
