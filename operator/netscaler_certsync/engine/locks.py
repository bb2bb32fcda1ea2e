"""One writer per appliance: a process-wide asyncio lock per (endpoint, partition) key.

Two CertificateSyncs that target the same appliance take turns, so one never sees the other's
half-applied state (and never collects the other's files mid-upload). Locks are kept per event
loop because an asyncio.Lock must not be shared between loops (tests run one loop each).
"""

from __future__ import annotations

import asyncio
import weakref
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

_locks: weakref.WeakKeyDictionary[asyncio.AbstractEventLoop, dict[str, asyncio.Lock]] = (
    weakref.WeakKeyDictionary()
)


def appliance_key(endpoint: str, partition: str | None = None) -> str:
    """The lock key of an appliance: its endpoint URL (normalised) and admin partition."""
    return f"{endpoint.rstrip('/').lower()}#{partition or 'default'}"


def appliance_lock(key: str) -> asyncio.Lock:
    loop = asyncio.get_running_loop()
    return _locks.setdefault(loop, {}).setdefault(key, asyncio.Lock())


@asynccontextmanager
async def exclusive(key: str) -> AsyncIterator[None]:
    """Hold the appliance's lock for the duration of the block."""
    async with appliance_lock(key):
        yield
