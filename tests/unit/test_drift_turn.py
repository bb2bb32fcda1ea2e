"""Periodic re-checks and spec reconciles take turns without holding their object lock while they wait.

In a benchmark's drift wave a renewal waited 40.9 s: its object's re-check held the object lock
while queued behind hundreds of other re-checks. These tests pin the rule that prevents it.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Callable
from contextlib import AbstractAsyncContextManager

from netscaler_certsync.reconcile.context import OperatorContext, OperatorOptions

KIND = "CertificateSync"
Turn = Callable[[str, str, str], AbstractAsyncContextManager[object]]


async def _nothing(*_: object) -> None:
    return None


def context(**options: int) -> OperatorContext:
    return OperatorContext(
        get_secret=_nothing,  # type: ignore[arg-type]
        list_secrets=_nothing,  # type: ignore[arg-type]
        options=OperatorOptions(**options),
    )


async def _hold(turn: Turn, name: str, release: asyncio.Event) -> object:
    async with turn(KIND, "ns", name) as go:
        await release.wait()
        return go


async def _queued_behind_one(turn: Turn) -> AsyncIterator[tuple[asyncio.Event, asyncio.Task[object]]]:
    """A turn held for "first", and a task waiting for its turn for "second"."""
    release = asyncio.Event()
    first = asyncio.create_task(_hold(turn, "first", release))
    await asyncio.sleep(0)
    second = asyncio.create_task(_hold(turn, "second", release))
    await asyncio.sleep(0.01)
    assert not second.done()  # waiting for the one slot
    yield release, second
    release.set()
    await asyncio.gather(first, second)  # the second gets its turn once the first is done


async def test_a_waiting_recheck_does_not_hold_its_object_lock() -> None:
    ctx = context(drift_concurrency=1)
    async for _, _second in _queued_behind_one(ctx.drift_turn):
        # The waiting re-check holds no object lock: the object's renewal goes ahead at once.
        async with asyncio.timeout(1), ctx.object_lock(KIND, "ns", "second"):
            pass


async def test_spec_reconciles_take_slots_before_their_object_lock() -> None:
    ctx = context(change_concurrency=1)
    async for _, _second in _queued_behind_one(ctx.change_turn):
        async with asyncio.timeout(1), ctx.object_lock(KIND, "ns", "second"):
            pass


async def test_a_recheck_of_an_object_being_reconciled_skips_the_tick() -> None:
    ctx = context(drift_concurrency=2)
    async with ctx.object_lock(KIND, "ns", "busy"), ctx.drift_turn(KIND, "ns", "busy") as go:
        assert go is False


async def test_a_recheck_whose_object_got_busy_while_it_waited_skips() -> None:
    ctx = context(drift_concurrency=1)
    lock = ctx.object_lock(KIND, "ns", "second")

    async def check() -> bool:
        async with ctx.drift_turn(KIND, "ns", "second") as go:
            return bool(go)

    release = asyncio.Event()
    first = asyncio.create_task(_hold(ctx.drift_turn, "first", release))
    await asyncio.sleep(0)
    waiting = asyncio.create_task(check())
    await asyncio.sleep(0.01)
    await lock.acquire()  # a renewal of the waiting one's object starts meanwhile
    release.set()
    await first
    assert await waiting is False
    lock.release()


async def test_at_most_the_configured_number_of_rechecks_run_at_once() -> None:
    ctx = context(drift_concurrency=2)
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


async def test_a_spec_reconcile_gives_its_slot_back_once_its_writes_are_applied() -> None:
    ctx = context(change_concurrency=1)
    saved = asyncio.Event()
    order: list[str] = []

    async def reconcile(name: str) -> None:
        async with ctx.change_turn(KIND, "ns", name):
            order.append(f"{name} applies")
            ctx.applied()  # the appliance has the writes; the save is still to come
            if name == "first":
                await saved.wait()
            order.append(f"{name} done")

    first = asyncio.create_task(reconcile("first"))
    await asyncio.sleep(0)
    second = asyncio.create_task(reconcile("second"))
    await asyncio.wait_for(second, 1)  # it did not wait for the first one's save
    assert ctx.object_lock(KIND, "ns", "first").locked()  # the first still holds its object
    saved.set()
    await first
    assert order == ["first applies", "second applies", "second done", "first done"]


async def test_no_recheck_starts_once_the_operator_is_stopping() -> None:
    """kopf's timers tick on after the cleanup activity closed the clients: a re-check then
    failed with a traceback ("the client has been closed") at every shutdown it fell into."""
    ctx = context()
    async with ctx.drift_turn(KIND, "ns", "idle") as go:
        assert go is True
    ctx.stopping = True
    async with ctx.drift_turn(KIND, "ns", "idle") as go:
        assert go is False
