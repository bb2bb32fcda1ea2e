"""kopf passes over a relisted object it has already seen at the same resourceVersion.

After a watch ends with 410 Gone (an API server restart, an etcd compaction) kopf lists every
object again and runs its whole per-object processing (indexers, event handlers, the diff against
the last handled state) for each, about 1 ms per object, though none of them changed. The event
loop runs that work in order, so a renewal's event and each await of its reconcile queue behind
it: at 1,000 CertificateSyncs the renewal waited for about a second (docs/benchmarks.md, "Where a
renewal right after a relist waits"; docs/decisions/212-relist-skips-unchanged-objects.md).

An object at the resourceVersion kopf last received for it is the object kopf has processed or
has queued: processing it again finds nothing to do. Changed objects, new objects and every watch
event pass as before. kopf 1.45 has no hook for this, so the watch stream kopf's multiplexer reads
(`kopf._cogs.clients.watching.infinite_watch`) is wrapped; kopf is pinned to 1.45.x for it.

The same wrapper leaves out the watch event of each of our own intent writes (reconcile/intent.py):
it differs from the version before it only by the status we wrote, which no handler acts on, and
kopf never waits for it (kopf's consistency check waits for the versions of its own patches, which
all pass). That is one of a new CertificateSync's five events (docs/decisions/214-...).
"""

from __future__ import annotations

import weakref
from collections.abc import AsyncIterator, Callable
from typing import Any

from kopf._cogs.clients import watching

from netscaler_certsync.reconcile.echoes import StatusEchoes

#: The echo records of the operators in this process (one, but tests run one after another).
_echoes: weakref.WeakSet[StatusEchoes] = weakref.WeakSet()


def _own_write(body: Any) -> bool:
    return any(echoes.own_write_event(body) for echoes in list(_echoes))


def skip_unchanged(stream: Callable[..., AsyncIterator[Any]]) -> Callable[..., AsyncIterator[Any]]:
    """`stream` (kopf's watch stream, one per resource and namespace) without the listed objects
    whose uid and resourceVersion it has already yielded, nor the events of our own intent writes."""

    async def wrapped(*args: Any, **kwargs: Any) -> AsyncIterator[Any]:
        seen: dict[str, str] = {}  # uid -> the last resourceVersion yielded: one small entry per object
        listed: set[str] = set()  # uids of the listing under way
        async for event in stream(*args, **kwargs):
            if event is watching.Bookmark.LISTED:  # an object missing from a listing is gone
                seen = {uid: version for uid, version in seen.items() if uid in listed}
                listed = set()
            body = event.get("object") if isinstance(event, dict) else None
            meta = body.get("metadata") if isinstance(body, dict) else None
            uid = meta.get("uid") if isinstance(meta, dict) else None
            version = meta.get("resourceVersion") if isinstance(meta, dict) else None
            if uid and version:
                kind = event.get("type")
                if kind is None:  # a listing
                    listed.add(uid)
                    if seen.get(uid) == version:  # unchanged since the stream yielded it
                        continue
                if kind == "DELETED":
                    seen.pop(uid, None)
                else:
                    seen[uid] = version
                    if kind == "MODIFIED" and _echoes and _own_write(body):
                        continue  # as good as yielded: a relist at this version passes over it too
            yield event

    wrapped.skips_unchanged = True  # type: ignore[attr-defined]
    return wrapped


def install(echoes: StatusEchoes | None = None) -> None:
    """Wrap kopf's watch stream once per process (before kopf starts watching); the stream leaves
    out the events of the own writes `echoes` names."""
    if echoes is not None:
        _echoes.add(echoes)
    if not getattr(watching.infinite_watch, "skips_unchanged", False):
        watching.infinite_watch = skip_unchanged(watching.infinite_watch)  # type: ignore[assignment]
