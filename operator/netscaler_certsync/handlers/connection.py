"""kopf handlers for NetScalerConnection: check on change, and periodically."""

from __future__ import annotations

import time
from typing import Any

import kopf

from netscaler_certsync.handlers.outcomes import finish
from netscaler_certsync.k8s.keys import GROUP, VERSION
from netscaler_certsync.reconcile.connection import reconcile_connection
from netscaler_certsync.reconcile.context import OperatorContext
from netscaler_certsync.reconcile.specs import health_check_due

PLURAL = "netscalerconnections"
KIND = "NetScalerConnection"


def register(registry: kopf.OperatorRegistry, ctx: OperatorContext) -> None:
    async def check(
        body: kopf.Body, spec: kopf.Spec, status: kopf.Status, namespace: str, name: str, patch: kopf.Patch
    ) -> None:
        started = time.monotonic()
        async with ctx.object_lock(KIND, namespace, name):
            outcome = await reconcile_connection(ctx, namespace, name, spec, status)
        finish(outcome, body=body, patch=patch, status=status, ctx=ctx, started=started)

    @kopf.on.resume(GROUP, VERSION, PLURAL, registry=registry)
    @kopf.on.create(GROUP, VERSION, PLURAL, registry=registry)
    @kopf.on.update(GROUP, VERSION, PLURAL, field="spec", registry=registry)
    async def connection_changed(
        body: kopf.Body,
        spec: kopf.Spec,
        status: kopf.Status,
        namespace: str,
        name: str,
        patch: kopf.Patch,
        **_: Any,
    ) -> None:
        await check(body, spec, status, namespace, name, patch)

    @kopf.timer(
        GROUP, VERSION, PLURAL, interval=ctx.options.health_check_tick_seconds, idle=1, registry=registry
    )
    async def connection_health(
        body: kopf.Body,
        spec: kopf.Spec,
        status: kopf.Status,
        namespace: str,
        name: str,
        patch: kopf.Patch,
        **_: Any,
    ) -> None:
        # The timer ticks often; each connection is checked at its own healthCheckIntervalSeconds.
        if ctx.recheck_due(KIND, namespace, name) or health_check_due(spec, status, ctx.clock()):
            await check(body, spec, status, namespace, name, patch)

    @kopf.on.delete(GROUP, VERSION, PLURAL, registry=registry, optional=True)
    async def connection_deleted(namespace: str, name: str, **_: Any) -> None:
        ctx.forget(KIND, namespace, name)
        ctx.metrics.forget_resource(KIND, namespace, name)
