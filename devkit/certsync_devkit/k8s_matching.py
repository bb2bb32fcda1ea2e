"""Constant-time reaction matching for kmock, so an emulator can serve thousands of requests.

kmock 0.8 decides whether a reaction applies with `request in reaction_view`, which walks every
request the server has ever received through the view's filters: each request costs
O(requests so far * reactions), and creating 2,000 Secrets takes minutes. For the common views,
a filter chain over the root (every fallback of the emulator and plain `k[criteria] << ...`
reactions), membership is simply "the new request passes each filter": `FastMatchingHandler`
checks exactly that. Slices (`k[...][:2]`), groups and exclusions keep kmock's exact semantics.

`rejecting_reaction()` lets the emulator honour a test's injected error *before* it writes.
"""

from __future__ import annotations

import math

import aiohttp.web
import attrs
from kmock._internal import apps, dsl, rendering

__all__ = ["FastMatchingHandler", "sees"]


def sees(view: dsl.View, request: rendering.Request, root: dsl.Root) -> bool:
    """`request in view` for the request being served now (already the root's newest)."""
    if view is root:
        return True
    if type(view) is dsl.Filter:
        return bool(view.criteria(request)) and sees(view._source, request, root)
    if type(view) is dsl.Priority:
        return sees(view._source, request, root)
    return request in view  # order- or set-dependent views: kmock's own (linear) check


@attrs.define(kw_only=True)
class FastMatchingHandler(apps.RawHandler):
    """`RawHandler._handle` with `sees()` instead of a scan; same priorities and fall-through."""

    def _ordered(self) -> list[dsl.Reaction]:
        priorities = [payload.priorities for payload in self._payloads]
        width = max((len(p) for p in priorities), default=0)
        # Pad to equal length so that (100, 0) > (100, -1), as kmock does; highest first.
        keys = [tuple(-p for p in priority) + (0,) * (width - len(priority)) for priority in priorities]
        order = sorted(range(len(keys)), key=keys.__getitem__)
        return [self._payloads[i] for i in order]

    def rejecting_reaction(self, request: rendering.Request) -> dsl.Reaction | None:
        """The test's own reaction that answers this request with an HTTP error, if any.

        kmock applies a write to its store even when a test's reaction answers it with an error,
        so "the API rejected my patch" tests would see the patch land. The emulator asks this
        first and, for a rejection, answers without touching its state (fallbacks excluded).
        """
        for payload in self._ordered():
            if -math.inf in payload.priorities or payload._disabled.is_set():
                continue  # a fallback (the emulator itself) or a depleted reaction
            status = payload.response.status
            if status is not None and status >= 400 and sees(payload._source, request, self):
                return payload
        return None

    async def _handle(self, request: rendering.Request) -> aiohttp.web.StreamResponse:
        for payload in self._ordered():
            if payload._disabled.is_set() or not sees(payload._source, request, self):
                continue
            try:
                return await payload(request)
            except rendering.ReactionMismatchError:  # depleted or mismatched: never again
                payload._disabled.set()
            except NotImplementedError:  # matched but has nothing to respond with
                pass
        raise NotImplementedError("no reaction matches the request; add a fallback, e.g. `k.fallback << 404`")
