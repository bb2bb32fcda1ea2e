"""kopf's watch stream without relisted objects it has already yielded unchanged (handlers/relist.py)."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from typing import Any

from kopf._cogs.clients.watching import Bookmark

from netscaler_certsync.handlers.relist import skip_unchanged


def _event(kind: str | None, uid: str, version: str) -> dict[str, Any]:
    return {"type": kind, "object": {"metadata": {"uid": uid, "resourceVersion": version}}}


def _passed(events: list[Any]) -> list[Any]:
    async def stream() -> AsyncIterator[Any]:
        for event in events:
            yield event

    async def collect() -> list[Any]:
        return [e async for e in skip_unchanged(stream)()]

    return asyncio.run(collect())


def test_a_relist_passes_only_changed_and_new_objects() -> None:
    marker = Bookmark.LISTED  # kopf's bookmark of the end of a listing passes untouched
    events = [
        _event(None, "a", "1"),
        _event(None, "b", "1"),
        marker,
        _event("MODIFIED", "b", "2"),
        # the relist after 410 Gone: a unchanged, b unchanged since its watch event, c new
        _event(None, "a", "1"),
        _event(None, "b", "2"),
        _event(None, "c", "1"),
        marker,
        _event("MODIFIED", "a", "3"),
        _event(None, "a", "3"),  # a second relist: nothing changed
        _event(None, "c", "1"),
    ]
    assert _passed(events) == [
        events[0],
        events[1],
        marker,
        events[3],
        events[6],
        marker,
        events[8],
    ]


def test_a_deleted_object_listed_again_passes() -> None:
    events = [_event(None, "a", "1"), _event("DELETED", "a", "2"), _event(None, "a", "2")]
    assert _passed(events) == events


def test_an_object_gone_from_a_listing_is_forgotten() -> None:
    """Deleted while no watch ran (no DELETED event): a later object at the same uid and
    resourceVersion is not taken for it, and the stream keeps no entry for the gone object."""
    events = [
        _event(None, "a", "1"),
        Bookmark.LISTED,
        Bookmark.LISTED,  # the relist: a is gone
        _event(None, "a", "1"),
    ]
    assert _passed(events) == events
