"""Group saves (engine/saves.py): applies that queued behind each other share one `save ns config`.

What a user would notice: the appliance saves once for a burst of CertificateSyncs instead of
once each, every one of them still reports its configuration saved (or the save's error), a
renewal does not wait for a queue of other changes to be saved, and nothing is left unsaved.
"""

from __future__ import annotations

import asyncio

import pytest

from certsync_devkit.pki import TestPKI
from netscaler_certsync.engine import (
    ApplianceResult,
    Appliances,
    CertState,
    DesiredCertificate,
    Priority,
    Records,
    SyncOptions,
    appliance_key,
    sync_appliance,
)
from netscaler_certsync.nitro import Credentials, NitroClient, TLSConfig
from netscaler_certsync.simulator import Simulator
from netscaler_certsync.simulator.faults import FaultRule
from tests.support.engine import appliance, desired
from tests.support.waiting import until


def cert(pki: TestPKI, i: int) -> list[DesiredCertificate]:
    return [desired(pki.leaf(f"site{i}.example.com"), secret=f"site{i}")]


@pytest.fixture
def engine() -> Appliances:
    """One operator's engine state (a fresh one per test)."""
    return Appliances()


async def apply(
    sim: Simulator,
    engine: Appliances,
    owner: str,
    certs: list[DesiredCertificate],
    priority: Priority = Priority.CHANGE,
) -> ApplianceResult:
    client = NitroClient(sim.url, Credentials("nsroot", "nsroot"), tls=TLSConfig(ca_pem=sim.ca_pem))
    async with client:
        options = SyncOptions(owner=owner, priority=priority)
        return await sync_appliance(
            client, certs, Records(), options, appliances=engine, appliance=appliance_key(sim.url)
        )


def saves(sim: Simulator) -> int:
    return sum(1 for r in sim.requests if r.resource == "nsconfig" and r.is_write)


async def test_a_burst_of_applies_is_saved_once_and_each_reports_it_saved(
    sim: Simulator, engine: Appliances, pki: TestPKI
) -> None:
    results = await asyncio.gather(*(apply(sim, engine, f"ns/sync{i}", cert(pki, i)) for i in range(6)))
    assert all(r.certificates[0].state == CertState.SYNCED and r.saved for r in results)
    assert saves(sim) == 1
    assert appliance(sim)["configchanged"] is False


async def test_an_apply_alone_is_saved_at_once(sim: Simulator, engine: Appliances, pki: TestPKI) -> None:
    for i in range(3):
        assert (await apply(sim, engine, f"ns/sync{i}", cert(pki, i))).saved
        assert saves(sim) == i + 1 and appliance(sim)["configchanged"] is False


async def test_a_failed_save_reaches_every_member_and_the_next_apply_saves(
    sim: Simulator, engine: Appliances, pki: TestPKI
) -> None:
    sim.faults.add(
        FaultRule(kind="error", resource="nsconfig", method="POST", status=599, errorcode=3000, times=1)
    )
    certs = [cert(pki, i) for i in range(3)]
    results = await asyncio.gather(*(apply(sim, engine, f"ns/sync{i}", certs[i]) for i in range(3)))
    for r in results:
        assert not r.saved and r.records.unsaved
        # "not saved" is a field of the result, not one of the clean-up warnings.
        assert r.not_saved is not None and "saving the configuration failed" in r.not_saved
        assert r.warnings == ()
    assert appliance(sim)["configchanged"] is True
    # The next apply of one of them has nothing to write, but knows its changes are unsaved.
    client = NitroClient(sim.url, Credentials("nsroot", "nsroot"), tls=TLSConfig(ca_pem=sim.ca_pem))
    async with client:
        again = await sync_appliance(
            client,
            certs[0],
            results[0].records,
            SyncOptions(owner="ns/sync0"),
            appliances=engine,
            appliance=appliance_key(sim.url),
        )
    assert again.saved and again.writes == 1  # the save, nothing else
    assert appliance(sim)["configchanged"] is False


async def test_a_save_refused_as_busy_is_made_once_the_other_save_is_done(
    sim: Simulator, engine: Appliances, pki: TestPKI
) -> None:
    # Someone else's save is in progress: the appliance answers 1461 (twice here).
    sim.faults.add(
        FaultRule(kind="error", resource="nsconfig", method="POST", status=599, errorcode=1461, times=2)
    )
    results = await asyncio.gather(*(apply(sim, engine, f"ns/sync{i}", cert(pki, i)) for i in range(2)))
    assert all(r.saved and not r.warnings for r in results)
    assert appliance(sim)["configchanged"] is False


@pytest.mark.parametrize("cancelled", [0, 2], ids=["first-member", "member-whose-client-saves"])
async def test_a_member_cancelled_while_waiting_does_not_stop_the_save(
    sim: Simulator, engine: Appliances, pki: TestPKI, cancelled: int
) -> None:
    # The save is slowed so that the cancellation most likely finds it in flight; should it come
    # just before, the member leaves the group before the save: either way the others are saved.
    sim.faults.add(FaultRule(kind="latency", resource="nsconfig", method="POST", delay=0.5, times=1))
    holder = engine[appliance_key(sim.url)]
    await holder.lock.acquire()  # an apply in progress: all three queue behind it...
    tasks = [asyncio.create_task(apply(sim, engine, f"ns/sync{i}", cert(pki, i))) for i in range(3)]
    await until(lambda: holder.lock.waiting(Priority.CHANGE) == 3)
    holder.lock.release()  # ...write in turn, and share one save
    await until(lambda: holder.saves.saving)
    tasks[cancelled].cancel()
    rest = await asyncio.gather(*(t for i, t in enumerate(tasks) if i != cancelled))
    assert all(r.saved for r in rest), [r.warnings for r in rest]
    assert tasks[cancelled].cancelled()
    assert appliance(sim)["configchanged"] is False


async def test_a_renewal_is_saved_before_queued_changes_are_written(
    sim: Simulator, engine: Appliances, pki: TestPKI
) -> None:
    finished: list[str] = []
    number = {"change-0": 0, "change-1": 1, "change-2": 2, "change-3": 3, "renewal": 4}

    async def run(name: str, priority: Priority) -> None:
        result = await apply(sim, engine, f"ns/{name}", cert(pki, number[name]), priority)
        assert result.saved
        finished.append(name)

    lock = engine[appliance_key(sim.url)].lock
    await lock.acquire()  # an apply in progress: everything below queues behind it
    changes = [asyncio.create_task(run(f"change-{i}", Priority.CHANGE)) for i in range(4)]
    await until(lambda: lock.waiting(Priority.CHANGE) == 4)
    renewal = asyncio.create_task(run("renewal", Priority.RENEWAL))
    await until(lambda: lock.waiting(Priority.RENEWAL) == 1)
    lock.release()
    await asyncio.gather(renewal, *changes)
    assert finished.index("renewal") < min(finished.index(f"change-{i}") for i in (1, 2, 3))
    # The renewal writes first; change-0 writes while the renewal's save queues for the lock. One
    # save right after the renewal (it also saved what change-0 wrote), one for the changes that had
    # queued, change-0 included (it joined their group when it released the lock).
    assert saves(sim) == 2
    assert appliance(sim)["configchanged"] is False
