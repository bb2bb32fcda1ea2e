"""Certificate and key checks the appliance does when a certkey is added or changed.

Each certificate is parsed once (at add/update time) into a `CertInfo` holding everything
GET needs, so reads never touch `cryptography` again.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import re
from dataclasses import dataclass, field
from typing import Any

from cryptography import x509
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import dsa, ec, ed448, ed25519, rsa
from cryptography.hazmat.primitives.serialization import pkcs12
from cryptography.x509.oid import NameOID

from netscaler_certsync.simulator.errors import NitroError

_KEY_BLOCK = re.compile(rb"-----BEGIN ([A-Z0-9 ]*?)PRIVATE KEY-----.*?-----END \1PRIVATE KEY-----", re.S)
_CERT_BLOCK = re.compile(rb"-----BEGIN CERTIFICATE-----.*?-----END CERTIFICATE-----", re.S)


@dataclass(frozen=True, slots=True)
class CertInfo:
    """What the appliance shows about one certificate."""

    serial: str
    subject: str
    issuer: str
    subject_key: bytes  # DER of the subject name, for issuer matching
    issuer_key: bytes
    not_before: dt.datetime
    not_after: dt.datetime
    is_ca: bool
    self_signed: bool
    common_name: str | None
    domains: frozenset[str]
    sandns: tuple[str, ...]
    sanip: tuple[str, ...]
    fingerprint: str  # sha256 hex of the DER
    signaturealg: str
    publickey: str
    publickeysize: int
    public_der: bytes
    version: int
    der: bytes = field(default=b"", repr=False, compare=False)
    #: the named curve of an EC public key (`secp256r1`…), None for other key types
    curve: str | None = None
    #: the GET fields that depend on the certificate alone, computed once at parse time
    shown: dict[str, Any] = field(default_factory=dict, compare=False)

    @property
    def certificatetype(self) -> list[str]:
        if self.is_ca:
            return ["ROOT_CERT"] if self.self_signed else ["INTM_CERT"]
        return ["CLNT_CERT", "SRVR_CERT"]

    def __post_init__(self) -> None:
        self.shown.update(
            signaturealg=self.signaturealg,
            certificatetype=self.certificatetype,
            serial=self.serial,
            issuer=self.issuer,
            subject=self.subject,
            clientcertnotbefore=openssl_date(self.not_before),
            clientcertnotafter=openssl_date(self.not_after),
            publickey=self.publickey,
            publickeysize=self.publickeysize,
            version=self.version,
            certkeydigest=self.fingerprint,
        )
        if self.sandns:
            self.shown["sandns"] = ",".join(self.sandns)
        if self.sanip:
            self.shown["sanipadd"] = ",".join(self.sanip)

    def status(self, now: dt.datetime) -> str:
        if now < self.not_before:
            return "Not yet valid"
        return "Expired" if now > self.not_after else "Valid"

    def days_to_expiration(self, now: dt.datetime) -> int:
        return max(0, (self.not_after - now).days)


def openssl_date(when: dt.datetime) -> str:
    """`May  7 07:21:16 2021 GMT`: OpenSSL's format, day padded with a space."""
    return f"{when:%b} {when.day:2d} {when:%H:%M:%S %Y} GMT"


def _serial_text(number: int) -> str:
    """How NetScaler prints a serial: upper-case hex in whole bytes, leading zero kept, no sign byte."""
    return number.to_bytes(max(1, (number.bit_length() + 7) // 8), "big").hex().upper()


def rdn_string(name: x509.Name) -> str:
    """` C=US,O=Let's Encrypt,CN=R3`: RDNs in certificate order, comma-joined, leading space."""
    return " " + ",".join(attr.rfc4514_string() for attr in name)


def _public_key_info(key: object) -> tuple[str, int]:
    if isinstance(key, rsa.RSAPublicKey):
        return "rsaEncryption", key.key_size
    if isinstance(key, ec.EllipticCurvePublicKey):
        return "id-ecPublicKey", key.curve.key_size
    if isinstance(key, dsa.DSAPublicKey):
        return "dsaEncryption", key.key_size
    if isinstance(key, ed25519.Ed25519PublicKey | ed448.Ed448PublicKey):
        return "ED25519", 256
    return "unknown", 0


def _spki(key: object) -> bytes:
    return key.public_bytes(  # type: ignore[attr-defined]
        serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo
    )


def info_from_x509(cert: x509.Certificate) -> CertInfo:
    cns = cert.subject.get_attributes_for_oid(NameOID.COMMON_NAME)
    cn = str(cns[0].value) if cns else None
    sandns: tuple[str, ...] = ()
    sanip: tuple[str, ...] = ()
    try:
        san = cert.extensions.get_extension_for_class(x509.SubjectAlternativeName).value
        sandns = tuple(san.get_values_for_type(x509.DNSName))
        sanip = tuple(str(ip) for ip in san.get_values_for_type(x509.IPAddress))
    except x509.ExtensionNotFound:
        pass
    try:
        is_ca = cert.extensions.get_extension_for_class(x509.BasicConstraints).value.ca
    except x509.ExtensionNotFound:
        is_ca = False
    public_key = cert.public_key()
    algorithm, size = _public_key_info(public_key)
    der = cert.public_bytes(serialization.Encoding.DER)
    oid = cert.signature_algorithm_oid
    domains = {d.lower() for d in (*sandns, *sanip)}
    if cn:
        domains.add(cn.lower())
    return CertInfo(
        serial=_serial_text(cert.serial_number),
        subject=rdn_string(cert.subject),
        issuer=rdn_string(cert.issuer),
        subject_key=cert.subject.public_bytes(),
        issuer_key=cert.issuer.public_bytes(),
        not_before=cert.not_valid_before_utc,
        not_after=cert.not_valid_after_utc,
        is_ca=is_ca,
        self_signed=cert.subject == cert.issuer,
        common_name=cn,
        domains=frozenset(domains),
        sandns=sandns,
        sanip=sanip,
        fingerprint=hashlib.sha256(der).hexdigest(),
        signaturealg=getattr(oid, "_name", oid.dotted_string),
        publickey=algorithm,
        publickeysize=size,
        public_der=_spki(public_key),
        version=cert.version.value + 1,
        der=der,
        curve=public_key.curve.name if isinstance(public_key, ec.EllipticCurvePublicKey) else None,
    )


def parse_certificate(data: bytes, inform: str, passplain: str | None = None) -> CertInfo:
    """The first certificate of a PEM/DER/PFX file; 1536 when there is none."""
    try:
        if inform == "DER":
            return info_from_x509(x509.load_der_x509_certificate(data))
        if inform == "PFX":
            password = passplain.encode() if passplain else None
            _, cert, _ = pkcs12.load_key_and_certificates(data, password)
            if cert is None:
                raise ValueError("no certificate in PFX")
            return info_from_x509(cert)
        block = _CERT_BLOCK.search(data)
        if block is None:
            raise ValueError("no PEM certificate")
        return info_from_x509(x509.load_pem_x509_certificate(block.group(0)))
    except (ValueError, TypeError) as exc:
        raise NitroError(1536) from exc


def check_key(data: bytes, cert: CertInfo, inform: str, passplain: str | None, require_pass: bool) -> None:
    """Load a private key as the appliance does: 1537 bad/encrypted, 1614 wrong pass, 1538 mismatch."""
    key = load_key(data, inform, passplain, require_pass)
    if _spki(key.public_key()) != cert.public_der:
        raise NitroError(1538)


def load_key(data: bytes, inform: str, passplain: str | None, require_pass: bool = False) -> Any:
    """The private key of a key file (1537 bad or encrypted without pass phrase, 1614 wrong one)."""
    password = passplain.encode() if passplain else None
    try:
        if inform == "PFX":
            key, _, _ = pkcs12.load_key_and_certificates(data, password)
            if key is None:
                raise NitroError(1537)
        elif inform == "DER":
            key = serialization.load_der_private_key(data, None)
        else:
            block = _KEY_BLOCK.search(data)
            if block is None:
                raise NitroError(1537)
            pem = block.group(0)
            encrypted = b"ENCRYPTED" in pem
            if encrypted and not passplain:
                raise NitroError(1537)
            if not encrypted and require_pass and passplain is None:
                raise NitroError(1537)
            try:
                key = serialization.load_pem_private_key(
                    pem, password if encrypted else None, unsafe_skip_rsa_key_validation=True
                )
            except ValueError as exc:
                raise NitroError(1614 if encrypted else 1537) from exc
    except (ValueError, TypeError) as exc:
        raise NitroError(1537) from exc
    return key
