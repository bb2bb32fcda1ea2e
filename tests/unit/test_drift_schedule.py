"""The re-check schedule: due order, no re-check sooner than a tick after the last, prompt wakes,
and one sync's failure not ending anyone else's re-checks. The clock is injected, never slept for."""

from __future__ import annotations

import asyncio
import datetime as dt

from netscaler_certsync.reconcile.drift import DriftSchedule

T0 = dt.datetime(2026, 12, 6, 12, 0, tzinfo=dt.UTC)


def at(seconds: float) -> dt.datetime:
    return T0 + dt.timedelta(seconds=seconds)


def test_syncs_come_due_in_order_and_only_when_due() -> None:
    schedule = DriftSchedule(tick=30)
    schedule.set(("ns", "late"), at(3600))
    schedule.set(("ns", "soon"), at(60))
    assert schedule.take(at(59)) is None
    assert schedule.take(at(4000)) == ("ns", "soon")
    assert schedule.take(at(4000)) == ("ns", "late")
    assert schedule.take(at(4000)) is None
    assert len(schedule) == 0


def test_a_new_time_replaces_the_old_and_sooner_keeps_the_earlier() -> None:
    schedule = DriftSchedule(tick=30)
    key = ("ns", "web")
    schedule.set(key, at(60))
    schedule.set(key, at(3600))  # synced meanwhile: the next is an interval after that sync
    assert schedule.take(at(120)) is None
    schedule.sooner(key, at(7200))  # later than what is scheduled: no change
    schedule.sooner(key, at(100))  # a stalled sync's re-check, sooner
    assert schedule.take(at(100)) == key


def test_no_recheck_sooner_than_a_tick_after_the_last() -> None:
    schedule = DriftSchedule(tick=30)
    key = ("ns", "stalled")
    schedule.set(key, at(0))
    assert schedule.take(at(0)) == key
    schedule.set(key, at(0))  # its status still says it is overdue (its sync keeps failing)
    assert schedule.take(at(29)) is None
    assert schedule.take(at(30)) == key


def test_a_removed_sync_is_never_taken() -> None:
    schedule = DriftSchedule(tick=30)
    schedule.set(("ns", "gone"), at(0))
    schedule.remove(("ns", "gone"))
    assert schedule.take(at(10_000)) is None


def test_reschedules_do_not_pile_up() -> None:
    schedule = DriftSchedule(tick=30)
    for i in range(10_000):  # each renewal of one of two syncs sets a new time
        schedule.set(("ns", f"s{i % 2}"), at(3600 + i))
    assert len(schedule) == 2
    assert len(schedule._heap) <= 2 * 2 + 64 + 1


async def test_a_wake_runs_at_once_not_a_tick_later() -> None:
    schedule = DriftSchedule(tick=3600)  # the workers would otherwise sleep an hour
    checked: asyncio.Queue[tuple[str, str]] = asyncio.Queue()
    stopping = False

    async def check(namespace: str, name: str) -> None:
        await checked.put((namespace, name))

    schedule.set(("ns", "first"), at(0))
    schedule.start(check, lambda: at(0), lambda: stopping, workers=1)
    # Once the first re-check is reported, its worker has gone back to sleep for a tick.
    assert await asyncio.wait_for(checked.get(), timeout=5) == ("ns", "first")
    schedule.sooner(("ns", "woken"), at(0))
    assert await asyncio.wait_for(checked.get(), timeout=5) == ("ns", "woken")
    stopping = True
    await schedule.stop(grace=5)


async def test_one_failing_recheck_does_not_stop_the_others() -> None:
    schedule = DriftSchedule(tick=30)
    done = asyncio.Event()
    seen: list[str] = []

    async def check(namespace: str, name: str) -> None:
        seen.append(name)
        if name == "broken":
            raise RuntimeError("a bug in one sync's re-check")
        done.set()

    now = at(0)
    schedule.set(("ns", "broken"), at(-2))
    schedule.set(("ns", "fine"), at(-1))
    schedule.start(check, lambda: now, lambda: False, workers=1)
    await asyncio.wait_for(done.wait(), timeout=5)
    assert seen == ["broken", "fine"]
    assert schedule.due_at(("ns", "broken")) == at(30), "the failed one is looked at again a tick later"
    assert schedule.alive()
    await schedule.stop(grace=0)


async def test_stop_lets_a_recheck_in_flight_finish() -> None:
    schedule = DriftSchedule(tick=30)
    started, release = asyncio.Event(), asyncio.Event()
    finished: list[str] = []
    stopping = False

    async def check(namespace: str, name: str) -> None:
        started.set()
        await release.wait()
        # The rest of an apply: its save answers a few turns of the loop later.
        for _ in range(5):
            saved = asyncio.Event()
            asyncio.get_running_loop().call_soon(saved.set)
            await saved.wait()
        finished.append(name)

    schedule.set(("ns", "busy"), at(0))
    schedule.start(check, lambda: at(0), lambda: stopping, workers=2)
    await asyncio.wait_for(started.wait(), timeout=5)
    stopping = True
    stopper = asyncio.create_task(schedule.stop(grace=5))
    release.set()  # the re-check ends turns after the stop began: a stop that cancelled it loses it
    await asyncio.wait_for(stopper, timeout=5)
    assert finished == ["busy"]
