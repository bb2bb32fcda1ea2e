"""Bind the reconcilers to a live Kubernetes API through the thin `k8s` client.

Adapts `KubeClient` to the small callables `OperatorContext` expects (a missing Secret is None,
not an exception), wires the TLS Secret watcher (and the watches of declared sources and of CA
bundle ConfigMaps, reconcile/source_watch.py) to the trigger index, and the watch of the
connections' Secrets to the connections (reconcile/connection_triggers.py).
"""

from __future__ import annotations

import asyncio
import datetime as dt
import logging
from collections.abc import Callable, Mapping, Sequence
from typing import Any

from netscaler_certsync.k8s import KubeClient, NamedSecretWatch, NotFound, TLSSecretWatcher, keys
from netscaler_certsync.reconcile import connection_triggers
from netscaler_certsync.reconcile.context import OperatorContext
from netscaler_certsync.reconcile.source_watch import SourceWatches
from netscaler_certsync.reconcile.triggers import SECRET_CHANGED, configmap_changed, secret_changed

logger = logging.getLogger(__name__)


def attach(ctx: OperatorContext, client: KubeClient) -> None:
    # Each version a reconcile reads of a bundle, or in a shard of a Secret, is noted: its watch
    # by name may list it only later (SecretChanges.listed compares), so a change in between is
    # not missed and an unchanged object marks nothing (decisions 201, 204).
    note_secrets = ctx.options.shard is not None  # only a shard's Secret watches start with syncs

    async def get_secret(namespace: str, name: str) -> Mapping[str, Any] | None:
        try:
            found = await client.get_secret(namespace, name)
        except NotFound:
            if note_secrets:
                ctx.triggers.read("secrets", namespace, name, None)
            return None
        if note_secrets:
            ctx.triggers.read("secrets", namespace, name, _version(found))
        return found

    async def get_configmap(namespace: str, name: str) -> Mapping[str, Any] | None:
        try:
            found = await client.get_configmap(namespace, name)
        except NotFound:
            ctx.triggers.read("configmaps", namespace, name, None)
            return None
        ctx.triggers.read("configmaps", namespace, name, _version(found))
        return found

    async def list_secrets(
        namespace: str, label_selector: str, field_selector: str | None = keys.TLS_TYPE_FIELD_SELECTOR
    ) -> Sequence[Mapping[str, Any]]:
        listed = await client.list_secrets(namespace, label_selector, field_selector)
        return listed.items

    async def patch_sync_status(namespace: str, name: str, status: Mapping[str, Any]) -> str | None:
        patched = await client.patch_merge(
            keys.GROUP,
            keys.VERSION,
            keys.SYNC_PLURAL,
            namespace,
            name,
            {"status": status},
            subresource="status",
        )
        return (patched.get("metadata") or {}).get("resourceVersion")

    async def annotate(plural: str, namespace: str, name: str, key: str, value: str) -> None:
        patch = {"metadata": {"annotations": {key: value}}}
        await client.patch_merge(keys.GROUP, keys.VERSION, plural, namespace, name, patch)

    async def get_sync(namespace: str, name: str) -> Mapping[str, Any] | None:
        try:
            return await client.get_object(keys.GROUP, keys.VERSION, keys.SYNC_PLURAL, namespace, name)
        except NotFound:
            return None

    async def post_event(involved: Mapping[str, Any], type: str, reason: str, message: str) -> None:
        if type == "Warning":
            await client.create_event(involved, reason, message, "Warning", keys.EVENT_COMPONENT)
        else:
            await client.create_event(involved, reason, message, "Normal", keys.EVENT_COMPONENT)

    ctx.get_secret = get_secret
    ctx.get_sync = get_sync
    ctx.post_event = post_event
    ctx.list_secrets = list_secrets
    ctx.get_configmap = get_configmap
    ctx.patch_sync_status = patch_sync_status
    ctx.annotate = annotate


def _version(obj: Mapping[str, Any]) -> str:
    return str((obj.get("metadata") or {}).get("resourceVersion"))


class SecretChanges:
    """The watcher's callback: mark the CertificateSyncs a changed TLS Secret concerns.

    A watch by name that starts when a sync arrives, while its reconcile may already have read
    the object (a shard's Secret, a bundle ConfigMap), calls `listed` with its first list instead
    of reporting it: the listed version is compared with the versions read (attach), and the
    syncs are marked only if one read another, so a change in that window is not missed and an
    unchanged object patches nothing at a restart. A sync no reconcile reads it for (moved into a
    shard) is marked once, by the first of its Secrets' first lists (`arrived`).
    """

    plural = "secrets"

    def __init__(
        self, ctx: OperatorContext, client: KubeClient, on_membership: Callable[[], None] | None = None
    ) -> None:
        self.ctx = ctx
        self.client = client
        self.watcher: TLSSecretWatcher | None = None
        self._on_membership = on_membership  # a Secret entered or left this watcher's selection

    async def labels_of(self, namespace: str, name: str) -> Mapping[str, str] | None:
        try:
            secret = await self.client.get_secret(namespace, name)
        except NotFound:
            return None
        return (secret.get("metadata") or {}).get("labels") or {}

    async def annotate(self, namespace: str, name: str, value: str) -> None:
        patch = {"metadata": {"annotations": {SECRET_CHANGED: value}}}
        await self.client.patch_merge(keys.GROUP, keys.VERSION, keys.SYNC_PLURAL, namespace, name, patch)

    async def __call__(self, namespace: str, name: str, kind: str) -> None:
        if self._on_membership is not None and kind in ("added", "deleted"):
            self._on_membership()
        self.ctx.triggers.reported(self.plural, namespace, name)
        await self._mark(namespace, name, kind)

    async def listed(self, namespace: str, name: str) -> None:
        """The watch's first list is in: mark the syncs if they read another version before it,
        and each sync no reconcile will read it for (`arrived`)."""
        entry = self.watcher.index.get((namespace, name)) if self.watcher else None
        listed = entry.resource_version if entry else None
        if self.ctx.triggers.read_other(self.plural, namespace, name, listed):
            await self._mark(namespace, name, "modified" if entry else "deleted")
        if listed is not None:
            await self.arrived(namespace, name, listed)

    async def arrived(self, namespace: str, name: str, version: str) -> None:
        # A sync kopf did not list at start (one moved into the shard) gets no reconcile of its
        # own: unless marked it would not look at a Secret renewed before this watch listed it.
        # One mark per arrival, not one per Secret it names: marked, its reconcile reads them all,
        # so its other Secrets' first lists only compare (and it is noted before the PATCH, as
        # those lists run at the same time). The value is new, so the mark is a change that
        # kopf reacts to even if the sync's last mark (from the old shard) named this version.
        triggers = self.ctx.triggers
        stamp = dt.datetime.now(dt.UTC).strftime("%Y%m%dT%H%M%S.%f")
        for sync in triggers.unreconciled(namespace, name):
            triggers.reconciling(namespace, sync)
            try:
                await self.annotate(namespace, sync, f"{name}@{version},arrived-{stamp}")
            except Exception:  # the drift check catches up
                triggers.reconciling(namespace, sync, marked=False)
                logger.exception("could not mark CertificateSync %s/%s, which arrived", namespace, sync)

    async def _mark(self, namespace: str, name: str, kind: str) -> None:
        entry = self.watcher.index.get((namespace, name)) if self.watcher else None
        if kind == "deleted":
            version = "deleted-" + dt.datetime.now(dt.UTC).strftime("%Y%m%dT%H%M%S.%f")
        else:
            version = entry.resource_version if entry else dt.datetime.now(dt.UTC).strftime("%H%M%S.%f")
        await secret_changed(
            self.ctx.triggers,
            namespace,
            name,
            version,
            self.labels_of,
            self._annotate_and_recheck,
            relabelled=kind == "relabelled",
        )

    async def _annotate_and_recheck(self, namespace: str, name: str, value: str) -> None:
        # The mark stays the record (kopf's handler answers it after a restart too); the re-check
        # makes the renewal independent of how long kopf takes to deliver it (decision 237). It is
        # due before the PATCH: kopf's handler, which can only come after it, then finds it pending.
        self.ctx.secret_marked(namespace, name, value)
        await self.annotate(namespace, name, value)


class ConfigMapChanges(SecretChanges):
    """The callback of a CA bundle ConfigMap's watch: mark the CertificateSyncs that name it."""

    plural = "configmaps"

    async def __call__(self, namespace: str, name: str, kind: str) -> None:
        if kind == "relabelled":
            return  # a bundle is named, not selected: labels change nothing
        await super().__call__(namespace, name, kind)

    async def arrived(self, namespace: str, name: str, version: str) -> None:
        return None  # decision 204: the syncs' reconciles read the bundle

    async def _mark(self, namespace: str, name: str, kind: str) -> None:
        # The version, as for Secrets: a sync already marked with it is not changed again.
        entry = self.watcher.index.get((namespace, name)) if self.watcher else None
        version = (
            entry.resource_version if entry else "deleted-" + dt.datetime.now(dt.UTC).strftime("%H%M%S.%f")
        )
        await configmap_changed(self.ctx.triggers, namespace, name, version, self.annotate)


def start_connection_secret_watch(ctx: OperatorContext, client: KubeClient) -> NamedSecretWatch:
    """Watch the Secrets NetScalerConnections reference; the connections' handlers add them."""

    async def changed(namespace: str, name: str, version: str) -> None:
        await connection_triggers.secret_changed(ctx, namespace, name, version)

    watch = NamedSecretWatch(changed)
    ctx.secret_refs = watch
    watch.start(client)
    return watch


def start_secret_watchers(
    ctx: OperatorContext, client: KubeClient, namespaces: Sequence[str | None]
) -> list[tuple[object, asyncio.Task[None]]]:
    """One TLS watcher per plain namespace, or one cluster-wide (None: all namespaces, or globs),
    and the task that follows the Secrets of declared sources by name (reconcile/source_watch.py).

    A shard's TLS watchers select only Secrets labelled with its shard; the Secrets its syncs use
    without that label are followed by name or by their selector instead (decision 201).
    """
    shard = None if ctx.options.shard is None else f"{keys.SHARD_LABEL}={ctx.options.shard}"
    started: list[tuple[object, asyncio.Task[None]]] = []
    watchers: list[TLSSecretWatcher] = []
    sources = SourceWatches(
        ctx,
        client,
        lambda: SecretChanges(ctx, client),
        lambda: ConfigMapChanges(ctx, client),
        covered=lambda: covered(),
    )
    for namespace in namespaces:
        changes = SecretChanges(ctx, client, on_membership=sources.changed if shard else None)
        watcher = TLSSecretWatcher(client, changes, namespace=namespace, label_selector=shard)
        changes.watcher = watcher
        watchers.append(watcher)
        task = asyncio.create_task(watcher.run(), name=f"tls-secret-watch:{namespace or '*'}")
        started.append((watcher, task))

    def covered() -> frozenset[tuple[str, str]]:
        return frozenset().union(*(w.index.keys() for w in watchers)) if shard else frozenset()

    async def follow_sources() -> None:
        if shard:  # what the shard's label lists is not watched by name as well
            await asyncio.gather(*(w.ready.wait() for w in watchers))
        await sources.run()

    ctx.triggers.on_change = sources.changed
    started.append((sources, asyncio.create_task(follow_sources(), name="source-secret-watches")))
    return started
