"""The read half of the emulator: selected lists (paged with `limit`/`continue` as a real server
pages them, of metadata only when asked with `as=PartialObjectMetadataList`) and watches with
history, 410 and bookmarks."""

from __future__ import annotations

import asyncio
import json
import uuid
from collections.abc import AsyncIterator, Iterable
from typing import Any

from kmock._internal import rendering

from .k8s_history import Change, Expired, gone_status
from .k8s_objects import bad_request, expired
from .k8s_selectors import match_fields, match_labels, required_name
from .k8s_state import EmulatorBase
from .k8s_store import resource_key

__all__ = ["ReadsMixin"]


#: Lists paged with `limit` whose next page the emulator keeps (a real server's continue tokens
#: expire with compaction, minutes later; here the oldest go once this many are outstanding).
_PAGES_KEPT = 64
META_V1 = "meta.k8s.io/v1"
#: Objects whose JSON the emulator keeps (far more than any test or benchmark stores).
_ENCODED_KEPT = 200_000


def _parse_number(raw: str | None, what: str) -> int | None:
    """None when absent, empty or "0"; a 400 for anything but digits."""
    if not raw or raw == "0":
        return None
    if not raw.isdigit():
        raise bad_request(f"invalid {what} {raw!r}")
    return int(raw)


def _namespace_name(raw: dict[str, Any]) -> tuple[str, str]:
    md = raw.get("metadata") or {}
    return str(md.get("namespace") or ""), str(md.get("name") or "")


def _parse_rv(raw: str | None) -> int | None:
    """None means "no resume point" (absent, empty or "0": start from the current state)."""
    return _parse_number(raw, "resourceVersion")


class ReadsMixin(EmulatorBase):
    """List and watch with server-side selectors, resume, selector transitions, 410 Gone."""

    __slots__ = ()

    def _select(self, request: rendering.Request, raw: dict[str, Any]) -> bool:
        md = raw.get("metadata") or {}
        if request.namespace is not None and md.get("namespace") != request.namespace:
            return False
        if request.name is not None and md.get("name") != request.name:
            return False
        return match_labels(request.params.get("labelSelector"), md.get("labels")) and match_fields(
            request.params.get("fieldSelector"), raw
        )

    def _snapshot(self, request: rendering.Request) -> list[dict[str, Any]]:
        name = required_name(request.params.get("fieldSelector"))
        if name is not None and request.namespace is not None:
            # One object by name (a watch of one Secret): look it up, as a real server's cost
            # does not grow with every other object stored; a scan costs ~60 ms at 5,000 Secrets.
            try:  # kmock's ObjectsArray has no get()
                obj = self._objects[request.resource, request.namespace, name]
            except KeyError:
                obj = None
            found = obj is not None and not obj.deleted and self._select(request, obj.raw)
            return [obj.raw] if found else []
        return [
            obj.raw
            for obj in self._objects.of(request.resource)
            if not obj.deleted and self._select(request, obj.raw)
        ]

    async def _serve_list(self, request: rendering.Request) -> rendering.Payload:
        limit = _parse_number(request.params.get("limit"), "limit")
        token = request.params.get("continue")
        if token:  # the next page of a list: the same snapshot, at the first page's RV
            if token not in self._pages:
                raise expired("the provided continue parameter is too old")
            rv, items = self._pages.pop(token)
        else:
            async with self._lock:
                items, rv = self._snapshot(request), self._last_rv
            if not items:  # kmock's list scans every stored object: only for 404 on an unknown resource
                await super()._serve_list(request)
            if limit:
                items.sort(key=_namespace_name)  # a real server pages in key order
        metadata: dict[str, Any] = {"resourceVersion": str(rv)}
        if limit and len(items) > limit:
            items, rest = items[:limit], items[limit:]
            token = f"{rv}-{uuid.uuid4().hex}"
            self._pages[token] = (rv, rest)
            while len(self._pages) > _PAGES_KEPT:  # abandoned lists: the oldest expire
                del self._pages[next(iter(self._pages))]
            metadata.update({"continue": token, "remainingItemCount": len(rest)})
        if "as=PartialObjectMetadataList" in request.headers.get("Accept", ""):  # metadata only
            head = {"apiVersion": META_V1, "kind": "PartialObjectMetadataList", "metadata": metadata}
            return _list_body(head, (self._encoded_item(request, i, partial=True) for i in items))
        kind = f"{self._kind(request)}List"
        head = {"apiVersion": self._api_version(request), "kind": kind, "metadata": metadata}
        return _list_body(head, (self._encoded_item(request, i, partial=False) for i in items))

    def _encoded_item(self, request: rendering.Request, raw: dict[str, Any], *, partial: bool) -> bytes:
        """`raw` as JSON, encoded once per resourceVersion (every write stamps a new one), as a
        real server's watch cache keeps each version's serialization for every reader."""
        md = raw.get("metadata") or {}
        rv = str(md.get("resourceVersion") or "")
        assert request.resource is not None
        key = (resource_key(request.resource), *_namespace_name(raw), partial)
        cached = self._encoded.get(key)
        if cached is not None and rv and cached[0] == rv:
            return cached[1]
        obj = {"kind": "PartialObjectMetadata", "apiVersion": META_V1, "metadata": md} if partial else raw
        encoded = json.dumps(obj).encode()
        if len(self._encoded) > _ENCODED_KEPT:  # deleted objects' entries: start afresh
            self._encoded.clear()
        self._encoded[key] = (rv, encoded)
        return encoded

    def _visible(self, request: rendering.Request, change: Change) -> dict[str, Any] | None:
        """The event this watcher sees, with selector transitions as a real server reports them."""
        now_in = self._select(request, change.obj)
        if change.type != "MODIFIED" or change.old is None:
            return {"type": change.type, "object": change.obj} if now_in else None
        was_in = self._select(request, change.old)
        if now_in:
            return {"type": "MODIFIED" if was_in else "ADDED", "object": change.obj}
        if was_in:  # left the selector: the old state, stamped with this change's RV
            old_md = {**change.old["metadata"], "resourceVersion": str(change.rv)}
            return {"type": "DELETED", "object": {**change.old, "metadata": old_md}}
        return None

    def _bookmark(self, request: rendering.Request, initial_events_end: bool) -> dict[str, Any]:
        md: dict[str, Any] = {"resourceVersion": str(self._last_rv)}
        if initial_events_end:
            md["annotations"] = {"k8s.io/initial-events-end": "true"}
        obj = {"kind": self._kind(request), "apiVersion": self._api_version(request), "metadata": md}
        return {"type": "BOOKMARK", "object": obj}

    async def _serve_watch(self, request: rendering.Request) -> AsyncIterator[rendering.Payload]:
        yield b""  # send the headers now: the client waits for them before anything happens
        loop = asyncio.get_running_loop()
        timeout = request.params.get("timeoutSeconds")
        deadline = loop.time() + float(timeout) if timeout else None
        since = _parse_rv(request.params.get("resourceVersion"))
        watch_list = request.params.get("sendInitialEvents") == "true"
        bus = self._buses[request.resource]
        initial: list[dict[str, Any]] | None
        async with self._lock:  # writes publish under this lock: no gap and no duplicates
            mark = await bus.mark()
            if watch_list or since is None:
                initial = [{"type": "ADDED", "object": raw} for raw in self._snapshot(request)]
            elif since < bus.floor:
                initial = None
            else:
                initial = [e for c in bus.replay(since) if (e := self._visible(request, c)) is not None]
        try:
            if initial is None:
                message = f"too old resource version: {since} ({bus.floor})"
                yield {"type": "ERROR", "object": gone_status(message)}
                return
            for event in initial:
                yield event
            if watch_list:  # kubectl >= 1.32 `wait`/`get -w` waits for this marker
                yield self._bookmark(request, initial_events_end=True)
            stream = aiter(bus.stream(since=mark))
            while True:
                left = None if deadline is None else deadline - loop.time()
                if left is not None and left <= 0:
                    break
                try:
                    item = await asyncio.wait_for(anext(stream), left)
                except TimeoutError:
                    break
                if isinstance(item, Expired):
                    message = f"too old resource version: {since} ({item.floor})"
                    yield {"type": "ERROR", "object": gone_status(message)}
                    return
                if isinstance(item, Change) and (event := self._visible(request, item)) is not None:
                    yield event
            if request.params.get("allowWatchBookmarks") == "true":
                yield self._bookmark(request, initial_events_end=False)  # resume point before timeout
        finally:
            await bus.unmark(mark)


def _list_body(head: dict[str, Any], items: Iterable[bytes]) -> bytes:
    """A list's JSON from its fields and its items' encodings (the LIST reaction says JSON)."""
    start = json.dumps(head).encode()[:-1]  # without its closing brace
    return start + b', "items": [' + b", ".join(items) + b"]}"
