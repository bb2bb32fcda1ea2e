"""When each CertificateSync is next re-checked: one schedule and one small pool of workers for all.

A periodic re-check (drift: a certificate or binding changed by hand on the appliance; a stalled
sync whose fix may come from outside Kubernetes; a wake from another sync) used to be a kopf
timer per object: an asyncio task, its coroutine frames and kopf's daemon records for every
CertificateSync, about 23 KiB each, even though a sync is re-checked every 10 minutes by default.
Here a sync is one heap entry (when, key); `run` works them off with `workers` tasks in total.

Due times come from the watch (`lastSyncTime` + `driftCheckIntervalSeconds`, set by the kopf
event handler) and from `OperatorContext.schedule_recheck`/`wake` (sooner). A sync is never
re-checked sooner than `tick` after its previous re-check, as the timer never fired more often
than its interval: a stalled sync whose status does not move cannot loop.

Times are the operator's clock (`OperatorContext.clock`, injected in tests); the workers sleep
at most `tick` real seconds between looks, and `sooner` with a time already due wakes them.
"""

from __future__ import annotations

import asyncio
import contextlib
import datetime as dt
import heapq
import logging
from collections.abc import Awaitable, Callable

logger = logging.getLogger(__name__)

Key = tuple[str, str]  # (namespace, name)
#: Re-checks one sync: reads it afresh, decides whether it is still due, reconciles it.
Check = Callable[[str, str], Awaitable[None]]


class DriftSchedule:
    def __init__(self, tick: float = 30.0) -> None:
        self.tick = tick
        self._due: dict[Key, dt.datetime] = {}
        self._heap: list[tuple[dt.datetime, Key]] = []  # stale entries are skipped when popped
        self._ran: dict[Key, dt.datetime] = {}  # the last re-check's start: the floor of the next
        self._nudge: asyncio.Event | None = None
        self._runner: asyncio.Task[None] | None = None
        self.checks = 0

    def __len__(self) -> int:
        return len(self._due)

    def due_at(self, key: Key) -> dt.datetime | None:
        return self._due.get(key)

    def set(self, key: Key, when: dt.datetime | None, *, floor: bool = True) -> None:
        """The next re-check of `key` is at `when` (None: none until something schedules one).

        `floor=False`: a change outside the sync (its Secret's), not a status that may not
        change, so not held to a tick after the previous re-check."""
        if when is None:
            self._due.pop(key, None)
            return
        earliest = self._ran.get(key)
        if floor and earliest is not None and when < earliest:
            when = earliest
        self._due[key] = when
        heapq.heappush(self._heap, (when, key))
        if len(self._heap) > 2 * len(self._due) + 64:  # many reschedules: drop the stale entries
            self._heap = [(w, k) for k, w in self._due.items()]
            heapq.heapify(self._heap)
        if self._heap[0] == (when, key):  # sooner than the workers sleep for: wake them
            self._wake_workers()

    def sooner(self, key: Key, when: dt.datetime, *, floor: bool = True) -> None:
        """Re-check `key` by `when` at the latest (an earlier due time stays)."""
        current = self._due.get(key)
        if current is None or when < current:
            self.set(key, when, floor=floor)

    def remove(self, key: Key) -> None:
        """The sync is gone (deleted, or relabelled out of this shard): no more re-checks."""
        self._due.pop(key, None)
        self._ran.pop(key, None)

    def take(self, now: dt.datetime) -> Key | None:
        """The next sync due by `now`, no longer scheduled (its re-check reschedules it)."""
        while self._heap and self._heap[0][0] <= now:
            when, key = heapq.heappop(self._heap)
            if self._due.get(key) == when:
                del self._due[key]
                # The floor: the next re-check comes at least a tick after this one's start.
                self._ran[key] = now + dt.timedelta(seconds=self.tick)
                return key
        return None

    def seconds_to_next(self, now: dt.datetime) -> float:
        """Real seconds to sleep before the next look: at most a tick."""
        while self._heap and self._due.get(self._heap[0][1]) != self._heap[0][0]:
            heapq.heappop(self._heap)
        if not self._heap:
            return self.tick
        return max(0.0, min(self.tick, (self._heap[0][0] - now).total_seconds()))

    def _wake_workers(self) -> None:
        if self._nudge is not None:
            self._nudge.set()

    async def _sleep(self, seconds: float) -> None:
        if self._nudge is None:
            self._nudge = asyncio.Event()
        # asyncio.timeout, not wait_for: Python 3.11's wait_for can swallow a cancellation that
        # arrives as the nudge completes, and `stop` would then wait out another whole tick.
        with contextlib.suppress(TimeoutError):
            async with asyncio.timeout(max(seconds, 0.01)):
                await self._nudge.wait()
        self._nudge.clear()

    async def _work(
        self, check: Check, clock: Callable[[], dt.datetime], stopping: Callable[[], bool]
    ) -> None:
        while not stopping():
            key = self.take(clock())
            if key is None:
                await self._sleep(self.seconds_to_next(clock()))
                continue
            self.checks += 1
            try:
                await check(*key)
            except asyncio.CancelledError:
                raise
            except Exception:  # one sync's failure must not end every sync's re-checks
                logger.exception("Re-check of CertificateSync %s/%s failed", *key)
                self.sooner(key, clock() + dt.timedelta(seconds=self.tick))

    def start(
        self,
        check: Check,
        clock: Callable[[], dt.datetime],
        stopping: Callable[[], bool],
        workers: int,
    ) -> None:
        """Start the workers (at most `workers` re-checks run at once)."""

        async def run() -> None:
            await asyncio.gather(*(self._work(check, clock, stopping) for _ in range(max(1, workers))))

        self._nudge = asyncio.Event()
        self._runner = asyncio.create_task(run(), name="drift re-checks")

    def alive(self) -> bool:
        return self._runner is None or not self._runner.done()

    async def stop(self, grace: float) -> None:
        """Let re-checks in flight finish (an apply and its save) for up to `grace` seconds."""
        runner, self._runner = self._runner, None
        if runner is None:
            return
        self._wake_workers()  # idle workers see `stopping` and return
        done, _ = await asyncio.wait({runner}, timeout=grace)
        if not done:
            runner.cancel()
            await asyncio.gather(runner, return_exceptions=True)
