"""Waiting in tests: on a condition in the event loop (bounded), or on a fake clock (no waiting)."""

from __future__ import annotations

import asyncio
from collections.abc import Callable


async def until(condition: Callable[[], object], what: str = "condition", within: float = 5.0) -> None:
    """Let the event loop run until `condition()` is truthy; fail loudly after `within` seconds."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + within
    while not condition():
        if loop.time() > deadline:
            raise AssertionError(f"timed out after {within}s waiting for {what}")
        await asyncio.sleep(0.005)


class FakeClock:
    """A monotonic clock that moves only when a test says so (`engine.Appliances(clock=...)`)."""

    def __init__(self, start: float = 1000.0) -> None:
        self.now = start

    def __call__(self) -> float:
        return self.now

    def advance(self, seconds: float) -> None:
        self.now += seconds
