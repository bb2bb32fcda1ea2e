"""Builders for Kubernetes objects in tests and demos: Secrets and our two custom resources.

Plain dicts in the API's JSON shape, ready to POST to the emulator (or a real cluster). Data is
base64-encoded here so callers pass bytes, e.g. `TestPKI.leaf(...).cert_pem`.
"""

from __future__ import annotations

import base64
from collections.abc import Mapping
from typing import Any

__all__ = [
    "b64",
    "certificate_sync",
    "credentials_secret",
    "netscaler_connection",
    "opaque_secret",
    "tls_secret",
]

GROUP_VERSION = "netscaler.certsync.dev/v1alpha1"


def b64(value: bytes | str) -> str:
    return base64.b64encode(value.encode() if isinstance(value, str) else value).decode()


def _meta(name: str, namespace: str, labels: Mapping[str, str] | None) -> dict[str, Any]:
    md: dict[str, Any] = {"name": name, "namespace": namespace}
    if labels:
        md["labels"] = dict(labels)
    return md


def tls_secret(
    name: str,
    cert_pem: bytes,
    key_pem: bytes,
    *,
    namespace: str = "default",
    labels: Mapping[str, str] | None = None,
    ca_pem: bytes | None = None,
) -> dict[str, Any]:
    data = {"tls.crt": b64(cert_pem), "tls.key": b64(key_pem)}
    if ca_pem is not None:
        data["ca.crt"] = b64(ca_pem)
    return {
        "apiVersion": "v1",
        "kind": "Secret",
        "metadata": _meta(name, namespace, labels),
        "type": "kubernetes.io/tls",
        "data": data,
    }


def opaque_secret(
    name: str,
    data: Mapping[str, bytes],
    *,
    namespace: str = "default",
    labels: Mapping[str, str] | None = None,
) -> dict[str, Any]:
    return {
        "apiVersion": "v1",
        "kind": "Secret",
        "metadata": _meta(name, namespace, labels),
        "type": "Opaque",
        "data": {k: b64(v) for k, v in data.items()},
    }


def credentials_secret(
    name: str, username: str, password: str, *, namespace: str = "default"
) -> dict[str, Any]:
    return opaque_secret(
        name, {"username": username.encode(), "password": password.encode()}, namespace=namespace
    )


def netscaler_connection(name: str, spec: Mapping[str, Any], *, namespace: str = "default") -> dict[str, Any]:
    return {
        "apiVersion": GROUP_VERSION,
        "kind": "NetScalerConnection",
        "metadata": {"name": name, "namespace": namespace},
        "spec": dict(spec),
    }


def certificate_sync(name: str, spec: Mapping[str, Any], *, namespace: str = "default") -> dict[str, Any]:
    return {
        "apiVersion": GROUP_VERSION,
        "kind": "CertificateSync",
        "metadata": {"name": name, "namespace": namespace},
        "spec": dict(spec),
    }
