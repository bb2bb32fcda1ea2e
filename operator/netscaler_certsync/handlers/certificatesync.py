"""kopf handlers for CertificateSync: sync on spec change, manual request, Secret change; and the
periodic re-checks' schedule, fed from kopf's events and worked off outside kopf (handlers/drift.py).

Every trigger runs the same reconcile; kopf runs one handler at a time per object, and the
object lock keeps a re-check from overlapping a change handler (a re-check takes it only once
its turn comes: `OperatorContext.drift_turn`). Once deletion begins, no handler but the delete
handler reconciles the object (`DeletionGuard`).
"""

from __future__ import annotations

import datetime as dt
import time
from collections.abc import Mapping
from typing import Any

import kopf

from netscaler_certsync.handlers import drift
from netscaler_certsync.handlers.deletion import DeletionGuard
from netscaler_certsync.handlers.outcomes import finish, kubernetes_failures_are_temporary, retry_delay
from netscaler_certsync.k8s import keys
from netscaler_certsync.reconcile.certificatesync import finalize_sync, reconcile_sync
from netscaler_certsync.reconcile.connection_triggers import CONNECTION_READY
from netscaler_certsync.reconcile.context import OperatorContext
from netscaler_certsync.reconcile.request import SyncRequest
from netscaler_certsync.reconcile.specs import auto_sync, drift_due_at
from netscaler_certsync.reconcile.triggers import SECRET_CHANGED

GROUP, VERSION = keys.GROUP, keys.VERSION
PLURAL = keys.SYNC_PLURAL
KIND = keys.SYNC_KIND


class _IndexView(Mapping[tuple[str, str], Mapping[str, Any]]):
    """A kopf index of NetScalerConnections seen as a plain mapping (one object per key)."""

    def __init__(self, index: kopf.Index[tuple[str, str], Mapping[str, Any]]) -> None:
        self._index = index

    def __getitem__(self, key: tuple[str, str]) -> Mapping[str, Any]:
        return next(iter(self._index[key]))

    def __iter__(self) -> Any:
        return iter(self._index)

    def __len__(self) -> int:
        return len(self._index)


def register(registry: kopf.OperatorRegistry, ctx: OperatorContext) -> None:
    guard = DeletionGuard()
    # kopf hands its indexes only to handlers; the re-checks run outside them, so the event
    # handler keeps the (live) connections index for them.
    known: dict[str, _IndexView] = {}

    async def recheck(namespace: str, name: str) -> None:
        await drift.recheck(ctx, guard, lambda: known.get("connections"), namespace, name)

    @kopf.on.startup(registry=registry)
    async def start_rechecks(**_: Any) -> None:
        ctx.drift.start(recheck, lambda: ctx.clock(), lambda: ctx.stopping, ctx.options.drift_concurrency)

    @kopf.index(GROUP, VERSION, keys.CONNECTION_PLURAL, id="connections", registry=registry)
    def connections(namespace: str, name: str, spec: kopf.Spec, status: kopf.Status, **_: Any) -> Any:
        return {(namespace, name): {"spec": dict(spec), "status": dict(status)}}

    # An indexer, not an event handler: kopf runs every indexer over its whole initial listing
    # before any handler, so after a restart no sync reconciles before the claim index knows
    # every sync created earlier (reconcile/claims.py). Nothing is kept in kopf's index itself.
    @kopf.index(GROUP, VERSION, PLURAL, id="sync_ages", registry=registry)
    async def sync_ages(namespace: str, name: str, meta: kopf.Meta, **_: Any) -> None:
        ctx.claims.known(f"{namespace}/{name}", str(meta.get("creationTimestamp", "")))

    # async on purpose: kopf runs plain functions in a thread pool, and the index is read on the
    # event loop by the Secret watcher (a concurrent update dropped a renewal notice in a benchmark).
    @kopf.on.event(GROUP, VERSION, PLURAL, registry=registry)
    async def track_triggers(
        type: str | None,
        body: kopf.Body,
        namespace: str,
        name: str,
        spec: kopf.Spec,
        status: kopf.Status,
        connections: Any,
        **_: Any,
    ) -> None:
        if "connections" not in known:
            known["connections"] = _IndexView(connections)
        if type == "DELETED":  # deleted, or relabelled out of this shard
            ctx.triggers.remove(namespace, name)
            ctx.claims.gone(f"{namespace}/{name}")
            ctx.drift.remove((namespace, name))
            guard.gone(body)
        else:
            # type None: kopf's listing at start, whose resume handler reconciles the sync; a
            # sync none of our processes handled yet gets kopf's create handler. Either reads its
            # Secrets, so its Secrets' first lists need not mark it (reconcile/cluster.py).
            never_handled = keys.LAST_HANDLED not in body.get("metadata", {}).get("annotations", {})
            resumed = type is None or never_handled
            ctx.triggers.update(namespace, name, spec, status, resumed=resumed)
            periodic = drift_due_at(spec, status)
            if resumed and periodic is not None:
                # Its resume or create handler reconciles it now: a re-check a tick later at the
                # earliest would only queue a duplicate behind it.
                periodic = max(periodic, ctx.clock() + dt.timedelta(seconds=ctx.drift.tick))
            ctx.schedule_sync_check(namespace, name, periodic)

    async def sync(
        trigger: str,
        body: kopf.Body,
        patch: kopf.Patch,
        index: kopf.Index[tuple[str, str], Mapping[str, Any]],
        sync_request: str | None = None,
        mark: str | None = None,
    ) -> None:
        if ctx.echoes.already_reconciled(body):
            return  # a late copy of our own status write, made by a reconcile that has finished
        status = body.get("status", {})
        request = SyncRequest.of(body, trigger, sync_request)
        started = time.monotonic()
        if guard.deleting(body):
            return  # the delete handler owns the object now; returning also ends kopf's retries
        with kubernetes_failures_are_temporary():
            if trigger == "spec":
                async with ctx.change_turn(KIND, request.namespace, request.name):
                    if guard.deleting(body):
                        return
                    outcome = await reconcile_sync(ctx, request, _IndexView(index))
            else:
                async with ctx.object_lock(KIND, request.namespace, request.name):
                    if guard.deleting(body):
                        return
                    if mark is not None and not ctx.answer_secret_mark(request.namespace, request.name, mark):
                        return  # a re-check reconciled this Secret change already (handlers/drift.py)
                    outcome = await reconcile_sync(ctx, request, _IndexView(index))
        finish(outcome, body=body, patch=patch, status=status, ctx=ctx, started=started)
        ctx.echoes.finished(body)  # kopf records this run done: its own writes' versions are echoes now

    @kopf.on.resume(GROUP, VERSION, PLURAL, registry=registry)
    @kopf.on.create(GROUP, VERSION, PLURAL, registry=registry)
    @kopf.on.update(GROUP, VERSION, PLURAL, field="spec", registry=registry)
    async def sync_on_spec(body: kopf.Body, patch: kopf.Patch, connections: Any, **_: Any) -> None:
        await sync("spec", body, patch, connections)

    @kopf.on.field(
        GROUP, VERSION, PLURAL, field=("metadata", "annotations", keys.SYNC_REQUESTED_AT), registry=registry
    )
    async def sync_on_request(
        body: kopf.Body, patch: kopf.Patch, new: Any, connections: Any, **_: Any
    ) -> None:
        if new:  # removing the annotation requests nothing
            await sync("manual", body, patch, connections, sync_request=str(new))

    @kopf.on.field(
        GROUP, VERSION, PLURAL, field=("metadata", "annotations", SECRET_CHANGED), registry=registry
    )
    async def sync_on_secret(
        body: kopf.Body, patch: kopf.Patch, new: Any, connections: Any, **_: Any
    ) -> None:
        if new and auto_sync(body.get("spec", {})):
            await sync("secret", body, patch, connections, mark=str(new))

    @kopf.on.field(
        GROUP, VERSION, PLURAL, field=("metadata", "annotations", CONNECTION_READY), registry=registry
    )
    async def sync_on_connection(
        body: kopf.Body, patch: kopf.Patch, new: Any, connections: Any, **_: Any
    ) -> None:
        if new:  # a connection it uses turned Ready (reconcile/connection_triggers.py)
            await sync("connection", body, patch, connections)

    @kopf.on.delete(GROUP, VERSION, PLURAL, registry=registry)
    async def sync_deleted(body: kopf.Body, connections: Any, **_: Any) -> None:
        request = SyncRequest.of(body, "delete")
        guard.begin(body)  # before the lock: whatever waits for it must not reconcile after us
        async with ctx.object_lock(KIND, request.namespace, request.name):
            with kubernetes_failures_are_temporary():
                outcome = await finalize_sync(ctx, request, _IndexView(connections))
        for event in outcome.events:
            kopf.event(body, type=event.type, reason=event.reason, message=event.message)
        if outcome.error is not None:
            delay = retry_delay(ctx, outcome.error.retry_after or 30)
            raise kopf.TemporaryError(str(outcome.error), delay=delay)
        ctx.triggers.remove(request.namespace, request.name)
        ctx.forget(KIND, request.namespace, request.name)
        ctx.metrics.forget_resource(KIND, request.namespace, request.name)
