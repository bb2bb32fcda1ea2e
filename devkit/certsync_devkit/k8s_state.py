"""What the emulator's parts share: its state (as kmock keeps it) and resource lookups.

`RealisticEmulator` is assembled from mixins (`k8s_writes.WritesMixin`,
`k8s_watching.ReadsMixin`) so that each stays readable; they all see the emulator through
`EmulatorBase`: kmock's object store, lock, per-resource buses and resource discovery, plus the
global resourceVersion counter.
"""

from __future__ import annotations

import asyncio
from typing import Any

from kmock._internal import references, rendering

__all__ = ["EmulatorBase"]


class EmulatorBase:
    """Annotations of the state `RealisticEmulator` (a kmock attrs class) provides."""

    __slots__ = ()

    _objects: Any  # k8s_store.IndexedObjects: (resource, namespace, name) -> Object with history
    _lock: asyncio.Lock  # every write and every watch snapshot happens under it
    _buses: Any  # resource -> HistoryBus
    _resources: Any  # kmock's ResourcesArray (discovery)
    _last_rv: int
    _pages: dict[str, tuple[int, list[Any]]]  # continue token -> (list RV, the items still to serve)
    _encoded: dict[tuple[Any, ...], tuple[str, bytes]]  # an object's key -> (its RV, its JSON)

    def _bump(self) -> int:
        """The next global resourceVersion."""
        self._last_rv += 1
        return self._last_rv

    def _info(self, request: rendering.Request) -> references.ResourceInfo | None:
        res = request.resource
        return self._resources[res] if res is not None and res in self._resources else None

    def _has_status(self, request: rendering.Request) -> bool:
        info = self._info(request)
        return info is not None and "status" in info.subresources

    def _kind(self, request: rendering.Request) -> str:
        info = self._info(request)
        assert request.resource is not None and request.resource.plural is not None
        return info.kind if info is not None and info.kind else request.resource.plural.capitalize()

    def _api_version(self, request: rendering.Request) -> str:
        assert request.resource is not None
        return f"{request.resource.group}/{request.resource.version}".lstrip("/")
