"""The periodic re-check of one CertificateSync, run by the drift schedule's workers, not by kopf.

A re-check finds what changed on the appliance behind our back (a certkey updated or unbound by
hand, a configuration lost on reboot) and retries stalled syncs whose fix may come from outside
Kubernetes. A sync whose Secret changed is re-checked at once, as a renewal, so a renewal does not
wait for kopf to deliver the Secret's mark (`OperatorContext.secret_marked`, decision 237).
It reads the CertificateSync afresh, so it never acts on a version kopf has not shown yet, and
writes its status and Events itself (kopf only writes those of its own handlers).

The schedule (reconcile/drift.py) keeps no task per object: that was a kopf timer's cost.
"""

from __future__ import annotations

import datetime as dt
import logging
import time
from collections.abc import Callable, Mapping
from typing import Any

from netscaler_certsync.handlers.deletion import DeletionGuard
from netscaler_certsync.handlers.outcomes import KUBERNETES_RETRY_SECONDS, account, status_patch
from netscaler_certsync.k8s import keys
from netscaler_certsync.k8s.errors import KubernetesError
from netscaler_certsync.reconcile.certificatesync import reconcile_sync
from netscaler_certsync.reconcile.context import OperatorContext
from netscaler_certsync.reconcile.request import SyncRequest
from netscaler_certsync.reconcile.specs import auto_sync, drift_check_due, drift_due_at

logger = logging.getLogger(__name__)

KIND = keys.SYNC_KIND
#: The NetScalerConnections index kopf keeps (None until kopf's first event delivered it).
Connections = Callable[[], Mapping[tuple[str, str], Mapping[str, Any]] | None]


async def recheck(
    ctx: OperatorContext, guard: DeletionGuard, connections: Connections, namespace: str, name: str
) -> None:
    """Re-check one sync if it is still due, and schedule its next re-check."""
    key = (namespace, name)
    body = await ctx.get_sync(namespace, name)
    if body is None:
        ctx.drift.remove(key)  # deleted: kopf's DELETED event may still be on its way
        ctx.drop_secret_mark(namespace, name)
        return
    shard = ctx.options.shard
    if (
        shard is not None
        and ((body.get("metadata") or {}).get("labels") or {}).get(keys.SHARD_LABEL) != shard
    ):
        ctx.drift.remove(key)  # relabelled into another shard: kopf's DELETED event is on its way
        ctx.drop_secret_mark(namespace, name)
        return
    if guard.deleting(body):
        return  # the delete handler owns it now
    spec, status = body.get("spec") or {}, body.get("status") or {}
    marked = ctx.has_secret_mark(namespace, name)
    if marked and not auto_sync(spec):
        ctx.drop_secret_mark(namespace, name)  # autoSync is off now: kopf's handler would not sync either
        marked = False
    if not (marked or ctx.recheck_due(KIND, namespace, name) or drift_check_due(spec, status, ctx.clock())):
        # Synced since this was scheduled (a renewal, a spec change): its next time comes from it.
        ctx.schedule_sync_check(namespace, name, drift_due_at(spec, status))
        return
    index = connections()
    tick = dt.timedelta(seconds=ctx.drift.tick)
    if index is None:
        ctx.drift.sooner(key, ctx.clock() + tick)
        return
    started = time.monotonic()
    mark = None
    try:
        async with ctx.drift_turn(KIND, namespace, name) as go:
            if not go or guard.deleting(body):
                # A change is being reconciled (that is a check too; a pending Secret mark is
                # kopf's handler's to answer then), or a deletion began: look again a tick later.
                ctx.drift.sooner(key, ctx.clock() + tick)
                return
            ctx.take_wake(KIND, namespace, name)  # this run answers every wake before it
            # A Secret mark makes this run the renewal kopf's handler of the mark would be.
            mark = ctx.take_secret_mark(namespace, name)
            request = SyncRequest.of(body, "drift" if mark is None else "secret")
            outcome = await reconcile_sync(ctx, request, index)
        written = status_patch(outcome, body, status)
        await ctx.patch_sync_status(namespace, name, written)
        for event in outcome.events:
            await ctx.post_event(body, event.type, event.reason, event.message)
    except KubernetesError as exc:
        logger.warning("Re-check of CertificateSync %s/%s: Kubernetes API: %s", namespace, name, exc)
        if mark is not None:
            ctx.retry_secret_mark(namespace, name, mark)
        ctx.drift.sooner(key, ctx.clock() + dt.timedelta(seconds=KUBERNETES_RETRY_SECONDS))
        return
    if mark is not None and outcome.error is not None and not outcome.error.stalled:
        ctx.retry_secret_mark(namespace, name, mark)  # retried as a renewal after its delay (below)
    # Transient failures are re-checked after their delay: no kopf retry repeats this check.
    account(outcome, body=body, ctx=ctx, started=started, recheck_transient=True)
    # The status event of this write sets the same time; this covers a write that changed nothing.
    when = ctx.next_check(KIND, namespace, name, drift_due_at(spec, {**status, **written}))
    if when is not None:
        ctx.drift.sooner(key, when)
