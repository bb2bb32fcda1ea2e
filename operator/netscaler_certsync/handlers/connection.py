"""kopf handlers for NetScalerConnection: check on change, on a changed Secret, on request, and
periodically; hand a regained connection on to its CertificateSyncs; hold its deletion while
CertificateSyncs use it (reconcile/connection_triggers.py says why each trigger exists).
"""

from __future__ import annotations

import time
from collections.abc import Iterable
from typing import Any

import kopf

from netscaler_certsync.handlers.outcomes import finish, post_events, write_status
from netscaler_certsync.k8s import keys
from netscaler_certsync.reconcile.connection import hold_deletion, is_ready, reconcile_connection
from netscaler_certsync.reconcile.connection_triggers import (
    SyncUse,
    connection_ready,
    connections_of,
    track_connection,
)
from netscaler_certsync.reconcile.context import OperatorContext
from netscaler_certsync.reconcile.specs import health_check_due
from netscaler_certsync.reconcile.triggers import SECRET_CHANGED

GROUP, VERSION = keys.GROUP, keys.VERSION
PLURAL = keys.CONNECTION_PLURAL
KIND = keys.CONNECTION_KIND

#: kopf index of CertificateSyncs by the connections they use: (namespace, connection) -> SyncUse.
Users = kopf.Index[tuple[str, str], SyncUse]


def _users(index: Users, namespace: str, name: str) -> Iterable[SyncUse]:
    return index.get((namespace, name), ())


def register(registry: kopf.OperatorRegistry, ctx: OperatorContext) -> None:
    # A kopf index, so kopf starts no handler before every CertificateSync is in it: a deletion
    # at start-up cannot let a connection go that a sync it has not seen yet still uses.
    @kopf.index(GROUP, VERSION, keys.SYNC_PLURAL, id="connection_users", registry=registry)
    async def connection_users(
        namespace: str, name: str, spec: kopf.Spec, status: kopf.Status, meta: kopf.Meta, **_: Any
    ) -> Any:
        failed = bool(status.get("conditions")) and not is_ready(status)
        use = SyncUse(name, failed, bool(meta.get("deletionTimestamp")))
        return {(namespace, conn): use for conn in connections_of(spec)}

    @kopf.on.event(GROUP, VERSION, PLURAL, registry=registry)
    async def track_secrets(type: str | None, namespace: str, name: str, spec: kopf.Spec, **_: Any) -> None:
        track_connection(ctx, namespace, name, None if type == "DELETED" else spec)

    # kopf passes every handler the same keyword arguments (the object's parts, the index as
    # `connection_users`); the handlers below differ only in when they check, so they hand them on.
    async def check(
        *,
        body: kopf.Body,
        spec: kopf.Spec,
        status: kopf.Status,
        namespace: str,
        name: str,
        patch: kopf.Patch,
        connection_users: Users,
        **_: Any,
    ) -> None:
        started = time.monotonic()
        async with ctx.object_lock(KIND, namespace, name):
            outcome = await reconcile_connection(ctx, namespace, name, spec, status)
        if outcome.error is None and not is_ready(status):
            checked = str(outcome.status.get("lastCheckedTime", ""))
            await connection_ready(ctx, namespace, name, _users(connection_users, namespace, name), checked)
        finish(
            outcome, body=body, patch=patch, status=status, ctx=ctx, started=started, recheck_transient=True
        )

    @kopf.on.resume(GROUP, VERSION, PLURAL, registry=registry)
    @kopf.on.create(GROUP, VERSION, PLURAL, registry=registry)
    @kopf.on.update(GROUP, VERSION, PLURAL, field="spec", registry=registry)
    async def connection_changed(**kwargs: Any) -> None:
        await check(**kwargs)

    @kopf.on.field(
        GROUP, VERSION, PLURAL, field=("metadata", "annotations", SECRET_CHANGED), registry=registry
    )
    @kopf.on.field(
        GROUP, VERSION, PLURAL, field=("metadata", "annotations", keys.SYNC_REQUESTED_AT), registry=registry
    )
    async def connection_requested(new: Any, **kwargs: Any) -> None:
        if new:  # removing the annotation requests nothing
            await check(**kwargs)

    @kopf.timer(
        GROUP, VERSION, PLURAL, interval=ctx.options.health_check_tick_seconds, idle=1, registry=registry
    )
    async def connection_health(**kwargs: Any) -> None:
        # The timer ticks often; each connection is checked at its own healthCheckIntervalSeconds,
        # and sooner when a failed check's retry is due (a transient failure's kopf retry of this
        # timer lands here too, and runs because the re-check is due).
        if ctx.stopping:  # the clients are being closed (OperatorContext.stopping)
            return
        due = ctx.recheck_due(KIND, kwargs["namespace"], kwargs["name"])
        if due or health_check_due(kwargs["spec"], kwargs["status"], ctx.clock()):
            await check(**kwargs)

    @kopf.on.delete(GROUP, VERSION, PLURAL, registry=registry)
    async def connection_deleted(
        body: kopf.Body,
        status: kopf.Status,
        namespace: str,
        name: str,
        patch: kopf.Patch,
        connection_users: Users,
        **_: Any,
    ) -> None:
        held = hold_deletion(status, _users(connection_users, namespace, name))
        if held is not None and held.error is not None:
            write_status(held, body=body, patch=patch, status=status)
            post_events(held, body)
            raise kopf.TemporaryError(held.error.message, delay=held.error.retry_after or 3)
        track_connection(ctx, namespace, name, None)
        ctx.forget(KIND, namespace, name)
        ctx.metrics.forget_resource(KIND, namespace, name)
