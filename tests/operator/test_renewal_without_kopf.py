"""A renewal does not wait for kopf to deliver the Secret's mark, and is reconciled once.

After a relist of every watch, kopf hands the `secret-changed` mark's event to its handler only
after it has processed every CertificateSync it listed: seconds at 10,000 (docs/benchmarks.md).
Here kopf's lists and watches of CertificateSyncs are held outright, the longest such wait: the
renewal must still reach the appliance and the status, and when kopf finally delivers the mark
its handler must not reconcile the same change a second time.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Iterator
from typing import Any

import kmock
import pytest

from certsync_devkit.k8s_thread import wait_for
from certsync_devkit.operator_thread import OperatorThread
from netscaler_certsync.k8s import keys
from netscaler_certsync.reconcile.context import OperatorOptions
from tests.operator.harness import Cluster

HOLD_LIMIT = 30.0  # seconds a held request waits at most, so a failing test cannot hang


@pytest.fixture()
def hold_kopf_sync_reads(cluster: Cluster) -> Iterator[Callable[[], None]]:
    """Hold every LIST and WATCH of CertificateSyncs (kopf's; the operator's own re-checks GET
    one sync by name) until released; then the emulator answers them as usual."""
    emulator = cluster.emulator

    def install() -> asyncio.Event:
        released = asyncio.Event()

        async def hold(_: Any) -> None:
            await asyncio.wait_for(released.wait(), HOLD_LIMIT)
            raise NotImplementedError  # nothing of its own to answer: the emulator answers

        syncs = kmock.resource(keys.GROUP, keys.VERSION, keys.SYNC_PLURAL)
        for action in (kmock.action.LIST, kmock.action.WATCH):
            emulator.k[action, syncs] << hold
        return released

    released = emulator.call(install)

    def release() -> None:
        emulator.call(released.set)

    yield release
    release()


def _sync_patches(cluster: Cluster, name: str) -> int:
    path = f"/{keys.SYNC_PLURAL}/{name}"
    return sum(1 for r in cluster.emulator.requests() if r.method == "PATCH" and path in r.path)


@pytest.fixture()
def operator_options() -> OperatorOptions:
    # The production tick: a re-check is never sooner than a tick after the previous one, which
    # must not hold back a second renewal of the same sync.
    return OperatorOptions(health_check_tick_seconds=0.5, drift_check_tick_seconds=30.0)


def test_renewals_reach_the_appliance_while_kopf_lists_every_sync_again(
    cluster: Cluster, operator: OperatorThread, request: pytest.FixtureRequest
) -> None:
    cluster.connection()
    cluster.tls_secret("www")
    cluster.sync("www", certificates=[{"secretName": "www"}], bindings=[{"vserver": "vs_https"}])
    cluster.wait_ready("www")
    release = request.getfixturevalue("hold_kopf_sync_reads")
    syncs = kmock.resource(keys.GROUP, keys.VERSION, keys.SYNC_PLURAL)
    cluster.emulator.call(lambda: cluster.emulator.k.expire_watches(syncs))  # kopf must list again

    for attempt in ("first", "second"):  # the second within a tick of the first's re-check
        renewed = cluster.renew("www")
        wait_for(
            lambda r=renewed: (cluster.certkey("default-www") or {}).get("serial") == r.serial_hex,
            timeout=15,
            what=f"the {attempt} renewed serial on the appliance while kopf cannot list CertificateSyncs",
        )
        obj = cluster.wait_sync(
            "www", lambda o, r=renewed: o["status"]["certificates"][0].get("serial") == r.serial_hex, "status"
        )
        assert obj["status"]["certificates"][0]["state"] == "Synced"
    assert cluster.bound("vs_https") == [("default-www", False)]
    cluster.wait_event("www", "Renewed")
    requests = len(cluster.simulator.requests)

    # kopf lists again and delivers the mark: its handler finds the change answered.
    patches = _sync_patches(cluster, "www")
    release()
    wait_for(lambda: _sync_patches(cluster, "www") > patches, timeout=15, what="kopf handled the mark")
    touched = [r for r in cluster.simulator.requests[requests:] if "default-www" in r.targets or r.is_write]
    assert touched == [], "kopf's handler reconciled the renewal a second time"
