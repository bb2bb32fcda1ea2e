"""Follow the Secrets the TLS watcher cannot see (declared sources, passwords) and CA bundle ConfigMaps.

The TLS watcher selects `type=kubernetes.io/tls` on the server. A certificate read through a
declared source may sit in an Opaque Secret, and a keystore's password in a Secret of any type;
watching every Opaque Secret would put each one in the cluster on the wire. Instead each such
Secret is watched by name (`fieldSelector=metadata.name=...` in its namespace), and a selector
with a `secretSource` by that selector itself (no type filter: the labels keep it tight), so the
operator only ever lists Secrets a CertificateSync names or selects.

`SourceWatches.run()` is one task: it starts and stops these watchers whenever the trigger index
says a sync's Secrets changed, and cancels them all when it is cancelled. Each watcher reports
through the same callback as the TLS watcher (`SecretChanges`), so a change marks the syncs that
use the Secret exactly as a renewal of a TLS Secret does. A ConfigMap that holds a client-auth CA
bundle (`bindings[].clientAuth.caFrom.configMapKeyRef`) is watched by name the same way (the
same watcher on `configmaps`), and its change marks the syncs that name it. Such a watch starts
when a sync naming the bundle arrives, as its reconcile reads the bundle: its first list is
compared with the versions read before it (`FirstListWatcher`, decision 204), so a change in
between marks the syncs and an unchanged bundle marks nothing (sharded or not).

In a shard (`--shard i`) the TLS watcher selects only Secrets labelled with the shard
(docs/decisions/201-shard-secret-watch.md), so this module also follows what a shard's syncs use
outside that label: each TLS Secret a sync names and the shard watch has not listed, by name, and
each `secretSelector`, by the selector with the TLS type. Secrets of other shards' objects are
then never held in an index. These watches start as the shard's syncs arrive: a watch by name
compares its first list with the versions the syncs read, as a bundle's does.

Each watch holds a connection, so past NAMESPACE_WATCH_ABOVE unlabelled names in one namespace a
shard follows them with one watch of the namespace's TLS Secrets instead, indexing only those
names (decision 218; back to watches by name below NAMESPACE_WATCH_BELOW). Its first list of a
name compares as a watch by name does; at a switch either way the new watch starts from what the
old one knew, so a renewal in between is reported once and an unchanged Secret marks nothing.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable, Collection
from typing import Any

from netscaler_certsync.k8s import (
    IndexEntry,
    KubeClient,
    TLSSecretWatcher,
    WatcherSet,
    WatchKey,
    by_name,
    configmap_digest,
    data_digest,
    keys,
)
from netscaler_certsync.reconcile.context import OperatorContext
from netscaler_certsync.reconcile.errors import ReconcileError
from netscaler_certsync.reconcile.sources import selector_string

logger = logging.getLogger(__name__)


#: Above this many unlabelled TLS Secrets named in one namespace a shard follows them with one
#: watch of the namespace's TLS Secrets (filtered to those names), not one watch each; it goes
#: back to watches by name only below NAMESPACE_WATCH_BELOW, so a count near the limit does not
#: flap (each switch lists the namespace). Decision 218.
NAMESPACE_WATCH_ABOVE = 16
NAMESPACE_WATCH_BELOW = 8

#: What a watcher follows: its key, and for a watch by name or a namespace watch, its names.
Wanted = dict[WatchKey, frozenset[str] | None]


def namespace_tls(namespace: str) -> WatchKey:
    """A shard's watch of every TLS Secret of a namespace, indexed only for the names it wants."""
    return namespace, keys.TLS_TYPE_FIELD_SELECTOR, None


def wanted_watches(
    ctx: OperatorContext, covered: Collection[tuple[str, str]] = (), wide: Collection[str] = ()
) -> Wanted:
    """The watches by name, by selector or (in a shard) of a namespace the syncs known now need.

    In a shard, also every named TLS Secret not in `covered` (those the shard's own TLS watch
    lists), and each selector restricted to TLS Secrets: the shard has no namespace-wide watch
    of its own. Those named TLS Secrets are watched by name, or past NAMESPACE_WATCH_ABOVE in
    one namespace (or NAMESPACE_WATCH_BELOW if it is in `wide`, watched so already) by one
    `namespace_tls` watch.
    """
    sharded = ctx.options.shard is not None
    wanted: Wanted = {}
    unlabelled: dict[str, set[str]] = {}
    for (namespace, _sync), trigger in ctx.triggers.items():
        for name in trigger.named_watches:
            wanted[by_name(namespace, name)] = frozenset({name})
        if sharded:
            names = unlabelled.setdefault(namespace, set())
            names.update(n for n in trigger.secrets - trigger.named_watches if (namespace, n) not in covered)
        if trigger.selector is None or not (trigger.selector_watch or sharded):
            continue
        try:
            selector = selector_string(trigger.selector)
        except ReconcileError:
            continue  # an invalid selector: the sync reports it, there is nothing to watch
        # A selector reading Opaque sources is watched whatever the type (the labels keep it tight).
        wanted[(namespace, None if trigger.selector_watch else keys.TLS_TYPE_FIELD_SELECTOR, selector)] = None
    for namespace, names in unlabelled.items():
        names -= {n for ns, n, _ in (_named(key) for key in wanted) if ns == namespace}  # by name already
        limit = NAMESPACE_WATCH_BELOW if namespace in wide else NAMESPACE_WATCH_ABOVE
        if len(names) > limit:
            wanted[namespace_tls(namespace)] = frozenset(names)
        else:
            wanted.update((by_name(namespace, name), frozenset({name})) for name in names)
    return wanted


def _named(key: WatchKey) -> tuple[str, str | None, None]:
    return key[0], _name_in(key[1]), None


def wanted_configmap_watches(ctx: OperatorContext) -> Wanted:
    """The ConfigMaps (client-auth CA bundles) the CertificateSyncs known now name, by name."""
    return {
        by_name(namespace, name): frozenset({name})
        for (namespace, _), trig in ctx.triggers.items()
        for name in trig.configmaps
    }


def _name_in(field_selector: str | None) -> str | None:
    """The name a watch by name (`by_name`) selects; None for a watch by selector."""
    prefix = "metadata.name="
    if field_selector and field_selector.startswith(prefix):
        return field_selector.removeprefix(prefix)
    return None


class SourceWatches:
    """Keeps one watcher running per `WatchKey` that `wanted_watches` returns."""

    def __init__(
        self,
        ctx: OperatorContext,
        client: KubeClient,
        make_callback: Callable[[], object],
        make_configmap_callback: Callable[[], object] | None = None,
        covered: Callable[[], Collection[tuple[str, str]]] = frozenset,
    ) -> None:
        self._ctx = ctx
        self._covered = covered  # the Secrets a shard's own TLS watch lists (none otherwise)
        self._client = client
        self._make_callback = make_callback
        self._make_configmap_callback = make_configmap_callback
        self._changed = asyncio.Event()
        self._watchers = WatcherSet(self._watcher, "source-secret-watch")
        self._configmaps = WatcherSet(self._configmap_watcher, "bundle-configmap-watch")
        self._wanted: Wanted = {}  # what refresh() asks for: the names of each new watcher
        self._handed: dict[tuple[str, str], IndexEntry | None] = {}  # see _handover

    @property
    def running(self) -> dict[WatchKey, tuple[TLSSecretWatcher, asyncio.Task[None]]]:
        return self._watchers.running

    def changed(self) -> None:
        """The trigger index changed: refresh the watches soon (called on the event loop)."""
        self._changed.set()

    def _seed(self, namespace: str, names: Collection[str]) -> dict[str, IndexEntry | None]:
        return {n: self._handed[(namespace, n)] for n in names if (namespace, n) in self._handed}

    def _watcher(self, key: WatchKey) -> TLSSecretWatcher:
        namespace, field_selector, label_selector = key
        callback = self._make_callback()
        names = self._wanted.get(key)
        options: dict[str, Any] = {
            "namespace": namespace,
            "label_selector": label_selector,
            "field_selector": field_selector,
            # By name: a password may be in a Secret of any type; by selector: the source types;
            # a shard's namespace watch: its field selector is the TLS type.
            "secret_types": None if field_selector else frozenset(keys.SOURCE_SECRET_TYPES),
            "digest": data_digest,
        }
        # A shard starts these as its syncs arrive (created, or moved in from another shard): a
        # change made before the first list must not be missed. A watch by name or of a namespace
        # compares the first list of each name with the versions the syncs read (decision 201),
        # or diffs it with what the watch it replaces knew (decision 218); a selector's first
        # list reports each Secret once (a selection has no per-name reads to compare with).
        watcher: TLSSecretWatcher
        if self._ctx.options.shard is None:
            watcher = TLSSecretWatcher(self._client, callback, **options)  # type: ignore[arg-type]
        elif names is not None:
            watcher = TLSSecretWatcher(
                self._client,
                callback,  # type: ignore[arg-type]
                names=names,
                on_listed=callback.listed,  # type: ignore[attr-defined]
                seed=self._seed(namespace, names),
                **options,
            )
        else:
            watcher = TLSSecretWatcher(self._client, callback, notify_initial=True, **options)  # type: ignore[arg-type]
        callback.watcher = watcher  # type: ignore[attr-defined]
        return watcher

    @property
    def configmaps(self) -> dict[WatchKey, tuple[TLSSecretWatcher, asyncio.Task[None]]]:
        return self._configmaps.running

    def _configmap_watcher(self, key: WatchKey) -> TLSSecretWatcher:
        namespace, field_selector, _ = key
        assert self._make_configmap_callback is not None
        callback = self._make_configmap_callback()
        watcher = TLSSecretWatcher(
            self._client,
            callback,  # type: ignore[arg-type]
            namespace=namespace,
            field_selector=field_selector,
            secret_types=None,  # ConfigMaps have no type
            digest=configmap_digest,
            plural="configmaps",
            names=[name] if (name := _name_in(field_selector)) is not None else None,
            on_listed=callback.listed,  # type: ignore[attr-defined]
        )
        callback.watcher = watcher  # type: ignore[attr-defined]
        return watcher

    def _handover(self, watchers: WatcherSet, wanted: Wanted) -> None:
        """Note what the watches about to stop knew of the names another watch takes over.

        A shard switching a namespace between watches by name and one namespace watch stops the
        old ones as it starts the new: what an old watch knew, once it compared its first list,
        seeds the new watch, whose first list then reports exactly the changes in between.
        """
        self._handed = {}
        for key in watchers.running.keys() - wanted.keys():
            watcher = watchers.running[key][0]
            if watcher.names is None or not watcher.compared.is_set():
                continue  # not compared yet: the new watch compares with the syncs' reads
            for name in watcher.names:
                self._handed[(key[0], name)] = watcher.index.get((key[0], name))

    def _update(self, watchers: WatcherSet, wanted: Wanted, plural: str) -> list[asyncio.Task[None]]:
        self._wanted = wanted
        followed = {(key[0], name) for key, names in wanted.items() for name in names or ()}
        for namespace, field_selector, _ in watchers.running.keys() - wanted.keys():
            name = _name_in(field_selector)
            if name is not None and (namespace, name) not in followed:  # its first list compares no reads now
                self._ctx.triggers.forget_reads(plural, namespace, name)
        gone = watchers.update(wanted)
        for key, names in wanted.items():  # a namespace watch follows the names it is given
            watcher = watchers.running[key][0]
            if names is not None and watcher.names is not None and watcher.names != names:
                watcher.want(names, self._seed(key[0], names - watcher.names))
        for secret in self._handed:  # diffed from the seed: reads before it compare nothing
            self._ctx.triggers.forget_reads(plural, *secret)
        self._handed = {}
        return gone

    async def refresh(self) -> None:
        running = self._watchers.running
        wide = {key[0] for key in running if key == namespace_tls(key[0])}
        wanted = wanted_watches(self._ctx, self._covered(), wide)
        self._handover(self._watchers, wanted)
        gone = self._update(self._watchers, wanted, "secrets")
        if self._make_configmap_callback is not None:
            gone += self._update(self._configmaps, wanted_configmap_watches(self._ctx), "configmaps")
        await asyncio.gather(*gone, return_exceptions=True)
        logger.debug("source watches: %d Secret, %d ConfigMap", len(self.running), len(self.configmaps))

    async def run(self) -> None:
        """Refresh on every change of the trigger index until cancelled; then stop every watcher."""
        try:
            while True:
                await self.refresh()
                await self._changed.wait()
                self._changed.clear()
        finally:
            await self._watchers.close()
            await self._configmaps.close()
