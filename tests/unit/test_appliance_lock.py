"""The appliance lock grants turns by priority: a renewal never queues behind drift re-checks."""

from __future__ import annotations

import asyncio

from netscaler_certsync.engine.appliances import Appliances
from netscaler_certsync.engine.locks import ApplianceLock, Priority


async def _turns(lock: ApplianceLock, arrivals: list[tuple[str, Priority]]) -> list[str]:
    order: list[str] = []

    async def worker(name: str, priority: Priority) -> None:
        await lock.acquire(priority)
        order.append(name)
        await asyncio.sleep(0)
        lock.release()

    await lock.acquire()  # held while everyone queues up
    tasks = []
    for name, priority in arrivals:
        tasks.append(asyncio.create_task(worker(name, priority)))
        await asyncio.sleep(0)  # arrive in this order
    lock.release()
    await asyncio.gather(*tasks)
    return order


async def test_renewals_go_first_then_changes_then_drift_each_in_arrival_order() -> None:
    arrivals = [
        ("drift-1", Priority.BACKGROUND),
        ("create-1", Priority.CHANGE),
        ("drift-2", Priority.BACKGROUND),
        ("renewal-1", Priority.RENEWAL),
        ("create-2", Priority.CHANGE),
        ("renewal-2", Priority.RENEWAL),
    ]
    order = await _turns(ApplianceLock(), arrivals)
    assert order == ["renewal-1", "renewal-2", "create-1", "create-2", "drift-1", "drift-2"]


async def test_a_cancelled_waiter_gives_up_its_place_and_the_lock_still_works() -> None:
    lock = ApplianceLock()
    await lock.acquire()
    waiter = asyncio.create_task(lock.acquire(Priority.RENEWAL))
    await asyncio.sleep(0)
    assert lock.waiting(Priority.RENEWAL) == 1
    waiter.cancel()
    await asyncio.gather(waiter, return_exceptions=True)
    lock.release()
    assert not lock.locked
    await asyncio.wait_for(lock.acquire(Priority.BACKGROUND), 1)
    assert lock.locked


async def test_a_waiter_cancelled_just_as_its_turn_came_passes_the_turn_on() -> None:
    lock = ApplianceLock()
    await lock.acquire()
    first = asyncio.create_task(lock.acquire(Priority.RENEWAL))
    second = asyncio.create_task(lock.acquire(Priority.BACKGROUND))
    await asyncio.sleep(0)
    lock.release()  # grants `first`...
    first.cancel()  # ...which is cancelled before it runs again
    await asyncio.gather(first, return_exceptions=True)
    await asyncio.wait_for(second, 1)  # the turn went on instead of being lost
    assert lock.locked


async def test_a_turn_releases_on_error() -> None:
    lock = Appliances()["https://adc.example#default"].lock
    try:
        async with lock.turn(Priority.RENEWAL):
            raise RuntimeError("boom")
    except RuntimeError:
        pass
    async with asyncio.timeout(1), lock.turn(Priority.BACKGROUND):
        pass


async def test_two_operators_never_share_an_appliance_lock() -> None:
    """Each operator (each `Appliances`) has its own lock per appliance; one operator, one lock."""
    key = "https://adc.example#default"
    mine, theirs = Appliances(), Appliances()
    async with mine[key].lock.turn():
        assert mine[key].lock.locked and not theirs[key].lock.locked
        async with asyncio.timeout(1), theirs[key].lock.turn():
            pass
    assert mine[key] is mine[key]
