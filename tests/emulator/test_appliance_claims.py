"""A write refused by another process's claim on the appliance (shards, k8s/lease.py
`ApplianceClaims`) is retried when that claim may be ours, not after a fixed 30 s.

Two processes on their own fake monotonic clocks against the emulated API: the refusal's retry
delay is when the holder's claim would expire unless renewed, by the refused process's clock.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from dataclasses import replace

import httpx
import pytest

from certsync_devkit.k8s_emulator import RealisticEmulator
from netscaler_certsync.domain import reasons
from netscaler_certsync.engine.errors import to_aborted
from netscaler_certsync.k8s import ClusterAccess, KubeClient, keys
from netscaler_certsync.k8s.lease import ApplianceClaims, LeaseElector, LeaseSettings
from netscaler_certsync.leadership import claim_fence
from netscaler_certsync.nitro.errors import WriteFenced
from netscaler_certsync.nitro.wire import Call
from netscaler_certsync.reconcile.failures import appliance_failure

APPLIANCE = "https://10.0.0.1"
CALL = Call("POST", "sslcertkey", "add", name="www")


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


@pytest.fixture()
async def kube(k8s: RealisticEmulator) -> AsyncIterator[KubeClient]:
    async with KubeClient(ClusterAccess(server=str(k8s.url).rstrip("/"), token="t")) as api:
        yield api


async def _retry_after(guard: object) -> float | None:
    """The retry delay a CertificateSync gets when its apply is refused by the claim."""
    with pytest.raises(WriteFenced) as refused:
        await guard(APPLIANCE, CALL)  # type: ignore[operator]
    error = appliance_failure(to_aborted(refused.value), APPLIANCE)
    assert error.reason == reasons.ApplianceError and not error.stalled
    assert "claimed by op-s0" in error.message
    return error.retry_after


async def test_a_claimed_appliance_is_retried_when_the_claim_may_expire(kube: KubeClient) -> None:
    mine, theirs = Clock(), Clock()
    settings = LeaseSettings(
        name="certsync-shard-1", namespace="default", identity="op-s1", claims="certsync"
    )
    claims = ApplianceClaims(settings, clock=mine)
    claims.attach(kube, asyncio.get_running_loop())
    owner = LeaseElector(
        kube, replace(settings, name=claims.lease_name(APPLIANCE), identity="op-s0"), clock=theirs
    )
    assert await owner.try_acquire_or_renew()
    guard = claim_fence(claims)

    assert await _retry_after(guard) == pytest.approx(15.0)  # its renewal first seen just now
    mine.now += 6  # no renewal seen since: 9 s until it expires by our clock
    assert await _retry_after(guard) == pytest.approx(9.0)
    theirs.now += 7
    assert await owner.try_acquire_or_renew()  # the owner renews: a full lease duration again
    mine.now += 1
    assert await _retry_after(guard) == pytest.approx(15.0)
    mine.now += 14.5
    assert await _retry_after(guard) == pytest.approx(2.0), "never sooner than the retry period"

    assert await owner.release()  # the old shard drains: the claim is taken at the next try
    assert await guard(APPLIANCE, CALL) == pytest.approx(15.0)


async def test_a_claim_lease_says_which_appliance_it_is_for_and_is_listed_by_its_label(
    kube: KubeClient, writer: httpx.AsyncClient
) -> None:
    settings = LeaseSettings(
        name="certsync-shard-0", namespace="default", identity="op-s0", claims="certsync"
    )
    claims = ApplianceClaims(settings)
    claims.attach(kube, asyncio.get_running_loop())
    assert await claims.claim(APPLIANCE) > 0
    listed = await writer.get(  # kubectl get lease -l netscaler.certsync.dev/appliance-claim
        "/apis/coordination.k8s.io/v1/namespaces/default/leases", params={"labelSelector": keys.CLAIM_LABEL}
    )
    (lease,) = listed.json()["items"]
    assert lease["metadata"]["name"] == claims.lease_name(APPLIANCE)
    assert lease["metadata"]["annotations"][keys.CLAIM_APPLIANCE_ANNOTATION] == APPLIANCE
    assert lease["spec"]["holderIdentity"] == "op-s0"
