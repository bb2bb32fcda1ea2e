"""Open a PKCS#12 keystore (a `.p12` / `.pfx`) into the PEM inputs that `parse_material` checks.

Keystores come from cert-manager (`keystore.p12`), Keyfactor, Venafi or a vault through External
Secrets. Opening one is the only step that differs from a PEM Secret: after it the leaf, chain and
key go through the same checks as `tls.crt` / `tls.key`. The reasons name what went wrong without
quoting the keystore: a file that is not PKCS#12 at all (`InvalidKeystore`), a password that does
not open it (`WrongPassword`), no private key (`MissingKey`), more than one end-entity
certificate (`MultipleLeaves`); an unsupported key type is `parse_material`'s `UnsupportedKey`.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from cryptography import x509
from cryptography.exceptions import UnsupportedAlgorithm
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.serialization import pkcs12

from netscaler_certsync.domain import reasons
from netscaler_certsync.domain.errors import MaterialError
from netscaler_certsync.domain.material import MAX_PEM_BYTES

#: PFX ::= SEQUENCE { version INTEGER (v3), ... }: the DER bytes after the outer length.
_PFX_VERSION = b"\x02\x01\x03"


@dataclass(frozen=True)
class OpenedKeystore:
    """A keystore's content as PEM: the leaf first in `cert_pem`, then the other certificates."""

    cert_pem: bytes = field(repr=False)
    key_pem: bytes = field(repr=False)


def _looks_like_pfx(data: bytes) -> bool:
    """A DER SEQUENCE whose first element is INTEGER 3: a PKCS#12 file, whatever its password."""
    if len(data) < 8 or data[0] != 0x30:
        return False
    first = data[1]
    header = 2 if first < 0x80 else 2 + (first & 0x7F)
    return data[header : header + 3] == _PFX_VERSION


def _is_ca(cert: x509.Certificate) -> bool:
    try:
        return bool(cert.extensions.get_extension_for_class(x509.BasicConstraints).value.ca)
    except x509.ExtensionNotFound:
        return False


def open_pkcs12(data: bytes, password: bytes | None, what: str = "keystore.p12") -> OpenedKeystore:
    """The keystore's leaf, other certificates and key as PEM, or a `MaterialError` with a reason."""
    if not data:
        raise MaterialError(reasons.MissingData, f"{what} is empty")
    if len(data) > MAX_PEM_BYTES:
        raise MaterialError(reasons.MaterialTooLarge, f"{what} is larger than {MAX_PEM_BYTES} bytes")
    if not _looks_like_pfx(data):
        raise MaterialError(reasons.InvalidKeystore, f"{what} is not a PKCS#12 keystore")
    try:
        store = pkcs12.load_pkcs12(data, password or None)
    except UnsupportedAlgorithm:
        raise MaterialError(
            reasons.UnsupportedKey, f"{what} uses an algorithm the operator cannot read"
        ) from None
    except ValueError:
        # The structure is PKCS#12 (checked above): what fails is the MAC or the decryption.
        raise MaterialError(
            reasons.WrongPassword, f"the password does not open {what} (or the keystore is damaged)"
        ) from None
    certs = ([store.cert] if store.cert is not None else []) + list(store.additional_certs)
    if not certs:
        raise MaterialError(reasons.MissingData, f"{what} holds no certificate")
    if store.key is None:
        raise MaterialError(reasons.MissingKey, f"{what} holds no private key")
    leaves = [c.certificate for c in certs if not _is_ca(c.certificate)]
    if len(leaves) > 1:
        raise MaterialError(
            reasons.MultipleLeaves, f"{what} holds {len(leaves)} end-entity certificates; expected one"
        )
    try:
        key_pem = store.key.private_bytes(
            serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
        )
    except (ValueError, TypeError, UnsupportedAlgorithm):
        message = f"{what} holds a key type that is not supported"
        raise MaterialError(reasons.UnsupportedKey, message) from None
    cert_pem = b"".join(c.certificate.public_bytes(serialization.Encoding.PEM) for c in certs)
    return OpenedKeystore(cert_pem=cert_pem, key_pem=key_pem)
