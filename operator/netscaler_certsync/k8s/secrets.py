"""The readers of the two kinds of Secret the operator uses: certificates and appliance credentials.

`read_certificate()` and `CredentialsSecret.from_raw()` turn the API's JSON into frozen models
or raise a `SecretError` whose `reason` is a CamelCase condition reason and whose message (its
`str()`) names the Secret and what is wrong, never its content. Key material and passwords are
excluded from `repr()` so that a logged model leaks nothing.

`read_certificate()` is the one place that knows how a Secret stores a certificate. It checks the
Secret's shape (type, base64) and hands over bytes; whether they are a usable certificate is
`domain.parse_material`'s question (after `domain.open_pkcs12` for a keystore). Without a
`SecretSource` only a `kubernetes.io/tls` Secret is read; with one, an Opaque Secret too, PEM
under the configured keys (with the passphrase of an encrypted key) or a PKCS#12 keystore with its
password, the password or passphrase read from another Secret.

`tls_content_digest()` fingerprints only what a sync depends on (tls.crt, tls.key, ca.crt), so a
watcher can tell a certificate renewal from label or annotation churn without keeping the data;
`data_digest()` fingerprints every key, for Secrets watched by name (keystores, passwords, CA
bundles); `read_key()` reads one key of any Secret (a client-auth CA bundle).
"""

from __future__ import annotations

import base64
import binascii
import hashlib
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, Literal

from netscaler_certsync.k8s import keys
from netscaler_certsync.k8s.reasons import InvalidSecretData, MissingData, WrongSecretType

__all__ = [
    "CredentialsSecret",
    "InvalidSecretData",
    "MaterialInputs",
    "MissingData",
    "SecretError",
    "SecretSource",
    "WrongSecretType",
    "data_digest",
    "read_certificate",
    "read_key",
    "tls_content_digest",
]


_DIGEST_KEYS = (keys.TLS_CRT, keys.TLS_KEY, keys.CA_CRT)


class SecretError(ValueError):
    """A Secret exists but cannot be used as asked; `str()` is the whole message for the user."""

    def __init__(self, reason: str, namespace: str, name: str, message: str) -> None:
        super().__init__(message)
        self.reason = reason
        self.namespace = namespace
        self.name = name


def _problem(reason: str, namespace: str, name: str, detail: str) -> SecretError:
    return SecretError(reason, namespace, name, f"Secret {namespace}/{name}: {detail}")


def _identity(raw: Mapping[str, Any]) -> tuple[str, str, str]:
    md = raw.get("metadata") or {}
    return str(md.get("namespace") or ""), str(md.get("name") or ""), str(md.get("resourceVersion") or "")


def _decode(raw: Mapping[str, Any], key: str, required: bool) -> bytes | None:
    namespace, name, _ = _identity(raw)
    value = (raw.get("data") or {}).get(key)
    if value is None or value == "":
        if required:
            raise _problem(MissingData, namespace, name, f"has no {key!r} key")
        return None
    try:
        return base64.b64decode(value, validate=True)
    except (binascii.Error, ValueError) as e:
        raise _problem(InvalidSecretData, namespace, name, f"{key!r} is not valid base64") from e


def tls_content_digest(raw: Mapping[str, Any]) -> bytes:
    """SHA-256 over tls.crt, tls.key and ca.crt as stored (length-prefixed, so no ambiguity)."""
    data = raw.get("data") or {}
    digest = hashlib.sha256()
    for key in _DIGEST_KEYS:
        value = str(data.get(key) or "").encode()
        digest.update(len(value).to_bytes(8, "big"))
        digest.update(value)
    return digest.digest()


def data_digest(raw: Mapping[str, Any]) -> bytes:
    """SHA-256 over every data key and value as stored (sorted, length-prefixed)."""
    digest = hashlib.sha256()
    for key, value in sorted((raw.get("data") or {}).items()):
        for part in (str(key).encode(), str(value or "").encode()):
            digest.update(len(part).to_bytes(8, "big"))
            digest.update(part)
    return digest.digest()


@dataclass(frozen=True)
class SecretSource:
    """How a Secret holds its certificate (`certificates[].source` / `secretSource` of the spec).

    The defaults are cert-manager's names: tls.crt, tls.key, ca.crt, and keystore.p12 for the
    PKCS#12 keystore it writes beside them (`spec.keystores.pkcs12`).
    """

    format: Literal["PEM", "PKCS12"] = "PEM"
    certificate_key: str = keys.TLS_CRT
    private_key_key: str = keys.TLS_KEY
    ca_key: str = keys.CA_CRT
    keystore_key: str = keys.KEYSTORE_P12
    password_secret: str | None = None
    """The Secret (same namespace) with the keystore's password or the key's passphrase; None: none."""
    password_key: str = keys.PASSWORD_KEY
    encrypt_key: bool = False
    """Upload the key encrypted with that password even when the Secret holds it unencrypted."""


@dataclass(frozen=True)
class MaterialInputs:
    """A certificate as a Secret holds it: PEM bytes as stored (or a keystore and its password).

    `names` are the Secret keys the PEM inputs came from, for messages about them.
    """

    namespace: str
    name: str
    resource_version: str
    cert_pem: bytes = field(repr=False)
    key_pem: bytes = field(repr=False)
    ca_pem: bytes | None = field(default=None, repr=False)
    names: tuple[str, str, str] = (keys.TLS_CRT, keys.TLS_KEY, keys.CA_CRT)
    keystore: bytes | None = field(default=None, repr=False)
    """A PKCS#12 keystore (then cert_pem and key_pem are empty); `names[0]` is its key."""
    password: bytes | None = field(default=None, repr=False)
    """The keystore's password, or the passphrase of an encrypted key."""
    encrypt_key: bool = False


def _check_type(raw: Mapping[str, Any], allowed: tuple[str, ...], hint: str = "") -> None:
    if raw.get("type") not in allowed:
        namespace, name, _ = _identity(raw)
        # No type is what the API server stores as Opaque: never print "type None".
        kind = raw.get("type") or "Opaque"
        message = f"Secret {namespace}/{name} has type {kind!r}, expected {' or '.join(allowed)}"
        raise SecretError(WrongSecretType, namespace, name, message + hint)


def read_key(raw: Mapping[str, Any], key: str) -> bytes:
    """The bytes under `key` of a Secret of any type (a client-auth CA bundle); absent or empty is
    `MissingData`, not base64 is `InvalidSecretData`."""
    value = _decode(raw, key, required=True)
    assert value is not None
    return value


def read_password(raw: Mapping[str, Any], key: str) -> bytes:
    """The password under `key` of a Secret (any type); a trailing newline is not part of it."""
    value = _decode(raw, key, required=True)
    assert value is not None
    return value.rstrip(b"\r\n")


def read_certificate(
    raw: Mapping[str, Any],
    *,
    include_ca_crt: bool = False,
    source: SecretSource | None = None,
    password_secret: Mapping[str, Any] | None = None,
) -> MaterialInputs:
    """A Secret's certificate, key (and CA when asked) as the source says, or a SecretError.

    Without `source`: a `kubernetes.io/tls` Secret's tls.crt and tls.key. A missing key reads as
    empty: the material check then says which one is empty, the same message as for a key that
    is present but empty (the API server only lets the latter exist). With a PKCS#12 source,
    `password_secret` is the Secret `source.password_secret` names (the caller fetched it).
    """
    namespace, name, rv = _identity(raw)
    if source is None:
        _check_type(raw, (keys.TLS_SECRET_TYPE,), "; set source to read an Opaque Secret")
        source = SecretSource()
    else:
        _check_type(raw, keys.SOURCE_SECRET_TYPES)
    password = None
    if password_secret is not None:
        password = read_password(password_secret, source.password_key)
    if source.format == "PKCS12":
        return MaterialInputs(
            namespace=namespace,
            name=name,
            resource_version=rv,
            cert_pem=b"",
            key_pem=b"",
            names=(source.keystore_key, source.keystore_key, source.keystore_key),
            keystore=_decode(raw, source.keystore_key, required=True),
            password=password,
            encrypt_key=source.encrypt_key,
        )
    return MaterialInputs(
        namespace=namespace,
        name=name,
        resource_version=rv,
        cert_pem=_decode(raw, source.certificate_key, required=False) or b"",
        key_pem=_decode(raw, source.private_key_key, required=False) or b"",
        ca_pem=_decode(raw, source.ca_key, required=False) if include_ca_crt else None,
        names=(source.certificate_key, source.private_key_key, source.ca_key),
        password=password,
        encrypt_key=source.encrypt_key,
    )


@dataclass(frozen=True)
class CredentialsSecret:
    """A Secret with `username` and `password` for the NITRO login (any Secret type)."""

    namespace: str
    name: str
    resource_version: str
    username: str
    password: str = field(repr=False)

    @classmethod
    def from_raw(cls, raw: Mapping[str, Any]) -> CredentialsSecret:
        namespace, name, rv = _identity(raw)
        values: dict[str, str] = {}
        for key in (keys.CREDENTIALS_USERNAME, keys.CREDENTIALS_PASSWORD):
            decoded = _decode(raw, key, required=True)
            assert decoded is not None
            try:
                # `echo pw | base64` leaves a newline that no appliance password contains.
                values[key] = decoded.decode("utf-8").strip("\r\n")
            except UnicodeDecodeError as e:
                raise _problem(InvalidSecretData, namespace, name, f"{key!r} is not UTF-8 text") from e
        return cls(namespace, name, rv, values[keys.CREDENTIALS_USERNAME], values[keys.CREDENTIALS_PASSWORD])
