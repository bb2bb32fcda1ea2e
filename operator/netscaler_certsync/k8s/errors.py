"""Errors of the Kubernetes API, independent of the HTTP library that carried them.

Callers catch these, never httpx's: the client maps every response and transport failure at one
seam (`api.KubeClient._request`), chaining the original as `__cause__`.

    KubernetesError            any failed call; .status, .reason, .message from the Status body
    ├── NotFound               404
    ├── Conflict               409 (stale resourceVersion, AlreadyExists)
    ├── Forbidden              403 (RBAC)
    │   └── Unauthorized       401 (bad or expired credentials)
    ├── Gone                   410 (a watch's resourceVersion is too old: list again)
    ├── Invalid                422 (rejected by validation or a failed JSON-patch test)
    └── TransportError         no HTTP answer: connection refused/reset, TLS, timeout
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

__all__ = [
    "ConfigError",
    "Conflict",
    "Forbidden",
    "Gone",
    "Invalid",
    "KubernetesError",
    "NotFound",
    "TransportError",
    "Unauthorized",
    "error_for_status",
]


class ConfigError(ValueError):
    """The connection description (kubeconfig, service account) is unusable."""


class KubernetesError(Exception):
    """A Kubernetes API call failed."""

    def __init__(self, message: str, *, status: int | None = None, reason: str | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.status = status
        self.reason = reason

    def __str__(self) -> str:
        prefix = f"{self.status} {self.reason}: " if self.status else ""
        return f"{prefix}{self.message}"


class NotFound(KubernetesError):
    pass


class Conflict(KubernetesError):
    pass


class Forbidden(KubernetesError):
    pass


class Unauthorized(Forbidden):
    pass


class Gone(KubernetesError):
    pass


class Invalid(KubernetesError):
    pass


class TransportError(KubernetesError):
    pass


_BY_STATUS: dict[int, type[KubernetesError]] = {
    401: Unauthorized,
    403: Forbidden,
    404: NotFound,
    409: Conflict,
    410: Gone,
    422: Invalid,
}


def error_for_status(status: int, body: Mapping[str, Any] | None, fallback: str = "") -> KubernetesError:
    """The most specific error for an HTTP status and a (possibly absent) `Status` body."""
    body = body or {}
    code = int(body.get("code") or status)
    message = str(body.get("message") or fallback or f"HTTP {code}")
    reason = body.get("reason")
    return _BY_STATUS.get(code, KubernetesError)(message, status=code, reason=reason)
