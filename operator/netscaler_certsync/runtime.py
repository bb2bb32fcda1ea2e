"""Compose the operator: context, kopf registry, and `run_operator` for `netscaler-certsync run`.

Tests use `build_registry()` with their own context and cluster access, and run it with kopf's
task API in their event loop; production runs `run_operator()`.
"""

from __future__ import annotations

import asyncio
import dataclasses
import errno
import gc
import logging
import os
import socket
from collections.abc import Sequence
from urllib.parse import urlsplit

import kopf

from netscaler_certsync import __version__, logs
from netscaler_certsync.handlers import certificatesync, connection, relist, startup
from netscaler_certsync.k8s import ClusterAccess, ConfigError
from netscaler_certsync.k8s.lease import LeaseSettings
from netscaler_certsync.reconcile.context import OperatorContext, OperatorOptions
from netscaler_certsync.shutdown import run_kopf

__all__ = [
    "OperatorContext",
    "OperatorOptions",
    "StartupError",
    "build_registry",
    "cluster_access",
    "run_operator",
]


class StartupError(Exception):
    """The operator cannot start for a reason the user can fix; the message says which (one line)."""


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
    relist.install(ctx.echoes)  # before kopf watches: a relist skips the objects it has seen unchanged
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


def _check_liveness_address(liveness: str) -> None:
    """Bind the liveness address once before kopf does: kopf only logs a failed bind and goes on."""
    url = urlsplit(liveness)
    host, port = url.hostname or "0.0.0.0", url.port or 80  # noqa: S104 - kopf's own default
    try:
        with socket.socket(socket.AF_INET6 if ":" in host else socket.AF_INET) as probe:
            probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)  # as aiohttp binds it
            probe.bind((host, port))
    except OSError as e:
        raise StartupError(f"cannot serve the liveness endpoint {liveness} (--liveness): {e.strerror}") from e


#: The cyclic garbage collector's thresholds in the operator process. With Python's default
#: (700, 10, 10) a relist of thousands of objects promotes its pages, still being worked through,
#: into the old generation, and a full collection followed about once a second: each a pause of
#: the whole event loop that grows with the heap (0.35 s at 10,000 CertificateSyncs, in the middle
#: of renewals; docs/benchmarks.md). Young collections every 50,000 net allocations let those pages
#: die by reference counting first; only garbage in reference cycles waits longer to be freed.
GC_THRESHOLDS = (50_000, 10, 10)


def tune_collector() -> None:
    """Set `GC_THRESHOLDS` (the operator process only: tests run in their own processes' defaults)."""
    gc.set_threshold(*GC_THRESHOLDS)


def run_operator(
    options: OperatorOptions,
    *,
    namespaces: Sequence[str] = (),
    liveness: str | None = None,
    metrics_port: int | None = None,
    log_format: str = "plain",
    verbose: bool = False,
    election: LeaseSettings | None = None,
) -> int:
    """Run until stopped; the process's exit status. Without `election`, kopf runs standalone
    at once (one replica only); with it, only while this process holds the Lease."""
    tune_collector()
    # kopf.configure() (in logs.configure) sets up the log handler and format; a basicConfig
    # elsewhere as well would print every line twice.
    logs.configure(log_format=log_format, verbose=verbose)
    ctx = new_context(options)
    try:
        access = cluster_access()
    except ConfigError as e:
        raise StartupError(str(e)) from e
    if metrics_port:
        try:
            ctx.metrics.serve(metrics_port)
        except OSError as e:
            raise StartupError(
                f"cannot serve metrics on port {metrics_port} (--metrics-port): {e.strerror}"
            ) from e
    if liveness:
        _check_liveness_address(liveness)
    logging.getLogger(__name__).info(logs.startup_line(__version__, namespaces))
    registry = build_registry(ctx, access, _watch_scope(namespaces))
    if election is not None:
        from netscaler_certsync.leadership import run_elected

        if not election.namespace:  # not in a pod: the kubeconfig context's namespace
            election = dataclasses.replace(election, namespace=access.namespace)
        return asyncio.run(
            run_elected(
                registry,
                ctx,
                access,
                election,
                clusterwide=not namespaces,
                namespaces=namespaces,
                liveness=liveness,
            )
        )
    try:
        asyncio.run(
            run_kopf(
                registry,
                asyncio.Event(),  # set by SIGTERM/SIGINT once kopf runs
                standalone=True,
                clusterwide=not namespaces,
                namespaces=list(namespaces),
                liveness_endpoint=liveness,
            )
        )
    except asyncio.CancelledError:
        pass  # as kopf.run(): its root tasks cancelled is a stop, not a failure
    except OSError as e:
        if e.errno != errno.EADDRINUSE:
            raise
        # kopf binds nothing else: this is the liveness endpoint
        raise StartupError(
            f"cannot serve the liveness endpoint {liveness} (--liveness): address in use"
        ) from e
    return 0
