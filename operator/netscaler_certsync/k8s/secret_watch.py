"""Watch TLS Secrets cheaply and report only real certificate changes.

Letting kopf watch `v1/secrets` would list every Secret in the cluster without selectors and keep
a record per object (docs/decisions/006-tls-secret-watcher.md). `TLSSecretWatcher` instead:

* lists and watches with server-side selectors: always `fieldSelector=type=kubernetes.io/tls`,
  plus an optional label selector, in one namespace or all;
* keeps a small index `(namespace, name) -> IndexEntry(resourceVersion, digest, labels)`: a
  32-byte SHA-256 of tls.crt/tls.key/ca.crt and an 8-byte digest of the labels, never the data
  or the labels themselves, so memory per indexed Secret is a small fraction of the Secret's
  JSON (operator memory in docs/benchmarks.md);
* calls `on_change(namespace, name, kind)` with kind `added`, `modified` or `deleted` when the TLS
  content appears, changes or goes away, and `relabelled` when only the labels changed (a label
  selector may have selected or deselected the Secret); annotation-only updates just refresh it;
* survives server-side watch timeouts (resume by resourceVersion), `410 Gone` (relist, then diff
  the new list against the index, so changes missed meanwhile are still reported) and transport
  or server errors (reconnect with capped exponential backoff and jitter).

A relist after `410 Gone` asks for metadata only (PartialObjectMetadataList: a TLS Secret's
metadata is about a tenth of its bytes, and a relist of 10,000 Secrets was 24 MB to serve and
parse while a renewal waited): entries whose resourceVersion is unchanged are the same object and
are kept, the few others are read one by one (`MOST_READS_AFTER_RELIST`; more and it lists
again, whole). A server that ignores the request answers the whole list, which is diffed as
usual; either way only Secrets whose resourceVersion changed are digested again.

The callback may be sync or async; an exception in it is logged and does not stop the watch.

The same watcher follows Secrets of other types that a sync names (an Opaque Secret with a
keystore, the Secret with its password): given `field_selector="metadata.name=..."` (one Secret)
or a sync's own label selector, `secret_types` and `digest=data_digest` (every key counts).
`WatcherSet` keeps one such watcher running per wanted `WatchKey` (namespace, field selector,
label selector): the watches of declared sources (reconcile/source_watch.py) and of the Secrets
connections reference (k8s/named_secret_watch.py) are both kept by it. With `plural="configmaps"`
it follows ConfigMaps the same way (a client-auth CA bundle by name, `data_digest`, any type).

Given `names`, a watcher indexes and reports only those names of its one namespace: a shard's
watch of a namespace's TLS Secrets (decision 218) or a watch by name. Names it has never listed
are not reported at their first list but handed to `on_listed(namespace, name)`, which compares
them with what the syncs read; `want(names)` changes the set, and names added are covered by a
relist, spaced (at least `relist_spacing`, and 10 times what the last list took) so a burst of
arrivals costs one list, and never cutting a list or an event short. `seed` gives what another
watch knew of some names: the first list diffs those instead (a switch of watches loses nothing).
"""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import inspect
import logging
import math
import random
from collections.abc import AsyncIterator, Awaitable, Callable, Iterable, Mapping
from dataclasses import dataclass
from typing import Any, Literal

from netscaler_certsync.k8s import keys
from netscaler_certsync.k8s.api import KubeClient, WatchEvent
from netscaler_certsync.k8s.errors import KubernetesError, NotFound
from netscaler_certsync.k8s.secrets import tls_content_digest

Digest = Callable[[Mapping[str, Any]], bytes]

__all__ = [
    "Backoff",
    "ChangeKind",
    "IndexEntry",
    "OnChange",
    "OnListed",
    "TLSSecretWatcher",
    "WatchKey",
    "WatcherSet",
    "by_name",
]

logger = logging.getLogger(__name__)

ChangeKind = Literal["added", "modified", "deleted", "relabelled"]
OnChange = Callable[[str, str, ChangeKind], Awaitable[None] | None]
#: (namespace, name) -> a name's first list is in: compare it with what the syncs read.
OnListed = Callable[[str, str], Awaitable[None]]
Key = tuple[str, str]
#: A relist of metadata only reads each object whose resourceVersion changed; beyond this many
#: it lists again, whole (one list costs less than that many reads).
MOST_READS_AFTER_RELIST = 32


@dataclass(frozen=True, slots=True)  # slots: ~100 bytes less per indexed Secret
class IndexEntry:
    resource_version: str
    digest: bytes  # SHA-256 of the TLS content, see secrets.tls_content_digest
    labels: bytes = b""  # 8-byte digest of the labels: enough to notice a change, nothing more


@dataclass(frozen=True)
class Backoff:
    """Reconnect delays: initial * factor**attempt, capped, with ±jitter (a fraction)."""

    initial: float = 0.5
    factor: float = 2.0
    maximum: float = 30.0
    jitter: float = 0.2

    def delay(self, attempt: int) -> float:
        base = min(self.maximum, self.initial * self.factor**attempt)
        return base * (1 + random.uniform(-self.jitter, self.jitter))


def _key(obj: Mapping[str, Any]) -> Key:
    md = obj.get("metadata") or {}
    return str(md.get("namespace") or ""), str(md.get("name") or "")


def _labels_digest(obj: Mapping[str, Any]) -> bytes:
    labels = (obj.get("metadata") or {}).get("labels") or {}
    text = "\n".join(f"{k}={v}" for k, v in sorted(labels.items()))
    return hashlib.blake2b(text.encode(), digest_size=8).digest()


def _change(old: IndexEntry, new: IndexEntry) -> ChangeKind | None:
    if old.digest != new.digest:
        return "modified"  # a sync re-reads the Secret, labels included
    if old.labels != new.labels:
        return "relabelled"
    return None


class TLSSecretWatcher:
    """Follows TLS Secrets and keeps a digest index; run `run()` as a task, cancel it to stop."""

    def __init__(
        self,
        client: KubeClient,
        on_change: OnChange,
        *,
        namespace: str | None = None,
        label_selector: str | None = None,
        notify_initial: bool = False,
        backoff: Backoff | None = None,
        watch_timeout_seconds: int = 300,
        field_selector: str | None = keys.TLS_TYPE_FIELD_SELECTOR,
        secret_types: frozenset[str] | None = frozenset({keys.TLS_SECRET_TYPE}),
        digest: Digest = tls_content_digest,
        plural: str = "secrets",
        names: Iterable[str] | None = None,
        on_listed: OnListed | None = None,
        seed: Mapping[str, IndexEntry | None] | None = None,
        relist_spacing: float = 1.0,
        metadata_relists: bool = True,
    ) -> None:
        self._client = client
        self.plural = plural  # "configmaps": the same watch of a trust-manager bundle by name
        self._on_change = on_change
        self.namespace = namespace
        self.label_selector = label_selector
        self.field_selector = field_selector
        self._types = secret_types
        self._digest = digest
        self._notify_initial = notify_initial
        self._backoff = backoff or Backoff()
        self._watch_timeout = watch_timeout_seconds
        self._index: dict[Key, IndexEntry] = {}
        self._resource_version: str | None = None
        self._listed_once = False
        self.ready = asyncio.Event()  # set after the first complete list
        self.relists = 0
        self.reconnects = 0
        # A name filter (one namespace): only these names are indexed and reported; a name
        # added later is listed by a relist (`want`), spaced so a burst of arrivals costs few.
        self._names = None if names is None else frozenset(names)
        self._on_listed = on_listed
        # What another watch already knew of some names (None: absent): diffed, not compared.
        seed = dict(seed or {})
        self._seeded = set(seed)
        self._index.update({(namespace or "", n): e for n, e in seed.items() if e is not None})
        self._unlisted = set(self._names or ()) - self._seeded  # names no list has covered yet
        self._relist = asyncio.Event()  # names were added: list again
        self._relist_spacing = relist_spacing
        self._list_cost = 0.0  # seconds the last list took: relists are spaced by 10 times it
        self._list_started: float | None = None
        self._listed_at = -math.inf
        self._not_listing = asyncio.Event()  # a relist never cuts a list short
        self.compared = asyncio.Event()  # set once the first list's `on_listed` calls are done
        self._metadata_relists = metadata_relists
        self._full_relist = False  # a metadata relist found too much changed: list whole again

    @property
    def index(self) -> Mapping[Key, IndexEntry]:
        return self._index

    @property
    def resource_version(self) -> str | None:
        return self._resource_version

    @property
    def names(self) -> frozenset[str] | None:
        return self._names

    def want(self, names: Iterable[str], seed: Mapping[str, IndexEntry | None] | None = None) -> None:
        """Follow these names from now on (a watcher made with `names`).

        A name dropped leaves the index without a report (no sync uses it any more). A name added
        is in no list yet: the next relist covers it, and `on_listed` compares it with what the
        syncs read, unless `seed` says what another watch knew of it (then the relist diffs it).
        """
        assert self._names is not None, "a watcher without a name filter follows every name"
        names = frozenset(names)
        added, removed = names - self._names, self._names - names
        self._names = names
        for name in removed:
            self._index.pop((self.namespace or "", name), None)
            self._unlisted.discard(name)
        seed = seed or {}
        for name in added:
            if name in seed:  # known up to another watch's last event: the relist diffs it
                self._seeded.add(name)
                entry = seed[name]
                if entry is not None:
                    self._index[(self.namespace or "", name)] = entry
            else:
                self._unlisted.add(name)
        if added:
            self._relist.set()

    async def run(self) -> None:
        """Watch until cancelled; never returns on its own."""
        attempt = 0
        while True:
            if self._relist.is_set():  # names were added: list again, then diff
                self._relist.clear()
                self._resource_version = None
            try:
                if self._resource_version is None:
                    self._list_started = asyncio.get_running_loop().time()
                    self._not_listing.clear()
                events = self._client.watch_core(
                    self.plural,
                    self.namespace,
                    label_selector=self.label_selector,
                    field_selector=self.field_selector,
                    resource_version=self._resource_version,
                    timeout_seconds=self._watch_timeout,
                    relist_metadata=self._metadata_relists,
                )
                async with (
                    contextlib.aclosing(events) as stream,
                    contextlib.aclosing(self._until_relist(stream)) as followed,
                ):
                    async for event in followed:
                        await self._apply(event)
                        attempt = 0
                        if self._full_relist:
                            self._full_relist, self._resource_version = False, None
                            break
            except KubernetesError as e:  # transport, 5xx, 403...: the next try may work
                delay = self._backoff.delay(attempt)
                attempt += 1
                self.reconnects += 1
                selectors = (self.namespace or "*", self.field_selector, self.label_selector)
                what = " ".join(s for s in selectors if s)
                logger.warning(
                    "%s watch (%s) failed (%s); reconnecting in %.1fs", self.plural, what, e, delay
                )
                await asyncio.sleep(delay)

    async def _until_relist(self, stream: AsyncIterator[WatchEvent]) -> AsyncIterator[WatchEvent]:
        """The stream's events, until names added to the filter are due for a relist."""
        if self._names is None:
            async for event in stream:
                yield event
            return
        due = asyncio.ensure_future(self._relist_due())
        step: asyncio.Future[WatchEvent] | None = None
        try:
            while not due.done():
                step = asyncio.ensure_future(anext(stream))
                await asyncio.wait((step, due), return_when=asyncio.FIRST_COMPLETED)
                if not step.done():  # only between events: an event is never half applied
                    return
                try:
                    event = step.result()
                except StopAsyncIteration:
                    return
                yield event
        finally:
            due.cancel()
            if step is not None and not step.done():  # the stream is closed only once it stopped
                step.cancel()
                await asyncio.gather(step, return_exceptions=True)

    async def _relist_due(self) -> None:
        loop = asyncio.get_running_loop()
        while True:
            await self._relist.wait()
            await self._not_listing.wait()  # names added during a list are covered by it
            # A list of a whole namespace costs; arrivals in a burst wait for one list together.
            wait = self._listed_at + max(self._relist_spacing, 10 * self._list_cost) - loop.time()
            if wait > 0:
                await asyncio.sleep(wait)
            if self._relist.is_set() and self._not_listing.is_set():
                return

    async def _apply(self, event: WatchEvent) -> None:
        self._resource_version = event.resource_version
        if event.type == "RELISTED" and event.partial:
            await self._relisted_metadata(event.items)
        elif event.type == "RELISTED":
            await self._relisted(event.items)
        elif event.object is not None and self._unlisted and _key(event.object)[1] in self._unlisted:
            return  # a name added since the last list: the next list covers it, compared once
        elif event.type in ("ADDED", "MODIFIED") and event.object is not None:
            await self._upsert(event.object)
        elif event.type == "DELETED" and event.object is not None and self._forget(_key(event.object)):
            await self._notify(_key(event.object), "deleted")

    def _wanted(self, obj: Mapping[str, Any]) -> bool:
        if self._names is not None and _key(obj)[1] not in self._names:
            return False  # a namespace-wide watch: only the names asked for are indexed
        return self._types is None or obj.get("type") in self._types  # None: any type

    def _entry(self, obj: Mapping[str, Any]) -> IndexEntry:
        rv = str((obj.get("metadata") or {}).get("resourceVersion") or "")
        return IndexEntry(rv, self._digest(obj), _labels_digest(obj))

    def _forget(self, key: Key) -> bool:
        return self._index.pop(key, None) is not None

    async def _upsert(self, obj: Mapping[str, Any]) -> None:
        if not self._wanted(obj):
            return  # the field selector keeps these away; be safe if a server ignores it
        key, entry = _key(obj), self._entry(obj)
        old = self._index.get(key)
        self._index[key] = entry
        if old is None:
            await self._notify(key, "added")
        elif (kind := _change(old, entry)) is not None:
            await self._notify(key, kind)

    def _unchanged(self, obj: Mapping[str, Any]) -> IndexEntry | None:
        """The index's entry for `obj` if it is at the same resourceVersion: the same object, so
        not read or digested again (a relist of 10,000 unchanged Secrets costs lookups)."""
        known = self._index.get(_key(obj))
        rv = str((obj.get("metadata") or {}).get("resourceVersion") or "")
        return known if known is not None and rv != "" and known.resource_version == rv else None

    async def _relisted_metadata(self, items: Iterable[Mapping[str, Any]]) -> None:
        """A relist of metadata only: entries whose resourceVersion is known are kept, the few
        others read one by one; too many others and the watcher lists again, whole."""
        fresh, stale = dict[Key, IndexEntry](), list[Key]()
        for obj in items:
            key = _key(obj)
            if self._names is not None and key[1] not in self._names:
                continue
            if (known := self._unchanged(obj)) is not None:
                fresh[key] = known
            else:
                stale.append(key)
        if len(stale) > MOST_READS_AFTER_RELIST:
            self._full_relist = True
            return
        for namespace, name in stale:
            try:
                obj = await self._client.get_core(self.plural, namespace, name)
            except NotFound:
                continue  # deleted since the list: left out of the index, so reported deleted now
            if self._wanted(obj):
                fresh[namespace, name] = self._entry(obj)
        await self._replace_index(fresh)

    async def _relisted(self, items: Iterable[Mapping[str, Any]]) -> None:
        fresh = {_key(obj): self._unchanged(obj) or self._entry(obj) for obj in items if self._wanted(obj)}
        await self._replace_index(fresh)

    async def _replace_index(self, fresh: dict[Key, IndexEntry]) -> None:
        """A complete list is in (`fresh`): report what changed since the index, then keep it."""
        now = asyncio.get_running_loop().time()
        if self._list_started is not None:  # not a 410's relist inside the client
            self._list_cost, self._list_started = now - self._list_started, None
        self._listed_at = now
        self._relist.clear()  # every name wanted now is in this list
        self._not_listing.set()
        old, self._index = self._index, fresh
        first = not self._listed_once
        self._listed_once = True
        if not first:
            self.relists += 1
        # Names no list covered before are compared with the syncs' reads (`on_listed`), not
        # reported; at the first list only what a seed knew is diffed (unless notify_initial).
        unlisted, self._unlisted = self._unlisted, set()
        diffed = not first or self._notify_initial
        for key in sorted(old.keys() - fresh.keys()):
            await self._notify(key, "deleted")
        for key in sorted(fresh) if diffed or self._seeded else ():
            if key[1] in unlisted:
                continue
            if key not in old:
                if diffed or key[1] in self._seeded:
                    await self._notify(key, "added")
            elif (kind := _change(old[key], fresh[key])) is not None:
                await self._notify(key, kind)
        self.ready.set()
        if self._on_listed is not None:
            for name in sorted(unlisted):
                try:
                    await self._on_listed(self.namespace or "", name)
                except Exception:  # a failed mark must not stop the watch; the drift check catches up
                    logger.exception("comparing the first list of %s/%s failed", self.namespace, name)
        self.compared.set()

    async def _notify(self, key: Key, kind: ChangeKind) -> None:
        try:
            result = self._on_change(key[0], key[1], kind)
            if inspect.isawaitable(result):
                await result
        except Exception:  # a consumer bug must not stop renewals for every other Secret
            logger.exception("on_change(%s/%s, %s) failed", key[0], key[1], kind)


#: (namespace, field selector, label selector): what one watcher lists and watches.
WatchKey = tuple[str, str | None, str | None]


def by_name(namespace: str, name: str) -> WatchKey:
    """The watch of one Secret, whatever its type: the server sends only that Secret."""
    return namespace, f"metadata.name={name}", None


class WatcherSet:
    """One running `TLSSecretWatcher` per wanted `WatchKey`; `make(key)` builds each watcher."""

    def __init__(self, make: Callable[[WatchKey], TLSSecretWatcher], task_prefix: str) -> None:
        self._make = make
        self._prefix = task_prefix
        self.running: dict[WatchKey, tuple[TLSSecretWatcher, asyncio.Task[None]]] = {}

    def update(self, wanted: Iterable[WatchKey]) -> list[asyncio.Task[None]]:
        """Start the wanted watchers not running, cancel the others; returns the cancelled tasks."""
        wanted = set(wanted)
        gone = [self.running.pop(key)[1] for key in list(self.running) if key not in wanted]
        for task in gone:
            task.cancel()
        for key in sorted(wanted - self.running.keys(), key=str):
            watcher = self._make(key)
            namespace, field_selector, label_selector = key
            name = f"{self._prefix}:{namespace}:{field_selector or label_selector}"
            self.running[key] = (watcher, asyncio.create_task(watcher.run(), name=name))
        return gone

    async def close(self) -> None:
        """Cancel every watcher and wait for them to end."""
        await asyncio.gather(*self.update(()), return_exceptions=True)

    def alive(self) -> bool:
        """False when a watcher ended on its own (it never should): for the liveness probe."""
        return not any(task.done() for _, task in self.running.values())
