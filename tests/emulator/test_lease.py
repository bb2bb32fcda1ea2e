"""The Lease elector (k8s/lease.py) against the emulated API, on fake monotonic clocks.

Each candidate has its own clock (processes on different nodes); time moves only when a test
moves it, so every expiry, deadline and grace is checked at its exact edge.
"""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest

from certsync_devkit.k8s_emulator import RealisticEmulator
from certsync_devkit.k8s_thread import EmulatorThread
from netscaler_certsync.k8s import ClusterAccess, KubeClient
from netscaler_certsync.k8s.lease import ElectorThread, LeaseElector, LeaseSettings

LEASES = "/apis/coordination.k8s.io/v1/namespaces/default/leases"


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


@pytest.fixture()
async def kube(k8s: RealisticEmulator) -> AsyncIterator[KubeClient]:
    async with KubeClient(ClusterAccess(server=str(k8s.url).rstrip("/"), token="t")) as api:
        yield api


def candidate(kube: KubeClient, identity: str, clock: Clock, **timings: float) -> LeaseElector:
    settings = LeaseSettings(name="certsync", namespace="default", identity=identity, **timings)
    return LeaseElector(kube, settings, clock=clock)


async def lease(kube: KubeClient) -> dict:
    return (await kube.get_object("coordination.k8s.io", "v1", "leases", "default", "certsync"))["spec"]


async def test_first_candidate_creates_the_lease_and_may_write_at_once(kube: KubeClient) -> None:
    clock = Clock()
    a = candidate(kube, "a", clock)
    assert await a.try_acquire_or_renew()
    spec = await lease(kube)
    assert spec["holderIdentity"] == "a" and spec["leaseDurationSeconds"] == 15
    assert a.write_budget() == pytest.approx(15.0)  # a new Lease had no holder: no grace


async def test_a_held_lease_is_not_taken_before_it_expired_by_the_candidates_own_clock(
    kube: KubeClient,
) -> None:
    ca, cb = Clock(), Clock()
    a, b = candidate(kube, "a", ca), candidate(kube, "b", cb)
    assert await a.try_acquire_or_renew()
    assert not await b.try_acquire_or_renew()  # b first sees a's renewTime now (cb = 1000)
    cb.now += 14.9
    assert not await b.try_acquire_or_renew()
    cb.now += 0.2  # 15.1 s since b saw the last renewal: a is gone
    assert await b.try_acquire_or_renew()
    spec = await lease(kube)
    assert spec["holderIdentity"] == "b" and spec["leaseTransitions"] == 1


async def test_a_renewal_restarts_the_candidates_expiry_count(kube: KubeClient) -> None:
    ca, cb = Clock(), Clock()
    a, b = candidate(kube, "a", ca), candidate(kube, "b", cb)
    assert await a.try_acquire_or_renew()
    assert not await b.try_acquire_or_renew()
    cb.now += 10
    ca.now += 10
    assert await a.try_acquire_or_renew()  # a renews: a new renewTime
    assert not await b.try_acquire_or_renew()  # b sees the change now
    cb.now += 10  # 20 s since b first saw a, but only 10 since the renewal
    assert not await b.try_acquire_or_renew()


async def test_after_taking_over_an_expired_lease_writes_wait_for_the_grace(kube: KubeClient) -> None:
    ca, cb = Clock(), Clock()
    a, b = candidate(kube, "a", ca), candidate(kube, "b", cb, takeover_grace=2.0)
    assert await a.try_acquire_or_renew()
    assert not await b.try_acquire_or_renew()
    cb.now += 15.5
    assert await b.try_acquire_or_renew()
    assert b.write_budget() == 0.0 and b.grace_left() == pytest.approx(2.0)
    cb.now += 2.0
    assert b.write_budget() == pytest.approx(13.0)  # the lease ends 15 s after the take was sent


async def test_after_a_release_the_next_candidate_takes_over_at_once_without_grace(kube: KubeClient) -> None:
    ca, cb = Clock(), Clock()
    a, b = candidate(kube, "a", ca), candidate(kube, "b", cb, takeover_grace=2.0)
    assert await a.try_acquire_or_renew()
    assert not await b.try_acquire_or_renew()
    assert await a.release()
    assert a.write_budget() == 0.0
    assert not (await lease(kube)).get("holderIdentity")
    assert await b.try_acquire_or_renew()  # no waiting for the old lease to run out
    assert b.write_budget() == pytest.approx(15.0)


async def test_the_fence_closes_at_the_renew_deadline_and_budgets_up_to_the_lease_end(
    kube: KubeClient,
) -> None:
    clock = Clock()
    a = candidate(kube, "a", clock)
    assert await a.try_acquire_or_renew()
    clock.now += 9.5
    assert a.write_budget() == pytest.approx(5.5)  # may start; must be done when the lease ends
    assert not a.deadline_passed()
    clock.now += 0.5  # 10 s without a successful renewal
    assert a.write_budget() == 0.0 and a.deadline_passed()


async def test_a_renewal_keeps_validity_from_when_it_was_sent(kube: KubeClient) -> None:
    clock = Clock()
    a = candidate(kube, "a", clock)
    assert await a.try_acquire_or_renew()
    clock.now += 9
    assert await a.try_acquire_or_renew()
    clock.now += 9  # 18 s after the take, 9 after the renewal
    assert a.write_budget() == pytest.approx(6.0)


async def test_of_two_racing_candidates_only_one_wins(kube: KubeClient) -> None:
    ca, cb = Clock(), Clock()
    a, b = candidate(kube, "a", ca), candidate(kube, "b", cb)
    assert await a.try_acquire_or_renew()
    assert await a.release()
    # Both read the released Lease, both try to take it with that resourceVersion.
    first = await b.try_acquire_or_renew()
    second = await a.try_acquire_or_renew()
    assert (first, second) == (True, False)
    assert (await lease(kube))["holderIdentity"] == "b"


async def test_a_holder_that_sees_another_holder_stops_at_once(kube: KubeClient) -> None:
    ca, cb = Clock(), Clock()
    a, b = candidate(kube, "a", ca), candidate(kube, "b", cb)
    assert await a.try_acquire_or_renew()
    assert not await b.try_acquire_or_renew()
    cb.now += 16  # a is paused (its clock stands still), b takes over
    assert await b.try_acquire_or_renew()
    assert not await a.try_acquire_or_renew()
    assert not a.holding and a.write_budget() == 0.0


async def test_timings_must_nest() -> None:
    with pytest.raises(ValueError, match="lease duration > renew deadline > retry period"):
        LeaseSettings(name="l", namespace="d", identity="i", lease_duration=10, renew_deadline=10)


def test_renewals_go_on_while_the_operators_loop_is_busy(emulator: EmulatorThread) -> None:
    """The elector has its own thread, loop and client: the operator's thread busy with pure
    Python for longer than the renew deadline (as during a relist of thousands of objects)
    does not make it lose the Lease."""
    import asyncio
    import threading
    import time

    settings = LeaseSettings(
        name="busy",
        namespace="default",
        identity="a",
        lease_duration=1.5,
        renew_deadline=1.0,
        retry_period=0.2,
    )
    acquired, lost = threading.Event(), threading.Event()
    thread = ElectorThread(
        ClusterAccess(server=emulator.url, token="t"), settings, on_acquired=acquired.set, on_lost=lost.set
    ).start()
    try:
        assert acquired.wait(10)
        before = thread.renewals

        async def busy_loop() -> None:
            end = time.monotonic() + 2.5  # well past the renew deadline
            while time.monotonic() < end:
                sum(range(1000))  # never yields to the loop

        asyncio.run(busy_loop())
        assert not lost.is_set()
        assert thread.renewals >= before + 5  # kept renewing every retry period meanwhile
        assert thread.write_budget() > 0
    finally:
        thread.stop(release=True)
