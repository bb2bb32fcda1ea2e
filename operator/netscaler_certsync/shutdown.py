"""kopf until SIGTERM/SIGINT (or its own end), with a stop that drops retries sleeping out their
delay: the one way `netscaler-certsync run` runs kopf, with leader election (leadership.py) and
without (runtime.py).

On a stop kopf lets the handlers in flight finish (their applies, saves and status patches, within
`settings.queueing.exit_timeout`); a retry sleeping out its delay is dropped instead of holding the
exit for that timeout: the next start (or the next leader) re-plans every object from the
appliance. See docs/decisions/141-sigterm-drops-sleeping-retries.md.
"""

from __future__ import annotations

import asyncio
import signal
from typing import Any

import kopf

__all__ = ["run_kopf", "wake_sleeping_retries"]

#: Seconds between wake-ups of kopf's sleeping workers while it stops (bounded by its exit_timeout).
_WAKE_INTERVAL = 0.1


def wake_sleeping_retries() -> int:
    """Wake kopf's per-object workers that sleep out a retry delay; how many were asleep.

    kopf stops by queueing an end-of-stream marker behind each object's events and waiting up to
    `exit_timeout` for its workers; a worker sleeping out a handler's retry delay wakes only on a
    new event of its object (its stream's "pressure"), which no longer comes, so it would hold the
    exit (and, when elected, the Lease's release in the cleanup) for the whole timeout. Setting
    that event ends the sleep as a new event would: kopf skips the retry, reads the marker and the
    worker ends. A worker running a handler is not affected (the event only shortens sleeps).
    kopf 1.45 names these tasks "worker for <object>" and keeps the event in `pressure`; should
    that change, nothing is woken and kopf's exit_timeout bounds the stop as before.
    """
    woken = 0
    for task in asyncio.all_tasks():
        if not task.get_name().startswith("worker for "):
            continue
        frame = getattr(task.get_coro(), "cr_frame", None)
        pressure = frame.f_locals.get("pressure") if frame is not None else None
        if isinstance(pressure, asyncio.Event) and not pressure.is_set():
            pressure.set()
            woken += 1
    return woken


async def run_kopf(registry: kopf.OperatorRegistry, stopping: asyncio.Event, **operator: Any) -> None:
    """`kopf.operator(registry=registry, **operator)` until it ends or `stopping` is set.

    SIGTERM/SIGINT set `stopping`: before kopf runs, the caller's handlers (if any) get them; once
    it runs, ours replace the ones kopf installs as it starts, so that a stop also wakes the
    retries kopf would wait out. Cleanup handlers registered before this call run, in order,
    before kopf's stop flag is released.
    """
    loop = asyncio.get_running_loop()
    kopf_stop = asyncio.Event()

    @kopf.on.startup(registry=registry)
    async def own_signals(**_: object) -> None:
        for sig in (signal.SIGTERM, signal.SIGINT):
            loop.add_signal_handler(sig, stopping.set)

    @kopf.on.cleanup(registry=registry)
    async def release_stop_flag(**_: object) -> None:
        # Stopped by a signal that came before `own_signals`, kopf still waits on this flag:
        # unset, its waiter would hold the exit for kopf's 5 s grace for stray tasks.
        kopf_stop.set()

    running = asyncio.create_task(kopf.operator(registry=registry, stop_flag=kopf_stop, **operator))
    stop_wait = asyncio.create_task(stopping.wait())
    try:
        await asyncio.wait([running, stop_wait], return_when=asyncio.FIRST_COMPLETED)
    finally:
        stop_wait.cancel()
    kopf_stop.set()
    # Until kopf is done: a retry sleeping at shutdown is dropped, so the process (and the Lease's
    # release) waits only for the handlers in flight.
    while not running.done():
        wake_sleeping_retries()
        await asyncio.wait([running], timeout=_WAKE_INTERVAL)
    await running
