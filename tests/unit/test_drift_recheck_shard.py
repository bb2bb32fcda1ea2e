"""A re-check reads its CertificateSync afresh; one relabelled into another shard is not this
shard's any more, even if kopf's DELETED event for it has not arrived yet."""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from typing import Any

from netscaler_certsync.handlers.deletion import DeletionGuard
from netscaler_certsync.handlers.drift import recheck
from netscaler_certsync.k8s import keys
from netscaler_certsync.reconcile.context import OperatorContext, OperatorOptions

NOW = dt.datetime(2026, 12, 6, 12, 0, tzinfo=dt.UTC)


async def _no_secrets(*_: object) -> Any:
    raise AssertionError("a re-check of a sync this shard does not own read a Secret")


async def test_a_sync_relabelled_into_another_shard_is_not_rechecked() -> None:
    writes: list[Mapping[str, Any]] = []

    async def get_sync(namespace: str, name: str) -> Mapping[str, Any]:
        return {
            "metadata": {"namespace": namespace, "name": name, "labels": {keys.SHARD_LABEL: "1"}},
            "spec": {"connectionRefs": [{"name": "adc"}], "certificates": [{"secretName": "web"}]},
            "status": {"lastSyncTime": "2026-12-06T09:00:00Z"},  # three hours ago: due
        }

    async def patch_status(namespace: str, name: str, status: Mapping[str, Any]) -> str | None:
        writes.append(status)
        return None

    ctx = OperatorContext(
        get_secret=_no_secrets,
        list_secrets=_no_secrets,
        options=OperatorOptions(shard="0"),
        clock=lambda: NOW,
        get_sync=get_sync,
        patch_sync_status=patch_status,
    )
    ctx.drift.set(("default", "web"), NOW)
    await recheck(ctx, DeletionGuard(), dict, "default", "web")
    assert writes == [], "this shard wrote the status of a sync another shard owns"
    assert ctx.drift.due_at(("default", "web")) is None, "it stayed scheduled in this shard"
