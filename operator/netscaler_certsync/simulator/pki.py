"""A throw-away PKI: the simulator's own TLS certificate and its built-in certificates.

Makes roots, intermediates and leaves with `cryptography`, in EC P-256 by default because it is
fast (a benchmark may issue thousands), RSA on request. Nothing here is fit for production keys.
Tests, the demo and the benchmarks use it through `certsync_devkit.pki`, which adds `TestPKI`.
"""

from __future__ import annotations

import datetime as dt
import ipaddress
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, rsa
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

PrivateKey = ec.EllipticCurvePrivateKey | rsa.RSAPrivateKey


def _now() -> dt.datetime:
    return dt.datetime.now(dt.UTC).replace(microsecond=0)


def new_key(key_type: str = "ec", rsa_bits: int = 2048) -> PrivateKey:
    if key_type == "ec":
        return ec.generate_private_key(ec.SECP256R1())
    if key_type == "rsa":
        return rsa.generate_private_key(public_exponent=65537, key_size=rsa_bits)
    raise ValueError(f"unknown key type {key_type!r}")


@dataclass(frozen=True)
class Issued:
    """A certificate and its private key."""

    cert: x509.Certificate
    key: PrivateKey

    @property
    def cert_pem(self) -> bytes:
        return self.cert.public_bytes(serialization.Encoding.PEM)

    @property
    def key_pem(self) -> bytes:
        """PKCS#8, unencrypted (what cert-manager writes by default)."""
        return self.key.private_bytes(
            serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
        )

    @property
    def key_pem_traditional(self) -> bytes:
        """The traditional OpenSSL PEM: PKCS#1 for RSA, SEC1 for EC (not PKCS#8)."""
        return self.key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.TraditionalOpenSSL,
            serialization.NoEncryption(),
        )

    def key_pem_encrypted(self, password: bytes = b"secret") -> bytes:
        return self.key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.BestAvailableEncryption(password),
        )

    @property
    def serial_hex(self) -> str:
        """Serial as NetScaler shows it: upper-case hex in whole bytes, leading zero kept."""
        n = self.cert.serial_number
        return n.to_bytes(max(1, (n.bit_length() + 7) // 8), "big").hex().upper()

    @property
    def common_name(self) -> str:
        attrs = self.cert.subject.get_attributes_for_oid(NameOID.COMMON_NAME)
        return str(attrs[0].value) if attrs else ""

    @property
    def fingerprint_sha256(self) -> str:
        return self.cert.fingerprint(hashes.SHA256()).hex()


def _name(cn: str, org: str | None) -> x509.Name:
    parts = [x509.NameAttribute(NameOID.COMMON_NAME, cn)]
    if org:
        parts.insert(0, x509.NameAttribute(NameOID.ORGANIZATION_NAME, org))
    return x509.Name(parts)


def make_ca(
    cn: str = "Certsync Test Root CA",
    *,
    issuer: Issued | None = None,
    org: str | None = "Certsync Test",
    key_type: str = "ec",
    days: int = 3650,
    not_before: dt.datetime | None = None,
    path_length: int | None = None,
    key: PrivateKey | None = None,
    serial: int | None = None,
) -> Issued:
    """A root (no issuer) or an intermediate CA signed by `issuer`."""
    key = key or new_key(key_type)
    start = not_before or _now() - dt.timedelta(days=1)
    subject = _name(cn, org)
    signer_key = issuer.key if issuer else key
    builder = (
        x509.CertificateBuilder()
        .subject_name(subject)
        .issuer_name(issuer.cert.subject if issuer else subject)
        .public_key(key.public_key())
        .serial_number(serial or x509.random_serial_number())
        .not_valid_before(start)
        .not_valid_after(start + dt.timedelta(days=days))
        .add_extension(x509.BasicConstraints(ca=True, path_length=path_length), critical=True)
        .add_extension(
            x509.KeyUsage(
                digital_signature=True,
                content_commitment=False,
                key_encipherment=False,
                data_encipherment=False,
                key_agreement=False,
                key_cert_sign=True,
                crl_sign=True,
                encipher_only=False,
                decipher_only=False,
            ),
            critical=True,
        )
        .add_extension(x509.SubjectKeyIdentifier.from_public_key(key.public_key()), critical=False)
    )
    if issuer is not None:
        builder = builder.add_extension(
            x509.AuthorityKeyIdentifier.from_issuer_public_key(issuer.key.public_key()), critical=False
        )
    return Issued(builder.sign(signer_key, hashes.SHA256()), key)


def make_leaf(
    issuer: Issued,
    cn: str = "www.example.com",
    *,
    sans: Sequence[str] | None = None,
    key_type: str = "ec",
    days: int = 90,
    not_before: dt.datetime | None = None,
    not_after: dt.datetime | None = None,
    key: PrivateKey | None = None,
    serial: int | None = None,
    client: bool = False,
) -> Issued:
    """A TLS server certificate for `cn` (and `sans`; IP literals become IP SANs), or with
    `client` a client certificate (extended key usage clientAuth)."""
    key = key or new_key(key_type)
    start = not_before or _now() - dt.timedelta(hours=1)
    end = not_after or start + dt.timedelta(days=days)
    names: list[x509.GeneralName] = []
    for san in sans if sans is not None else [cn]:
        try:
            names.append(x509.IPAddress(ipaddress.ip_address(san)))
        except ValueError:
            names.append(x509.DNSName(san))
    builder = (
        x509.CertificateBuilder()
        .subject_name(_name(cn, None))
        .issuer_name(issuer.cert.subject)
        .public_key(key.public_key())
        .serial_number(serial or x509.random_serial_number())
        .not_valid_before(start)
        .not_valid_after(end)
        .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
        .add_extension(
            x509.ExtendedKeyUsage(
                [ExtendedKeyUsageOID.CLIENT_AUTH if client else ExtendedKeyUsageOID.SERVER_AUTH]
            ),
            critical=False,
        )
        .add_extension(
            x509.AuthorityKeyIdentifier.from_issuer_public_key(issuer.key.public_key()), critical=False
        )
    )
    if names:
        builder = builder.add_extension(x509.SubjectAlternativeName(names), critical=False)
    return Issued(builder.sign(issuer.key, hashes.SHA256()), key)


def pem_bundle(certs: Iterable[Issued | x509.Certificate]) -> bytes:
    """Concatenated PEM, in the order given (tls.crt is leaf first, then intermediates)."""
    out = b""
    for item in certs:
        cert = item.cert if isinstance(item, Issued) else item
        out += cert.public_bytes(serialization.Encoding.PEM)
    return out


def server_certificate(hosts: Sequence[str] = ("127.0.0.1", "localhost")) -> tuple[Issued, Issued]:
    """(ca, server) for a loopback HTTPS server such as the simulator's management port."""
    ca = make_ca("Certsync Simulator CA")
    return ca, make_leaf(ca, hosts[0], sans=list(hosts), days=365)
