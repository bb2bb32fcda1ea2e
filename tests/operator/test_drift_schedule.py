"""Periodic re-checks come from one schedule, not from a kopf timer per CertificateSync.

A kopf timer is an asyncio task (and kopf's daemon records) for every object, alive as long as
the object: about 23 KiB each, the largest share of the operator's memory per sync, for a check
that runs every 10 minutes. It also outlives the object in a shard: a sync relabelled into another
shard arrives here as DELETED, but kopf kept its timer firing, so this shard went on re-checking
(and writing the status of) a sync another shard now owns. The operator's clock is moved ahead
(injected) to make re-checks due, never slept for.
"""

from __future__ import annotations

import asyncio
import datetime as dt
from collections.abc import Callable
from typing import Any

import pytest

from certsync_devkit import k8s_builders as build
from certsync_devkit.operator_thread import OperatorThread
from netscaler_certsync.k8s import keys
from netscaler_certsync.reconcile.context import OperatorOptions
from netscaler_certsync.timestamps import parse_rfc3339, utc_now
from tests.operator.harness import NS, Cluster

G, V = keys.GROUP, keys.VERSION


@pytest.fixture()
def operator_options() -> OperatorOptions:
    return OperatorOptions(
        shard="0", health_check_tick_seconds=0.5, drift_check_tick_seconds=0.5, max_retry_delay_seconds=2.0
    )


def _in_shard(obj: dict[str, Any], shard: str = "0") -> dict[str, Any]:
    obj["metadata"]["labels"] = {keys.SHARD_LABEL: shard}
    return obj


def _setup(cluster: Cluster, names: list[str]) -> None:
    cluster.connection(labels={keys.SHARD_LABEL: "0"})
    crs = cluster.crs
    for name in names:
        cluster.tls_secret(name, labels={keys.SHARD_LABEL: "0"})
        spec = {"connectionRefs": [{"name": "adc"}], "certificates": [{"secretName": name}]}
        crs.create_namespaced_custom_object(
            G, V, NS, keys.SYNC_PLURAL, _in_shard(build.certificate_sync(name, spec))
        )


def _ahead(hours: int) -> Callable[[], dt.datetime]:
    return lambda: utc_now() + dt.timedelta(hours=hours)


def _synced_after(obj: dict[str, Any], when: dt.datetime) -> bool:
    last = (obj.get("status") or {}).get("lastSyncTime")
    return bool(last) and parse_rfc3339(str(last)) > when


def _last_sync(cluster: Cluster, name: str) -> str:
    return str(cluster.get_sync(name)["status"].get("lastSyncTime"))


def test_a_sync_moved_to_another_shard_is_no_longer_rechecked_here(
    cluster: Cluster, operator: OperatorThread
) -> None:
    _setup(cluster, ["stays", "moves"])
    cluster.wait_ready("stays")
    cluster.wait_ready("moves")
    cluster.patch_sync("moves", {"metadata": {"labels": {keys.SHARD_LABEL: "1"}}})  # no shard 1 runs
    cluster.request_sync("stays", value="after-the-move")  # the move's event is handled before this
    before = _last_sync(cluster, "moves")
    writes = len([r for r in cluster.simulator.requests if r.is_write])

    # Two rounds of re-checks (every sync is due at each, hours after its last sync): the
    # sync that stayed is re-checked in each, the moved one in neither.
    for hours in (2, 4):
        operator.ctx.clock = _ahead(hours)
        cluster.wait_sync(
            "stays",
            lambda o, h=hours: _synced_after(o, utc_now() + dt.timedelta(hours=h - 1)),
            f"stays re-checked with the clock {hours} h ahead",
        )
    assert _last_sync(cluster, "moves") == before, "this shard wrote the status of a sync it no longer owns"
    assert len([r for r in cluster.simulator.requests if r.is_write]) == writes, "a re-check wrote"


def _tasks_outside_kopf_workers() -> Any:
    async def count() -> int:
        # kopf's per-object workers, their wait for the next event and their Event posters are
        # transient: they end seconds after an object's last event. Anything else stays for good.
        transient = ("worker", "Queue.get", "_poster_worker")
        return sum(
            1 for t in asyncio.all_tasks() if getattr(t.get_coro(), "__qualname__", "") not in transient
        )

    return count()


def test_rechecks_take_no_task_per_sync(cluster: Cluster, operator: OperatorThread) -> None:
    names = [f"s{i}" for i in range(32)]
    _setup(cluster, names[:2])
    for name in names[:2]:
        cluster.wait_ready(name)
    few = operator.call(_tasks_outside_kopf_workers())
    crs = cluster.crs
    for name in names[2:]:
        cluster.tls_secret(name, labels={keys.SHARD_LABEL: "0"})
        spec = {"connectionRefs": [{"name": "adc"}], "certificates": [{"secretName": name}]}
        crs.create_namespaced_custom_object(
            G, V, NS, keys.SYNC_PLURAL, _in_shard(build.certificate_sync(name, spec))
        )
    for name in names[2:]:
        cluster.wait_ready(name)
    many = operator.call(_tasks_outside_kopf_workers())
    assert many - few < 10, f"{many - few} more tasks for 30 more CertificateSyncs"
