"""Periodic re-checks and spec reconciles take turns without holding their object lock while they wait.

In a benchmark's drift wave a renewal waited 40.9 s: its object's re-check held the object lock
while queued behind hundreds of other re-checks. These tests pin the rule that prevents it.
"""

from __future__ import annotations

import asyncio

from netscaler_certsync.reconcile.context import OperatorContext, OperatorOptions

KIND = "CertificateSync"


async def _nothing(*_: object) -> None:
    return None


def context(slots: int) -> OperatorContext:
    return OperatorContext(
        get_secret=_nothing,  # type: ignore[arg-type]
        list_secrets=_nothing,  # type: ignore[arg-type]
        options=OperatorOptions(drift_concurrency=slots),
    )


async def test_a_waiting_recheck_does_not_hold_its_object_lock() -> None:
    ctx = context(slots=1)
    release = asyncio.Event()

    async def busy_recheck() -> None:
        async with ctx.drift_turn(KIND, "ns", "first") as go:
            assert go
            await release.wait()

    async def queued_recheck() -> bool:
        async with ctx.drift_turn(KIND, "ns", "second") as go:
            return go

    first = asyncio.create_task(busy_recheck())
    await asyncio.sleep(0)
    second = asyncio.create_task(queued_recheck())
    await asyncio.sleep(0.01)
    assert not second.done()  # waiting for the one slot...
    # ...without the object lock: the object's renewal goes ahead at once.
    async with asyncio.timeout(1), ctx.object_lock(KIND, "ns", "second"):
        pass
    release.set()
    await first
    assert await second is True


async def test_a_recheck_of_an_object_being_reconciled_skips_the_tick() -> None:
    ctx = context(slots=2)
    async with ctx.object_lock(KIND, "ns", "busy"), ctx.drift_turn(KIND, "ns", "busy") as go:
        assert go is False


async def test_a_recheck_whose_object_got_busy_while_it_waited_skips() -> None:
    ctx = context(slots=1)
    release = asyncio.Event()

    async def busy_recheck() -> None:
        async with ctx.drift_turn(KIND, "ns", "other") as go:
            assert go
            await release.wait()

    async def waiting_recheck() -> bool:
        async with ctx.drift_turn(KIND, "ns", "target") as go:
            return go

    other = asyncio.create_task(busy_recheck())
    await asyncio.sleep(0)
    waiting = asyncio.create_task(waiting_recheck())
    await asyncio.sleep(0.01)
    lock = ctx.object_lock(KIND, "ns", "target")
    await lock.acquire()  # a renewal of the target starts meanwhile
    release.set()
    await other
    assert await waiting is False
    lock.release()


async def test_at_most_the_configured_number_of_rechecks_run_at_once() -> None:
    ctx = context(slots=2)
    running = peak = 0

    async def recheck(name: str) -> None:
        nonlocal running, peak
        async with ctx.drift_turn(KIND, "ns", name) as go:
            assert go
            running += 1
            peak = max(peak, running)
            await asyncio.sleep(0.01)
            running -= 1

    await asyncio.gather(*(recheck(f"s{i}") for i in range(10)))
    assert peak == 2


async def test_spec_reconciles_take_slots_before_their_object_lock() -> None:
    ctx = OperatorContext(
        get_secret=_nothing,  # type: ignore[arg-type]
        list_secrets=_nothing,  # type: ignore[arg-type]
        options=OperatorOptions(change_concurrency=1),
    )
    release = asyncio.Event()

    async def busy() -> None:
        async with ctx.change_turn(KIND, "ns", "first"):
            await release.wait()

    async def queued() -> None:
        async with ctx.change_turn(KIND, "ns", "second"):
            pass

    first = asyncio.create_task(busy())
    await asyncio.sleep(0)
    second = asyncio.create_task(queued())
    await asyncio.sleep(0.01)
    assert not second.done()
    async with asyncio.timeout(1), ctx.object_lock(KIND, "ns", "second"):
        pass  # a renewal of the queued object is not held up by the queue
    release.set()
    await asyncio.gather(first, second)
