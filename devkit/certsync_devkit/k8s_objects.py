"""Object-level rules of the Kubernetes API server that the emulator applies on writes.

Pure helpers, no I/O: timestamps, the `stringData` → `data` folding of Secrets, the Secret type
rules (`kubernetes.io/tls` needs `tls.crt` and `tls.key`; `type` is immutable), what counts as a
spec change for `metadata.generation`, and the `Status` errors (409, 422, 400, 415) as kmock's
`KubernetesError`, which kmock renders as a Kubernetes `Status` body.
"""

from __future__ import annotations

import base64
from typing import Any

from kmock._internal.k8s import KubernetesError

from netscaler_certsync.timestamps import rfc3339, utc_now

__all__ = [
    "SERVER_MANAGED",
    "bad_request",
    "conflict",
    "essence",
    "expired",
    "fold_string_data",
    "invalid",
    "now",
    "unsupported_media_type",
    "validate_secret",
]

# Fields the server owns: a client may not set or change them through a write.
SERVER_MANAGED = ("uid", "creationTimestamp", "resourceVersion", "generation", "name", "namespace")

TLS_TYPE = "kubernetes.io/tls"


def now() -> str:
    return rfc3339(utc_now())


def conflict(message: str) -> KubernetesError:
    return KubernetesError(409, "Conflict", message)


def invalid(message: str) -> KubernetesError:
    return KubernetesError(422, "Invalid", message)


def expired(message: str) -> KubernetesError:
    return KubernetesError(410, "Expired", message)


def bad_request(message: str) -> KubernetesError:
    return KubernetesError(400, "BadRequest", message)


def unsupported_media_type(message: str) -> KubernetesError:
    return KubernetesError(415, "UnsupportedMediaType", message)


def stale_conflict() -> KubernetesError:
    return conflict(
        "Operation cannot be fulfilled: the object has been modified; "
        "please apply your changes to the latest version and try again"
    )


def essence(obj: dict[str, Any]) -> dict[str, Any]:
    """Everything but metadata and status: a change here bumps `metadata.generation`."""
    return {k: v for k, v in obj.items() if k not in ("metadata", "status")}


def fold_string_data(obj: dict[str, Any]) -> None:
    """The API server stores Secret `stringData` base64-encoded in `data` and drops `stringData`."""
    string_data = obj.pop("stringData", None)
    if string_data:
        encoded = {k: base64.b64encode(str(v).encode()).decode() for k, v in string_data.items()}
        obj["data"] = {**(obj.get("data") or {}), **encoded}


def validate_secret(obj: dict[str, Any], old: dict[str, Any] | None = None) -> None:
    """Reject what a real API server rejects for Secrets (422), so tests see the same errors."""
    name = (obj.get("metadata") or {}).get("name")
    if old is not None and obj.get("type", "Opaque") != old.get("type", "Opaque"):
        raise invalid(f'Secret "{name}" is invalid: type: Invalid value: field is immutable')
    if obj.get("type") == TLS_TYPE:
        data = obj.get("data") or {}
        missing = [key for key in ("tls.crt", "tls.key") if key not in data]
        if missing:
            raise invalid(f'Secret "{name}" is invalid: data[{missing[0]}]: Required value')
