"""A bounded watch history per resource, so the emulator can resume watches and answer 410 Gone.

kmock 0.8 publishes every write to a per-resource `aiobus.Bus` and forgets it once all live
watchers read it. A real API server keeps a window of recent events (the watch cache): a watch
from `resourceVersion=X` replays the events after X, and when X has fallen out of the window the
server sends an in-stream `ERROR` event with code 410 ("too old resource version") and the
client must list again. `HistoryBus` is a drop-in `Bus` that records each published event as a
`Change` in a bounded deque, tracks the compaction point (`floor`), and can `expire()` on demand
so a test can force the 410 path at a moment of its choosing.
"""

from __future__ import annotations

import collections
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any

import attrs
from kmock._internal import aiobus

__all__ = ["Change", "Expired", "HistoryBus", "gone_status"]


@dataclass(frozen=True)
class Change:
    """One write as watchers see it. `old` is the previous state (for selector transitions)."""

    rv: int
    type: str  # ADDED | MODIFIED | DELETED
    obj: dict[str, Any]
    old: dict[str, Any] | None


@dataclass(frozen=True)
class Expired:
    """Marker put on the bus by `HistoryBus.expire()`: live watches end with a 410 event."""

    floor: int


def gone_status(message: str) -> dict[str, Any]:
    """The `Status` object a real server sends in a watch `ERROR` event for a compacted RV."""
    return {
        "apiVersion": "v1",
        "kind": "Status",
        "metadata": {},
        "status": "Failure",
        "message": message,
        "reason": "Expired",
        "code": 410,
    }


def _rv_of(obj: dict[str, Any]) -> int:
    raw = (obj.get("metadata") or {}).get("resourceVersion")
    return int(raw) if raw and str(raw).isdigit() else 0


def _key_of(obj: dict[str, Any]) -> tuple[str | None, str | None]:
    md = obj.get("metadata") or {}
    return md.get("namespace"), md.get("name")


@attrs.define(kw_only=True)
class HistoryBus(aiobus.Bus[Any]):
    """A kmock bus that also keeps the last `limit` changes and the compaction point.

    `stamp` hands out a fresh global resourceVersion: kmock publishes the final DELETED of an
    object released by its finalizers with the RV of the preceding MODIFIED, while a real server
    gives every event its own RV (and a watch resumed between the two must still see DELETED).
    """

    stamp: Callable[[], int]
    limit: int = 1000
    floor: int = 0  # a watch from resourceVersion >= floor can be resumed; below it: 410
    _history: collections.deque[Change] = attrs.field(init=False, factory=collections.deque)
    _last: dict[tuple[str | None, str | None], dict[str, Any]] = attrs.field(init=False, factory=dict)

    async def put(self, *items: Any) -> None:
        changes = [self._record(item) if isinstance(item, dict) else item for item in items]
        await super().put(*changes)

    def _record(self, event: dict[str, Any]) -> Change:
        kind, obj = event["type"], event["object"]
        key = _key_of(obj)
        old = self._last.get(key)
        rv = _rv_of(obj)
        if kind == "DELETED":
            rv = self.stamp()
            obj = {**obj, "metadata": {**obj["metadata"], "resourceVersion": str(rv)}}
            self._last.pop(key, None)
        else:
            self._last[key] = obj  # a reference to kmock's stored version, not a copy
        change = Change(rv=rv, type=kind, obj=obj, old=old if kind == "MODIFIED" else None)
        self._history.append(change)
        while len(self._history) > self.limit:
            self.floor = self._history.popleft().rv
        return change

    def replay(self, since: int) -> Iterator[Change]:
        """Changes newer than `since`; the caller checks `since >= floor` first."""
        return (change for change in self._history if change.rv > since)

    async def expire(self) -> None:
        """Compact everything: watches from any RV seen so far get 410; open watches end with 410."""
        self.floor = self.stamp()
        self._history.clear()
        await super().put(Expired(floor=self.floor))

    @property
    def history_size(self) -> int:
        return len(self._history)
