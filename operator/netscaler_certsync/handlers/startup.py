"""Operator-wide kopf settings, login, and the Kubernetes client and Secret watchers' lifecycle."""

from __future__ import annotations

import asyncio
import logging
import os
import socket
from collections.abc import Sequence
from typing import Any

import kopf

from netscaler_certsync.k8s import ClusterAccess, KubeClient, NamedSecretWatch, keys
from netscaler_certsync.reconcile import cluster, identity
from netscaler_certsync.reconcile.context import OperatorContext

#: At shutdown, how long a periodic re-check in flight may take to finish before it is cancelled.
RECHECK_GRACE_SECONDS = 10.0


def configure(settings: kopf.OperatorSettings) -> None:
    settings.persistence.finalizer = keys.FINALIZER
    settings.persistence.progress_storage = kopf.AnnotationsProgressStorage(prefix=keys.STATE_PREFIX)
    settings.persistence.diffbase_storage = kopf.AnnotationsDiffBaseStorage(
        prefix=keys.STATE_PREFIX, key=keys.LAST_HANDLED_KEY
    )
    # kopf posts an Event for every handler log line at INFO by default: that floods
    # `kubectl describe`. We post our own Events explicitly; kopf only its warnings.
    settings.posting.level = logging.WARNING
    # Events say who reported them (`kubectl describe` shows "From netscaler-certsync", not kopf).
    settings.posting.reporting_component = keys.EVENT_COMPONENT
    settings.posting.reporting_instance = os.environ.get("HOSTNAME") or socket.gethostname()
    settings.posting.event_name_prefix = f"{keys.EVENT_COMPONENT}-"
    settings.networking.request_timeout = 30
    # Periodic reconnects guard against silent watch stalls (kopf issues #585, #1120). kopf lists
    # every object again at each reconnect and waits `reconnect_backoff` first: no event is seen
    # in that pause, so a renewal that falls into it waits for it (kopf's default of a second set
    # the floor of a renewal right after a relist). A quarter second keeps that short; a failing
    # LIST still backs off on its own (settings.networking.error_backoffs).
    settings.watching.server_timeout = 300
    settings.watching.client_timeout = 330
    settings.watching.connect_timeout = 10
    settings.watching.reconnect_backoff = 0.25
    # kopf lists in pages of this many objects (the page size client-go's reflectors use): one
    # LIST of 10,000 CertificateSyncs with their status is tens of MB, parsed in one go while
    # nothing else on the event loop runs, and an API server answers it in one go too. In pages,
    # a renewal's own requests and awaits get their turns during a relist (decision 237).
    settings.watching.chunk_size = 500
    # No cap on kopf's per-object workers: each lingers `idle_timeout` after its last event, so a
    # cap lets only a trickle of objects through after a relist of every CertificateSync, and a
    # renewal queues behind them (docs/decisions/014-kopf-settings-for-many-objects.md).
    # A worker is one asyncio task; the appliance lock and the NITRO client bound the real work.
    settings.queueing.worker_limit = None
    # After patching an object kopf holds back its next events until the patched version comes
    # back through the watch, for at most this long. A relist (410) can skip that version, and
    # then the object's next event (a renewal) waits out the whole timeout (kopf's default is
    # several seconds; renewal latency after a relist is in docs/benchmarks.md). If the API server
    # is slower than this, kopf may look at a stale event, which at worst runs an idempotent
    # reconcile once more.
    settings.persistence.consistency_timeout = 1.0
    # On SIGTERM kopf waits this long for the handlers in flight before cancelling them: long
    # enough for an apply and its configuration save (retried ~15 s while the appliance is busy
    # saving, engine/saves.py), so a rollout does not leave changes unsaved; the chart's
    # terminationGracePeriodSeconds leaves room for it and for releasing the Lease after.
    settings.queueing.exit_timeout = 20


def connection_info(access: ClusterAccess) -> kopf.ConnectionInfo:
    """kopf logs in with exactly what our own Kubernetes client uses."""
    return kopf.ConnectionInfo(
        server=access.server,
        ca_data=access.ca_data,
        insecure=access.insecure or None,
        scheme="Bearer" if access.bearer_token() else None,
        token=access.bearer_token(),
        certificate_data=access.client_cert,
        private_key_data=access.client_key,
        default_namespace=access.namespace,
    )


def register(
    registry: kopf.OperatorRegistry,
    ctx: OperatorContext,
    access: ClusterAccess,
    secret_namespaces: Sequence[str | None],
) -> None:
    running: list[tuple[object, asyncio.Task[None]]] = []
    named: list[NamedSecretWatch] = []
    clients: list[KubeClient] = []

    @kopf.on.login(registry=registry)
    def login(**_: Any) -> kopf.ConnectionInfo:
        return connection_info(access)

    @kopf.on.startup(registry=registry)
    async def startup(settings: kopf.OperatorSettings, **_: Any) -> None:
        configure(settings)
        if ctx.options.shard is not None:
            # Server-side: kopf 1.45 applies a label selector only under the (group, plural) key.
            for plural in (keys.SYNC_PLURAL, keys.CONNECTION_PLURAL):
                settings.watching.label_selectors[keys.GROUP, plural] = (
                    f"{keys.SHARD_LABEL}={ctx.options.shard}"
                )
        client = KubeClient(access)
        clients.append(client)
        cluster.attach(ctx, client)
        ctx.cluster = await identity.resolve(ctx.options.cluster_id, client.namespace_uid)
        if ctx.options.watch_secrets:
            running.extend(cluster.start_secret_watchers(ctx, client, secret_namespaces))
            named.append(cluster.start_connection_secret_watch(ctx, client))

    @kopf.on.cleanup(registry=registry)
    async def cleanup(**_: Any) -> None:
        ctx.stopping = True  # no re-check starts on the clients closed below
        # A re-check in flight finishes its apply and save, as kopf lets its handlers finish.
        await ctx.drift.stop(grace=RECHECK_GRACE_SECONDS)
        for _watcher, task in running:
            task.cancel()
        await asyncio.gather(*(task for _, task in running), return_exceptions=True)
        running.clear()
        for watch in named:
            await watch.close()
        named.clear()
        for client in clients:
            await client.aclose()
        clients.clear()
        await ctx.sessions.close()  # log out of every appliance

    @kopf.on.probe(id="secretWatchers", registry=registry)
    def watchers_alive(**_: Any) -> int:
        """Liveness: a dead Secret watcher would silently stop renewals, so it fails the probe."""
        dead = [task.get_name() for _, task in running if task.done()]
        dead += ["connection Secrets" for watch in named if not watch.alive()]
        dead += [] if ctx.drift.alive() else ["drift re-checks"]
        if dead:
            raise RuntimeError(f"Secret watchers stopped: {dead}")
        return len(running)
