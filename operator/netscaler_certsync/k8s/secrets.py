"""The readers of the two kinds of Secret the operator uses: certificates and appliance credentials.

`read_certificate()` and `CredentialsSecret.from_raw()` turn the API's JSON into frozen models
or raise a `SecretError` whose `reason` is a CamelCase condition reason and whose message (its
`str()`) names the Secret and what is wrong, never its content. Key material and passwords are
excluded from `repr()` so that a logged model leaks nothing.

`read_certificate()` is the one place that knows how a Secret stores a certificate. It checks the
Secret's shape (type, base64) and hands over bytes; whether they are a usable certificate is
`domain.parse_material`'s question. A new kind of source (an Opaque Secret with named keys, a
PKCS#12 bundle and its password) is a further branch of it yielding the same `MaterialInputs`.

`tls_content_digest()` fingerprints only what a sync depends on (tls.crt, tls.key, ca.crt), so a
watcher can tell a certificate renewal from label or annotation churn without keeping the data.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from netscaler_certsync.k8s import keys
from netscaler_certsync.k8s.reasons import InvalidSecretData, MissingData, WrongSecretType

__all__ = [
    "CredentialsSecret",
    "InvalidSecretData",
    "MaterialInputs",
    "MissingData",
    "SecretError",
    "WrongSecretType",
    "read_certificate",
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


@dataclass(frozen=True)
class MaterialInputs:
    """A certificate as a Secret holds it: PEM bytes as stored, the inputs of `parse_material`."""

    namespace: str
    name: str
    resource_version: str
    cert_pem: bytes = field(repr=False)
    key_pem: bytes = field(repr=False)
    ca_pem: bytes | None = field(default=None, repr=False)


def read_certificate(raw: Mapping[str, Any], *, include_ca_crt: bool = False) -> MaterialInputs:
    """A `kubernetes.io/tls` Secret's tls.crt and tls.key (and ca.crt when asked), or a SecretError.

    A missing key reads as empty: the material check then says which one is empty, the same
    message as for a key that is present but empty (the API server only lets the latter exist).
    """
    namespace, name, rv = _identity(raw)
    if raw.get("type") != keys.TLS_SECRET_TYPE:
        # No type is what the API server stores as Opaque: never print "type None".
        kind = raw.get("type") or "Opaque"
        message = f"Secret {namespace}/{name} has type {kind!r}, expected {keys.TLS_SECRET_TYPE}"
        raise SecretError(WrongSecretType, namespace, name, message)
    return MaterialInputs(
        namespace=namespace,
        name=name,
        resource_version=rv,
        cert_pem=_decode(raw, keys.TLS_CRT, required=False) or b"",
        key_pem=_decode(raw, keys.TLS_KEY, required=False) or b"",
        ca_pem=_decode(raw, keys.CA_CRT, required=False) if include_ca_crt else None,
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
