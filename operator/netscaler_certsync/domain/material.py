"""Parse and validate the content of a `kubernetes.io/tls` Secret: leaf, chain, key, optional ca.crt.

`parse_material()` turns raw `tls.crt` / `tls.key` / `ca.crt` bytes into a frozen
`CertificateMaterial` or raises `MaterialError` with a reason. The leaf is the certificate whose
public key matches the private key, wherever it sits in `tls.crt`; intermediates are put in issuer
order by name and checked by signature; a root (self-signed) is kept apart because NetScaler does
not need to serve it. The key is re-encoded as unencrypted PKCS#8 PEM so that one key always gives
the same bytes (the file names on the appliance are content-addressed).

An encrypted key (PKCS#8 `ENCRYPTED PRIVATE KEY` or traditional PEM with `Proc-Type: 4,ENCRYPTED`)
is opened with the `passphrase` the spec names; it stays encrypted on the appliance, and an
unencrypted key is encrypted for the appliance when `encrypt_key` asks. Such a material carries
the passphrase for NITRO's `passplain` (never in `repr()` nor in any message) and uploads the key
as traditional PEM, AES-256-CBC, which every NetScaler release reads.
"""

from __future__ import annotations

import datetime as dt
import hashlib
from collections.abc import Sequence
from dataclasses import dataclass, field

from cryptography import x509
from cryptography.exceptions import InvalidSignature, UnsupportedAlgorithm
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, ed448, ed25519, rsa
from cryptography.x509.oid import NameOID

from netscaler_certsync.domain import reasons
from netscaler_certsync.domain.errors import MaterialError
from netscaler_certsync.domain.serials import serial_text
from netscaler_certsync.timestamps import utc_now

MAX_PEM_BYTES = 2 * 1024 * 1024  # NITRO's systemfile limit
MAX_CHAIN = 9  # NetScaler serves at most nine intermediates (bundle limit, nitro.md section 5)
RSA_BITS = (2048, 4096)  # below: weak; above: NetScaler refuses (3590)
#: What messages call the three inputs of a `kubernetes.io/tls` Secret.
TLS_NAMES = ("tls.crt", "tls.key", "ca.crt")


@dataclass(frozen=True)
class CertInfo:
    """One X.509 certificate as the sync needs it."""

    pem: str
    fingerprint: str  # sha256, lower-case hex
    serial: str  # as NetScaler shows it (`serial_text`); compare with `same_serial`
    subject: str  # RFC 4514
    issuer: str
    common_name: str
    sans: tuple[str, ...]
    not_before: dt.datetime
    not_after: dt.datetime
    is_ca: bool
    self_signed: bool

    def days_left(self, now: dt.datetime | None = None) -> int:
        return (self.not_after - (now or utc_now())).days

    def expired(self, now: dt.datetime | None = None) -> bool:
        return (now or utc_now()) >= self.not_after


@dataclass(frozen=True)
class CertificateMaterial:
    """A validated leaf with its key and ordered chain (leaf's issuer first)."""

    leaf: CertInfo
    chain: tuple[CertInfo, ...]
    root: CertInfo | None
    key_pem: str = field(repr=False)
    key_type: str
    key_id: str = ""
    """sha256 of the public key (SubjectPublicKeyInfo DER), lower-case hex: names the key file."""
    passplain: str | None = field(default=None, repr=False)
    """The passphrase the key is encrypted with on the appliance (None: uploaded unencrypted)."""

    @property
    def key_file_id(self) -> str:
        """What names the key file: the key, and for an encrypted upload also its passphrase.

        A new passphrase for the same key must give a new file (the old one opens only with the
        old passphrase). The hash says no more about the passphrase than the encrypted file
        beside it on the appliance already does.
        """
        if self.passplain is None:
            return self.key_id
        return hashlib.sha256(f"encrypted:{self.key_id}:".encode() + self.passplain.encode()).hexdigest()

    def upload_key_pem(self) -> str:
        """The key file's content: PKCS#8 PEM, or traditional PEM encrypted with `passplain`."""
        if self.passplain is None:
            return self.key_pem
        key = serialization.load_pem_private_key(self.key_pem.encode(), password=None)
        return key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.TraditionalOpenSSL,
            serialization.BestAvailableEncryption(self.passplain.encode()),
        ).decode()

    @property
    def fingerprint(self) -> str:
        return self.leaf.fingerprint

    def days_left(self, now: dt.datetime | None = None) -> int:
        return self.leaf.days_left(now)


def _cn(name: x509.Name) -> str:
    attrs = name.get_attributes_for_oid(NameOID.COMMON_NAME)
    return str(attrs[0].value) if attrs else ""


def cert_info(cert: x509.Certificate) -> CertInfo:
    """The facts the sync uses about one certificate."""
    try:
        basic = cert.extensions.get_extension_for_class(x509.BasicConstraints).value
        is_ca = basic.ca
    except x509.ExtensionNotFound:
        is_ca = False
    try:
        san_ext = cert.extensions.get_extension_for_class(x509.SubjectAlternativeName).value
        sans = tuple(
            [str(v) for v in san_ext.get_values_for_type(x509.DNSName)]
            + [str(v) for v in san_ext.get_values_for_type(x509.IPAddress)]
        )
    except x509.ExtensionNotFound:
        sans = ()
    return CertInfo(
        pem=cert.public_bytes(serialization.Encoding.PEM).decode(),
        fingerprint=cert.fingerprint(hashes.SHA256()).hex(),
        serial=serial_text(cert.serial_number),
        subject=cert.subject.rfc4514_string(),
        issuer=cert.issuer.rfc4514_string(),
        common_name=_cn(cert.subject),
        sans=sans,
        not_before=cert.not_valid_before_utc,
        not_after=cert.not_valid_after_utc,
        is_ca=is_ca,
        self_signed=cert.issuer == cert.subject and _signed_by(cert, cert),
    )


def _signed_by(cert: x509.Certificate, issuer: x509.Certificate) -> bool:
    try:
        cert.verify_directly_issued_by(issuer)
    except (ValueError, TypeError, InvalidSignature, UnsupportedAlgorithm):
        return False
    return True


def _as_bytes(data: bytes | str | None) -> bytes:
    if data is None:
        return b""
    return data.encode() if isinstance(data, str) else data


def _load_certs(data: bytes, what: str) -> list[x509.Certificate]:
    if len(data) > MAX_PEM_BYTES:
        raise MaterialError(reasons.MaterialTooLarge, f"{what} is larger than {MAX_PEM_BYTES} bytes")
    if b"-----BEGIN CERTIFICATE-----" not in data:
        raise MaterialError(reasons.InvalidPEM, f"{what} holds no PEM certificate")
    try:
        return x509.load_pem_x509_certificates(data)
    except ValueError as exc:
        raise MaterialError(reasons.InvalidPEM, f"{what} is not valid PEM: {type(exc).__name__}") from None


def file_fingerprint(data: bytes) -> str | None:
    """sha256 of the first certificate in a PEM or DER file as an appliance holds it (None: unreadable)."""
    try:
        cert = (
            x509.load_pem_x509_certificates(data)[0]
            if b"-----BEGIN CERTIFICATE-----" in data
            else x509.load_der_x509_certificate(data)
        )
    except ValueError:
        return None
    return cert.fingerprint(hashes.SHA256()).hex()


def _load_key(
    data: bytes, what: str, passphrase: bytes | None = None
) -> tuple[rsa.RSAPrivateKey | ec.EllipticCurvePrivateKey, bool]:
    """The key and whether it was encrypted."""
    if not data.strip():
        raise MaterialError(reasons.MissingData, f"{what} is empty")
    if len(data) > MAX_PEM_BYTES:
        raise MaterialError(reasons.MaterialTooLarge, f"{what} is larger than {MAX_PEM_BYTES} bytes")
    missing = f"{what} is encrypted; name its passphrase in source.passwordSecretRef"
    # PKCS#8 "ENCRYPTED PRIVATE KEY" or traditional "Proc-Type: 4,ENCRYPTED"
    encrypted = b"ENCRYPTED" in data
    if encrypted and not passphrase:
        raise MaterialError(reasons.EncryptedKey, missing)
    try:
        key = serialization.load_pem_private_key(data, password=passphrase if encrypted else None)
    except TypeError:
        raise MaterialError(reasons.EncryptedKey, missing) from None
    except ValueError:
        if encrypted:  # the library cannot tell a wrong passphrase from damage: say both
            raise MaterialError(
                reasons.WrongPassword, f"the passphrase does not decrypt {what} (or the key is damaged)"
            ) from None
        raise MaterialError(reasons.InvalidPEM, f"{what} is not a readable PEM private key") from None
    except UnsupportedAlgorithm:
        # The library's message may quote the input: report only that it failed.
        raise MaterialError(reasons.InvalidPEM, f"{what} is not a readable PEM private key") from None
    if isinstance(key, rsa.RSAPrivateKey):
        if not RSA_BITS[0] <= key.key_size <= RSA_BITS[1]:
            raise MaterialError(
                reasons.UnsupportedKey,
                f"RSA key of {key.key_size} bits; NetScaler needs {RSA_BITS[0]} to {RSA_BITS[1]}",
            )
        return key, encrypted
    if isinstance(key, ec.EllipticCurvePrivateKey):
        if key.curve.name not in {"secp256r1", "secp384r1", "secp521r1"}:
            raise MaterialError(reasons.UnsupportedKey, f"EC curve {key.curve.name} is not supported")
        return key, encrypted
    kind = "Ed25519/Ed448" if isinstance(key, ed25519.Ed25519PrivateKey | ed448.Ed448PrivateKey) else "this"
    raise MaterialError(reasons.UnsupportedKey, f"{kind} key type is not supported by NetScaler")


def _public_der(key: object) -> bytes:
    return key.public_bytes(  # type: ignore[attr-defined]
        serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo
    )


def _order_chain(
    leaf: x509.Certificate, pool: Sequence[x509.Certificate]
) -> tuple[list[x509.Certificate], x509.Certificate | None]:
    """Follow issuers from the leaf through `pool`: (intermediates in order, root or None)."""
    chain: list[x509.Certificate] = []
    current, remaining = leaf, list(pool)
    while True:
        candidates = [c for c in remaining if c.subject == current.issuer]
        if not candidates:
            return chain, None
        issuer = next((c for c in candidates if _signed_by(current, c)), None)
        if issuer is None:
            raise MaterialError(
                reasons.ChainInvalid,
                f"{_cn(current.subject) or current.subject.rfc4514_string()!r} is not signed by the "
                f"certificate named as its issuer ({current.issuer.rfc4514_string()})",
            )
        remaining.remove(issuer)
        if issuer.issuer == issuer.subject and _signed_by(issuer, issuer):
            return chain, issuer
        chain.append(issuer)
        if len(chain) > MAX_CHAIN:
            raise MaterialError(reasons.ChainInvalid, f"chain longer than {MAX_CHAIN} intermediates")
        current = issuer


def parse_material(
    tls_crt: bytes | str | None,
    tls_key: bytes | str | None,
    ca_crt: bytes | str | None = None,
    *,
    now: dt.datetime | None = None,
    allow_expired: bool = False,
    names: tuple[str, str, str] = TLS_NAMES,
    passphrase: bytes | None = None,
    encrypt_key: bool = False,
) -> CertificateMaterial:
    """Validate a TLS Secret's content; raise `MaterialError` (with a reason) when it cannot be used.

    `names` are what messages call the certificate, key and CA inputs (the Secret keys they came
    from), so that a message about an Opaque Secret names the keys the user configured.
    `passphrase` opens an encrypted key; the key goes to the appliance encrypted with it when it
    was encrypted or when `encrypt_key` asks.
    """
    crt_name, key_name, ca_name = names
    crt_bytes, key_bytes, ca_bytes = _as_bytes(tls_crt), _as_bytes(tls_key), _as_bytes(ca_crt)
    if not crt_bytes.strip():
        raise MaterialError(reasons.MissingData, f"{crt_name} is empty")
    certs = _load_certs(crt_bytes, crt_name)
    key, encrypted = _load_key(key_bytes, key_name, passphrase)
    if encrypt_key and not passphrase:
        raise MaterialError(reasons.EncryptedKey, "encryptKey needs a passphrase in source.passwordSecretRef")
    passplain = _passplain(passphrase) if (encrypted or encrypt_key) else None
    extra = _load_certs(ca_bytes, ca_name) if ca_bytes.strip() else []

    key_der = _public_der(key.public_key())
    leaves = [c for c in certs if _public_der(c.public_key()) == key_der]
    if not leaves:
        raise MaterialError(reasons.KeyMismatch, f"{key_name} does not match any certificate in {crt_name}")
    leaf = leaves[0]
    others = [c for c in certs if c is not leaf]
    chain, root = _order_chain(leaf, others)
    unused = [c for c in others if c not in chain and c is not root]
    if unused:
        outside = ", ".join(repr(_cn(c.subject) or c.subject.rfc4514_string()) for c in unused)
        raise MaterialError(
            reasons.ChainInvalid, f"{crt_name} holds certificates outside the leaf's chain: {outside}"
        )
    if root is None and extra:
        # The CA input may continue the chain (an intermediate) and usually ends it (the root).
        more, root = _order_chain(chain[-1] if chain else leaf, extra)
        chain += more
        if len(chain) > MAX_CHAIN:
            raise MaterialError(reasons.ChainInvalid, f"chain longer than {MAX_CHAIN} intermediates")

    info = cert_info(leaf)
    if info.is_ca:
        raise MaterialError(reasons.ChainInvalid, f"the leaf {info.common_name!r} is a CA certificate")
    if not allow_expired and info.expired(now):
        raise MaterialError(
            reasons.CertificateExpired,
            f"certificate {info.common_name!r} (serial {info.serial}) expired on {info.not_after:%Y-%m-%d}",
        )
    key_pem = key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    ).decode()
    key_type = f"RSA-{key.key_size}" if isinstance(key, rsa.RSAPrivateKey) else f"EC-{key.curve.name}"
    return CertificateMaterial(
        leaf=info,
        chain=tuple(cert_info(c) for c in chain),
        root=cert_info(root) if root is not None else None,
        key_pem=key_pem,
        key_type=key_type,
        key_id=hashlib.sha256(key_der).hexdigest(),
        passplain=passplain,
    )


def _passplain(passphrase: bytes | None) -> str:
    """The passphrase as NITRO's JSON carries it: UTF-8 text, printable (no control characters)."""
    try:
        text = (passphrase or b"").decode("utf-8")
    except UnicodeDecodeError:
        text = ""
    if not text or not text.isprintable():
        raise MaterialError(
            reasons.WrongPassword, "the passphrase must be non-empty printable UTF-8 text for NetScaler"
        )
    return text
