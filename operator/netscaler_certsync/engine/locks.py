"""One writer per appliance: a lock per (endpoint, partition) key, urgent work first.

Two CertificateSyncs that target the same appliance take turns, so one never sees the other's
half-applied state (and never collects the other's files mid-upload). Each appliance's lock lives
in the operator's engine state (`engine/appliances.py`), which belongs to one event loop.

Turns are not first come, first served but by `Priority`, first come first served within one:
a renewal goes before spec changes, and both before the periodic drift re-checks. With many
CertificateSyncs on one appliance the drift re-checks alone keep a queue, and a renewal behind it
would wait for the whole queue (docs/decisions/011-priority-turns.md; latencies in
docs/benchmarks.md). Lower priorities can starve only while higher ones keep coming, which real
renewals do not.
"""

from __future__ import annotations

import asyncio
import enum
from collections import deque
from collections.abc import AsyncIterator, Iterable
from contextlib import asynccontextmanager

__all__ = ["ApplianceLock", "Priority", "appliance_key"]


class Priority(enum.IntEnum):
    """Whose turn comes first on an appliance (lower first)."""

    RENEWAL = 0
    """A certificate changed, or a user asked for a sync: someone waits for it."""
    CHANGE = 1
    """A CertificateSync was created, changed, resumed or deleted."""
    BACKGROUND = 2
    """A periodic re-check (drift) that finds nothing to do almost always."""


class ApplianceLock:
    """A mutex whose waiters are granted by priority, then in order of arrival."""

    def __init__(self) -> None:
        self._held = False
        self._queues: tuple[deque[asyncio.Future[None]], ...] = tuple(deque() for _ in Priority)

    @property
    def locked(self) -> bool:
        return self._held

    def waiting(self, priority: Priority) -> int:
        """Waiters of one priority, for tests and diagnostics."""
        return len(self._queues[priority])

    async def acquire(self, priority: Priority = Priority.CHANGE) -> None:
        if not self._held and not any(self._queues):
            self._held = True
            return
        waiter: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        queue = self._queues[priority]
        queue.append(waiter)
        try:
            await waiter
        except asyncio.CancelledError:
            if waiter.done() and not waiter.cancelled():
                self.release()  # granted just as we were cancelled: pass the turn on
            elif waiter in queue:  # release() may have dropped it already
                queue.remove(waiter)
            raise

    def release(self) -> None:
        for queue in self._queues:
            while queue:
                waiter = queue.popleft()
                if not waiter.done():
                    waiter.set_result(None)  # the lock passes straight to it: _held stays True
                    return
        self._held = False

    @asynccontextmanager
    async def turn(self, priority: Priority = Priority.CHANGE) -> AsyncIterator[None]:
        """Hold the lock for the duration of the block."""
        await self.acquire(priority)
        try:
            yield
        finally:
            self.release()


def appliance_key(endpoints: str | Iterable[str], partition: str | None = None) -> str:
    """The lock key of an appliance: its endpoint URLs (normalised) and admin partition.

    An HA pair is one appliance: its key names both nodes, so it stays the same when the pair
    switches roles (the lock, snapshot and saves must not split between the old and new primary)."""
    nodes = [endpoints] if isinstance(endpoints, str) else endpoints
    return f"{','.join(sorted(n.rstrip('/').lower() for n in nodes))}#{partition or 'default'}"
