"""Typed views of the two Secret shapes the operator reads: TLS material and appliance credentials.

`TLSSecret.from_raw()` and `CredentialsSecret.from_raw()` turn the API's JSON into frozen models
or raise a `SecretError` whose `reason` is a CamelCase condition reason and whose message names
the Secret and what is wrong, never its content. Key material and passwords are excluded from
`repr()` so that a logged model leaks nothing.

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
    "MissingData",
    "SecretError",
    "TLSSecret",
    "WrongSecretType",
    "tls_content_digest",
]


_DIGEST_KEYS = (keys.TLS_CRT, keys.TLS_KEY, keys.CA_CRT)


class SecretError(ValueError):
    """A Secret exists but cannot be used as asked."""

    def __init__(self, reason: str, namespace: str, name: str, message: str) -> None:
        super().__init__(f"Secret {namespace}/{name}: {message}")
        self.reason = reason
        self.namespace = namespace
        self.name = name


def _identity(raw: Mapping[str, Any]) -> tuple[str, str, str]:
    md = raw.get("metadata") or {}
    return str(md.get("namespace") or ""), str(md.get("name") or ""), str(md.get("resourceVersion") or "")


def _decode(raw: Mapping[str, Any], key: str, required: bool) -> bytes | None:
    namespace, name, _ = _identity(raw)
    value = (raw.get("data") or {}).get(key)
    if value is None or value == "":
        if required:
            raise SecretError(MissingData, namespace, name, f"has no {key!r} key")
        return None
    try:
        return base64.b64decode(value, validate=True)
    except (binascii.Error, ValueError) as e:
        raise SecretError(InvalidSecretData, namespace, name, f"{key!r} is not valid base64") from e


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
class TLSSecret:
    """A `kubernetes.io/tls` Secret with its decoded data."""

    namespace: str
    name: str
    resource_version: str
    labels: Mapping[str, str]
    tls_crt: bytes = field(repr=False)
    tls_key: bytes = field(repr=False)
    ca_crt: bytes | None = field(default=None, repr=False)
    type: str = keys.TLS_SECRET_TYPE

    @classmethod
    def from_raw(cls, raw: Mapping[str, Any]) -> TLSSecret:
        namespace, name, rv = _identity(raw)
        secret_type = raw.get("type") or "Opaque"
        if secret_type != keys.TLS_SECRET_TYPE:
            message = f"has type {secret_type!r}, expected {keys.TLS_SECRET_TYPE!r}"
            raise SecretError(WrongSecretType, namespace, name, message)
        crt = _decode(raw, keys.TLS_CRT, required=True)
        key = _decode(raw, keys.TLS_KEY, required=True)
        assert crt is not None and key is not None  # required=True raised otherwise
        return cls(
            namespace=namespace,
            name=name,
            resource_version=rv,
            labels=dict((raw.get("metadata") or {}).get("labels") or {}),
            tls_crt=crt,
            tls_key=key,
            ca_crt=_decode(raw, keys.CA_CRT, required=False),
        )

    @property
    def digest(self) -> bytes:
        encode = base64.b64encode
        data = {keys.TLS_CRT: encode(self.tls_crt), keys.TLS_KEY: encode(self.tls_key)}
        if self.ca_crt is not None:
            data[keys.CA_CRT] = encode(self.ca_crt)
        return tls_content_digest({"data": {k: v.decode() for k, v in data.items()}})


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
                raise SecretError(InvalidSecretData, namespace, name, f"{key!r} is not UTF-8 text") from e
        return cls(namespace, name, rv, values[keys.CREDENTIALS_USERNAME], values[keys.CREDENTIALS_PASSWORD])
