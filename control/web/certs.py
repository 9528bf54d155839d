"""A certificate authority of one's own, for the demo and the tests: a CA and a server
certificate it signs, so the whole HTTPS path (TLS, Secure cookies, HSTS, secure-context
camera access) runs on one machine without a public certificate.

Never for the show: there the certificate comes from the organisation or Let's Encrypt
(docs/deploy.md). EC P-256 keys: quick to make, and what every current browser accepts.
Made with `cryptography` (already there for aiortc's DTLS), so no `openssl` command is needed.
"""

from __future__ import annotations

import base64
import datetime
import hashlib
import ipaddress
import os
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

CA_DAYS = 60
SERVER_DAYS = 30  # a demo's certificate: a rehearsal month


@dataclass(frozen=True, slots=True)
class Issued:
    """A certificate and its private key, both PEM."""
    cert_pem: bytes
    key_pem: bytes

    @property
    def cert(self) -> x509.Certificate:
        return x509.load_pem_x509_certificate(self.cert_pem)


@dataclass(frozen=True, slots=True)
class CertFiles:
    """Where `write_demo_certificates` put them: the CA to trust, the server's pair."""
    ca: Path
    cert: Path
    key: Path
    spki: str  # the CA's SPKI hash, for Chromium's --ignore-certificate-errors-spki-list


def _now() -> datetime.datetime:
    return datetime.datetime.now(datetime.UTC)


def _key_pem(key: ec.EllipticCurvePrivateKey) -> bytes:
    return key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                             serialization.NoEncryption())


def make_ca(name: str = "showctl demo CA", days: int = CA_DAYS) -> Issued:
    key = ec.generate_private_key(ec.SECP256R1())
    subject = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, name)])
    now = _now()
    cert = (x509.CertificateBuilder().subject_name(subject).issuer_name(subject)
            .public_key(key.public_key()).serial_number(x509.random_serial_number())
            .not_valid_before(now - datetime.timedelta(minutes=5))
            .not_valid_after(now + datetime.timedelta(days=days))
            .add_extension(x509.BasicConstraints(ca=True, path_length=0), critical=True)
            .add_extension(x509.KeyUsage(
                digital_signature=True, key_cert_sign=True, crl_sign=True,
                content_commitment=False, key_encipherment=False, data_encipherment=False,
                key_agreement=False, encipher_only=False, decipher_only=False), critical=True)
            .add_extension(x509.SubjectKeyIdentifier.from_public_key(key.public_key()),
                           critical=False)
            .sign(key, hashes.SHA256()))
    return Issued(cert.public_bytes(serialization.Encoding.PEM), _key_pem(key))


def _san(names: Sequence[str]) -> x509.SubjectAlternativeName:
    entries: list[x509.GeneralName] = []
    for name in names:
        try:
            entries.append(x509.IPAddress(ipaddress.ip_address(name.strip("[]"))))
        except ValueError:
            entries.append(x509.DNSName(name))
    return x509.SubjectAlternativeName(entries)


def issue(ca: Issued, names: Sequence[str], days: int = SERVER_DAYS) -> Issued:
    """A server certificate for `names` (host names and addresses) signed by `ca`; a new
    random serial each time."""
    if not names:
        raise ValueError("a server certificate needs at least one name")
    ca_key = serialization.load_pem_private_key(ca.key_pem, None)
    if not isinstance(ca_key, ec.EllipticCurvePrivateKey):
        raise ValueError("the CA's key is not an EC key")
    key = ec.generate_private_key(ec.SECP256R1())
    now = _now()
    cert = (x509.CertificateBuilder()
            .subject_name(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, names[0])]))
            .issuer_name(ca.cert.subject).public_key(key.public_key())
            .serial_number(x509.random_serial_number())
            .not_valid_before(now - datetime.timedelta(minutes=5))
            .not_valid_after(now + datetime.timedelta(days=days))
            .add_extension(_san(names), critical=False)
            .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
            .add_extension(x509.ExtendedKeyUsage([ExtendedKeyUsageOID.SERVER_AUTH]),
                           critical=False)
            .add_extension(x509.AuthorityKeyIdentifier.from_issuer_public_key(
                ca_key.public_key()), critical=False)
            .sign(ca_key, hashes.SHA256()))
    return Issued(cert.public_bytes(serialization.Encoding.PEM), _key_pem(key))


def spki_hash(cert_pem: bytes) -> str:
    """base64(sha256(SubjectPublicKeyInfo)): how Chromium names a key to trust."""
    spki = x509.load_pem_x509_certificate(cert_pem).public_key().public_bytes(
        serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo)
    return base64.b64encode(hashlib.sha256(spki).digest()).decode("ascii")


def write_private(path: Path, data: bytes) -> None:
    """Write a file readable by its owner only (a key), replacing it in one rename."""
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "wb") as f:
        f.write(data)
    os.replace(tmp, path)


def write_demo_certificates(folder: Path, names: Sequence[str]) -> CertFiles:
    """A new CA and a server certificate for `names` in `folder` (ca.pem, cert.pem,
    key.pem; the keys 0600). The CA's key is not kept: nothing else can be signed."""
    folder.mkdir(parents=True, exist_ok=True, mode=0o700)
    ca = make_ca()
    server = issue(ca, names)
    files = CertFiles(folder / "ca.pem", folder / "cert.pem", folder / "key.pem",
                      spki_hash(ca.cert_pem))
    files.ca.write_bytes(ca.cert_pem)
    files.cert.write_bytes(server.cert_pem + ca.cert_pem)  # the chain, leaf first
    write_private(files.key, server.key_pem)
    return files
