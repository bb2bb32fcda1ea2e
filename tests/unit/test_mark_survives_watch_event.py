"""A renewal's re-check stays due when kopf delivers an event of the sync before it starts.

The Secret watcher makes a marked sync due now, then PATCHes the mark onto it; kopf's event of
that PATCH (or any other event of the sync) sets the sync's next re-check from its status. On
main that pushed the pending renewal's re-check to the periodic drift time, so the renewal waited
for kopf's own handler of the mark (after a relist of every sync: seconds).
"""

from __future__ import annotations

import datetime as dt
from typing import Any

import kopf

from netscaler_certsync.handlers import certificatesync
from netscaler_certsync.k8s import keys
from netscaler_certsync.reconcile.context import OperatorContext

NOW = dt.datetime(2026, 12, 7, 12, 0, tzinfo=dt.UTC)
KEY = ("default", "web")


async def _unused(*_: object) -> Any:
    raise AssertionError("not read in this test")


def _event_handler(ctx: OperatorContext) -> Any:
    registry = kopf.OperatorRegistry()
    certificatesync.register(registry, ctx)
    (handler,) = [h for h in registry._watching.get_all_handlers() if h.id.endswith("track_triggers")]
    return handler.fn


async def _deliver(ctx: OperatorContext, event_type: str | None) -> None:
    last_sync = (NOW - dt.timedelta(seconds=5)).strftime("%Y-%m-%dT%H:%M:%SZ")
    status = {"lastSyncTime": last_sync, "conditions": []}
    body = {
        "metadata": {
            "namespace": KEY[0],
            "name": KEY[1],
            "annotations": {"kopf.zalando.org/last-handled-configuration": "{}"},
        },
        "spec": {"certificates": [{"secretName": "web"}]},
        "status": status,
    }
    await _event_handler(ctx)(
        type=event_type,
        body=body,
        namespace=KEY[0],
        name=KEY[1],
        spec=body["spec"],
        status=status,
        connections={},
    )


async def test_kopf_event_after_the_mark_keeps_the_recheck_due_now() -> None:
    ctx = OperatorContext(get_secret=_unused, list_secrets=_unused, clock=lambda: NOW)
    ctx.drift.set(KEY, NOW)
    assert ctx.drift.take(NOW) == KEY  # the previous renewal's re-check ran a moment ago
    ctx.secret_marked(*KEY, "web@10")
    await _deliver(ctx, "MODIFIED")  # kopf's event of the mark's PATCH, before a worker woke
    assert ctx.drift.due_at(KEY) == NOW, "the renewal's re-check was pushed to the drift interval"
    assert ctx.drift.take(NOW) == KEY


async def test_without_a_mark_the_event_sets_the_periodic_check() -> None:
    ctx = OperatorContext(get_secret=_unused, list_secrets=_unused, clock=lambda: NOW)
    await _deliver(ctx, "MODIFIED")
    due = ctx.drift.due_at(KEY)
    assert due is not None and due > NOW + dt.timedelta(minutes=1)


async def test_a_mark_kept_for_a_retry_waits_for_the_retry_time() -> None:
    ctx = OperatorContext(get_secret=_unused, list_secrets=_unused, clock=lambda: NOW)
    ctx.secret_marked(*KEY, "web@10")
    assert ctx.take_secret_mark(*KEY) == "web@10"  # the re-check renews; it fails transiently
    ctx.retry_secret_mark(*KEY, "web@10")
    ctx.schedule_recheck(keys.SYNC_KIND, *KEY, after=30)
    await _deliver(ctx, "MODIFIED")  # kopf's event of the failure's status
    assert ctx.drift.due_at(KEY) == NOW + dt.timedelta(seconds=30), "a failed renewal retried in a loop"
