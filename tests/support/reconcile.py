"""The reconcilers run as the operator runs them, without kopf or an API server: an
`OperatorContext` whose Secrets are a dict, and the Secrets a connection and a sync read."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

from certsync_devkit.k8s_builders import credentials_secret, opaque_secret, tls_secret
from certsync_devkit.pki import Issued
from netscaler_certsync.reconcile.context import OperatorContext

NS = "shop"


def secrets_for(
    leaf: Issued, *, password: str = "nsroot", ca: bytes | None = None
) -> dict[str, dict[str, Any]]:
    """`creds` (nsroot), `www` (the leaf as a TLS Secret) and, given a CA, `ca` (ca.crt) in NS."""
    secrets = {
        "creds": credentials_secret("creds", "nsroot", password, namespace=NS),
        "www": tls_secret("www", leaf.cert_pem, leaf.key_pem, namespace=NS),
    }
    if ca is not None:
        secrets["ca"] = opaque_secret("ca", {"ca.crt": ca}, namespace=NS)
    return secrets


def dict_context(
    secrets: Mapping[str, Mapping[str, Any]],
    on_status: Callable[[Mapping[str, Any]], None] = lambda _status: None,
) -> OperatorContext:
    """A context reading `secrets` (by name, in NS; read at each call, so a test may change them)
    and handing every status patch of a sync to `on_status`; selectors list nothing."""

    async def get_secret(namespace: str, name: str) -> Mapping[str, Any] | None:
        return secrets.get(name) if namespace == NS else None

    async def list_secrets(namespace: str, selector: str) -> list[Mapping[str, Any]]:
        return []

    async def patch_sync_status(namespace: str, name: str, status: Mapping[str, Any]) -> None:
        on_status(status)

    return OperatorContext(
        get_secret=get_secret, list_secrets=list_secrets, patch_sync_status=patch_sync_status
    )
