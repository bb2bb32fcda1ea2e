"""Compose the operator: context, kopf registry, and `run_operator` for `netscaler-certsync run`.

Tests use `build_registry()` with their own context and cluster access, and run it with kopf's
task API in their event loop; production runs `run_operator()`.
"""

from __future__ import annotations

import os
from collections.abc import Sequence

import kopf

from netscaler_certsync import logs
from netscaler_certsync.handlers import certificatesync, connection, startup
from netscaler_certsync.k8s import ClusterAccess
from netscaler_certsync.reconcile.context import OperatorContext, OperatorOptions

__all__ = ["OperatorContext", "OperatorOptions", "build_registry", "cluster_access", "run_operator"]


async def _not_attached(*_: object) -> None:
    raise RuntimeError("the operator's Kubernetes client is not started yet")


def new_context(options: OperatorOptions | None = None) -> OperatorContext:
    """A context whose Kubernetes reads are attached at startup (see handlers.startup)."""
    return OperatorContext(
        get_secret=_not_attached, list_secrets=_not_attached, options=options or OperatorOptions()
    )  # type: ignore[arg-type]


def cluster_access() -> ClusterAccess:
    """In a pod: the service account; elsewhere: $KUBECONFIG or ~/.kube/config."""
    if os.environ.get("KUBERNETES_SERVICE_HOST"):
        return ClusterAccess.in_cluster()
    return ClusterAccess.from_kubeconfig()


def build_registry(
    ctx: OperatorContext, access: ClusterAccess, secret_namespaces: Sequence[str | None] = (None,)
) -> kopf.OperatorRegistry:
    registry = kopf.OperatorRegistry()
    startup.register(registry, ctx, access, secret_namespaces)
    connection.register(registry, ctx)
    certificatesync.register(registry, ctx)
    return registry


def _watch_scope(namespaces: Sequence[str]) -> list[str | None]:
    """Secret watch namespaces: the plain names given, or all namespaces when any is a glob."""
    if not namespaces or any(ch in ns for ns in namespaces for ch in "*?[]!,"):
        return [None]
    return list(namespaces)


def run_operator(
    options: OperatorOptions,
    *,
    namespaces: Sequence[str] = (),
    liveness: str | None = None,
    metrics_port: int | None = None,
    log_format: str = "plain",
    verbose: bool = False,
) -> None:
    # kopf.configure() (in logs.configure) sets up the log handler and format; a basicConfig
    # elsewhere as well would print every line twice.
    logs.configure(log_format=log_format, verbose=verbose)
    ctx = new_context(options)
    if metrics_port:
        ctx.metrics.serve(metrics_port)
    access = cluster_access()
    registry = build_registry(ctx, access, _watch_scope(namespaces))
    kopf.run(
        registry=registry,
        standalone=True,
        clusterwide=not namespaces,
        namespaces=list(namespaces),
        liveness_endpoint=liveness,
    )
