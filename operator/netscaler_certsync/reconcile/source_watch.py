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
then never listed, and never held in an index. These watches start as the shard's syncs arrive: a
watch by name compares its first list with the versions the syncs read, as a bundle's does.
"""

from __future__ import annotations

import asyncio
import functools
import logging
from collections.abc import Awaitable, Callable, Collection
from typing import Any

from netscaler_certsync.k8s import (
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


def wanted_watches(ctx: OperatorContext, covered: Collection[tuple[str, str]] = ()) -> set[WatchKey]:
    """The watches by name or by selector that the CertificateSyncs known now need.

    In a shard, also every named TLS Secret not in `covered` (those the shard's own TLS watch
    lists), and each selector restricted to TLS Secrets: the shard has no namespace-wide watch.
    """
    sharded = ctx.options.shard is not None
    wanted: set[WatchKey] = set()
    for (namespace, _sync), trigger in ctx.triggers.items():
        for name in trigger.named_watches:
            wanted.add(by_name(namespace, name))
        if sharded:
            for name in trigger.secrets - trigger.named_watches:
                if (namespace, name) not in covered:
                    wanted.add(by_name(namespace, name))
        if trigger.selector is None or not (trigger.selector_watch or sharded):
            continue
        try:
            selector = selector_string(trigger.selector)
        except ReconcileError:
            continue  # an invalid selector: the sync reports it, there is nothing to watch
        # A selector reading Opaque sources is watched whatever the type (the labels keep it tight).
        wanted.add((namespace, None if trigger.selector_watch else keys.TLS_TYPE_FIELD_SELECTOR, selector))
    return wanted


def wanted_configmap_watches(ctx: OperatorContext) -> set[WatchKey]:
    """The ConfigMaps (client-auth CA bundles) the CertificateSyncs known now name, by name."""
    return {
        by_name(namespace, name) for (namespace, _), trig in ctx.triggers.items() for name in trig.configmaps
    }


def _name_in(field_selector: str | None) -> str | None:
    """The name a watch by name (`by_name`) selects; None for a watch by selector."""
    prefix = "metadata.name="
    if field_selector and field_selector.startswith(prefix):
        return field_selector.removeprefix(prefix)
    return None


class FirstListWatcher(TLSSecretWatcher):
    """A watch by name that calls `on_listed()` once its first list is in (a bundle ConfigMap's,
    or a shard's Secret's).

    It starts after the syncs naming the object may have read it; `on_listed` compares the first
    list with what they read (SecretChanges.listed). `compared` is set once that is done.
    """

    def __init__(self, on_listed: Callable[[], Awaitable[None]], *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._on_listed = on_listed
        self.compared = asyncio.Event()

    async def run(self) -> None:
        compare = asyncio.create_task(self._compare(), name="first-list")
        try:
            await super().run()
        finally:
            compare.cancel()
            await asyncio.gather(compare, return_exceptions=True)

    async def _compare(self) -> None:
        await self.ready.wait()
        try:
            await self._on_listed()
        except Exception:  # a failed mark must not stop the watch; the drift check catches up
            logger.exception("comparing the first list of %s/%s failed", self.namespace, self.field_selector)
        finally:
            self.compared.set()


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

    @property
    def running(self) -> dict[WatchKey, tuple[TLSSecretWatcher, asyncio.Task[None]]]:
        return self._watchers.running

    def changed(self) -> None:
        """The trigger index changed: refresh the watches soon (called on the event loop)."""
        self._changed.set()

    def _watcher(self, key: WatchKey) -> TLSSecretWatcher:
        namespace, field_selector, label_selector = key
        callback = self._make_callback()
        options: dict[str, Any] = {
            "namespace": namespace,
            "label_selector": label_selector,
            "field_selector": field_selector,
            # By name: a password may be in a Secret of any type; by selector: the source types.
            "secret_types": None if field_selector else frozenset(keys.SOURCE_SECRET_TYPES),
            "digest": data_digest,
        }
        # A shard starts these as its syncs arrive (created, or moved in from another shard): a
        # change made before the first list must not be missed. A watch by name compares its
        # first list with the versions the syncs read (decision 201); a selector's first list
        # reports each Secret once (a selection has no per-name reads to compare with).
        name = _name_in(field_selector)
        watcher: TLSSecretWatcher
        if self._ctx.options.shard is None:
            watcher = TLSSecretWatcher(self._client, callback, **options)  # type: ignore[arg-type]
        elif name is not None:
            compare = functools.partial(callback.listed, namespace, name)  # type: ignore[attr-defined]
            watcher = FirstListWatcher(compare, self._client, callback, **options)
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
        watcher = FirstListWatcher(
            functools.partial(callback.listed, namespace, _name_in(field_selector)),  # type: ignore[attr-defined]
            self._client,
            callback,  # type: ignore[arg-type]
            namespace=namespace,
            field_selector=field_selector,
            secret_types=None,  # ConfigMaps have no type
            digest=configmap_digest,
            plural="configmaps",
        )
        callback.watcher = watcher  # type: ignore[attr-defined]
        return watcher

    def _update(self, watchers: WatcherSet, wanted: set[WatchKey], plural: str) -> list[asyncio.Task[None]]:
        for namespace, field_selector, _ in watchers.running.keys() - wanted:
            if (name := _name_in(field_selector)) is not None:  # its first list compares no reads now
                self._ctx.triggers.forget_reads(plural, namespace, name)
        return watchers.update(wanted)

    async def refresh(self) -> None:
        gone = self._update(self._watchers, wanted_watches(self._ctx, self._covered()), "secrets")
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
