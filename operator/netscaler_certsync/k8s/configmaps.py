"""The reader of ConfigMap keys: the CA bundles trust-manager writes (`Bundle` → a ConfigMap key).

A ConfigMap holds text under `data` and base64 under `binaryData`; `read_configmap_key()` hands
over the bytes of one key (either) or raises a `ConfigMapError` whose `reason` is a CamelCase
condition reason and whose message names the ConfigMap and the key, never its content.
`configmap_digest()` fingerprints both maps, so a watch by name can tell a bundle change from
label or annotation churn without keeping the data.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
from collections.abc import Mapping
from typing import Any

from netscaler_certsync.k8s.reasons import InvalidSecretData, MissingData

__all__ = ["ConfigMapError", "configmap_digest", "read_configmap_key"]


class ConfigMapError(ValueError):
    """A ConfigMap exists but lacks the key asked for; `str()` is the whole message for the user."""

    def __init__(self, reason: str, message: str) -> None:
        super().__init__(message)
        self.reason = reason


def read_configmap_key(raw: Mapping[str, Any], key: str) -> bytes:
    """The bytes under `key` (`data`, else `binaryData`); empty or absent is `MissingData`."""
    md = raw.get("metadata") or {}
    where = f"ConfigMap {md.get('namespace') or ''}/{md.get('name') or ''}"
    text = (raw.get("data") or {}).get(key)
    if text:
        return str(text).encode()
    binary = (raw.get("binaryData") or {}).get(key)
    if binary:
        try:
            return base64.b64decode(binary, validate=True)
        except (binascii.Error, ValueError) as e:
            raise ConfigMapError(InvalidSecretData, f"{where}: {key!r} is not valid base64") from e
    raise ConfigMapError(MissingData, f"{where} has no {key!r} key, or it is empty")


def configmap_digest(raw: Mapping[str, Any]) -> bytes:
    """SHA-256 over every key and value of `data` and `binaryData` (sorted, length-prefixed)."""
    digest = hashlib.sha256()
    for field in ("data", "binaryData"):
        for key, value in sorted((raw.get(field) or {}).items()):
            for part in (field.encode(), str(key).encode(), str(value or "").encode()):
                digest.update(len(part).to_bytes(8, "big"))
                digest.update(part)
    return digest.digest()
