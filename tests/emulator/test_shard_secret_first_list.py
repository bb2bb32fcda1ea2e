"""A shard's Secret watches by name compare their first list with what the syncs read (decision 201).

In a shard (`--shard i`) an unlabelled Secret a sync names is watched by name from the moment the
sync arrives (created, resumed after a restart, or moved in), while the sync's reconcile already
reads it. A renewal between that read and the watch's first list must still mark the sync, and
Secrets the syncs read unchanged must not: a restart must patch no CertificateSync, even one
naming several Secrets (each mark would be a real change of its annotation and a full reconcile).
"""

from __future__ import annotations

import asyncio

import httpx

from certsync_devkit.k8s_builders import certificate_sync, tls_secret
from certsync_devkit.k8s_emulator import RealisticEmulator
from certsync_devkit.k8s_thread import request_log
from netscaler_certsync.k8s import KubeClient, by_name, keys
from netscaler_certsync.reconcile import cluster
from netscaler_certsync.reconcile.context import OperatorContext, OperatorOptions
from netscaler_certsync.reconcile.triggers import SECRET_CHANGED
from tests.support.waiting import until as settle

SPEC = {"connectionRefs": [{"name": "adc"}], "certificates": [{"secretName": "a"}, {"secretName": "b"}]}
SYNC_PATH = f"/apis/{keys.GROUP}/{keys.VERSION}/namespaces/default/{keys.SYNC_PLURAL}/www"


async def _none(*_: object) -> None:
    return None  # replaced by cluster.attach


def _patches(k8s: RealisticEmulator) -> list[object]:
    """The operator's PATCHes of the CertificateSync (each marks it for a re-sync)."""
    return [r for r in request_log(k8s) if r.method == "PATCH" and r.path == SYNC_PATH]


class _Shard:
    """One shard process's Secret watches (started as `run --shard 0` starts them)."""

    def __init__(self, kube: KubeClient) -> None:
        self.ctx = OperatorContext(get_secret=_none, list_secrets=_none, options=OperatorOptions(shard="0"))
        cluster.attach(self.ctx, kube)
        self.started = cluster.start_secret_watchers(self.ctx, kube, ["default"])

    async def read(self) -> None:
        """The sync's reconcile reads its Secrets."""
        for name in ("a", "b"):
            assert await self.ctx.get_secret("default", name) is not None

    async def sync_arrives(self, resumed: bool = True) -> None:
        """kopf shows the sync (listed at start, resumed; or later, moved into the shard): its
        Secrets' watches by name start and list them once."""
        self.ctx.triggers.update("default", "www", SPEC, resumed=resumed)
        sources = self.started[-1][0]
        for name in ("a", "b"):
            key = by_name("default", name)
            await settle(lambda key=key: key in sources.running, f"{name}'s watch")  # type: ignore[attr-defined]
            await settle(sources.running[key][0].ready.is_set, f"{name}'s first list")  # type: ignore[attr-defined]

    async def compared(self) -> None:
        """Each first list has been compared with what the sync read (marks sent)."""
        sources = self.started[-1][0]
        for name in ("a", "b"):
            watcher = sources.running[by_name("default", name)][0]  # type: ignore[attr-defined]
            await settle(watcher.compared.is_set, f"{name}'s first list compared")

    async def stop(self) -> None:
        for _, task in self.started:
            task.cancel()
        await asyncio.gather(*(t for _, t in self.started), return_exceptions=True)


async def test_a_restart_with_unchanged_secrets_patches_no_sync(
    k8s: RealisticEmulator, kube: KubeClient, writer: httpx.AsyncClient
) -> None:
    await k8s.create_object(tls_secret("a", b"c", b"k"))
    await k8s.create_object(tls_secret("b", b"c", b"k"))
    await k8s.create_object(certificate_sync("www", SPEC))
    for read_first in (True, False, True):  # a start, then restarts, in either order of read and list
        shard = _Shard(kube)
        try:
            if read_first:
                await shard.read()
            await shard.sync_arrives()
            if not read_first:
                await shard.read()
            await shard.compared()
        finally:
            await shard.stop()
        assert _patches(k8s) == [], f"a start (read first: {read_first}) patched the sync"


async def test_a_secret_renewed_before_its_watch_started_is_not_missed(
    k8s: RealisticEmulator, kube: KubeClient, writer: httpx.AsyncClient
) -> None:
    await k8s.create_object(tls_secret("a", b"c", b"k"))
    await k8s.create_object(tls_secret("b", b"c", b"k"))
    await k8s.create_object(certificate_sync("www", SPEC))
    shard = _Shard(kube)
    try:
        await shard.read()
        reply = await writer.patch(  # renewed between the sync's read and its watch's first list
            "/api/v1/namespaces/default/secrets/b",
            json={"data": {"tls.crt": "bmV3"}},
            headers={"Content-Type": "application/merge-patch+json"},
        )
        assert reply.status_code == 200, reply.text
        await shard.sync_arrives()
        await shard.compared()
        await settle(lambda: len(_patches(k8s)) >= 1, "the sync marked for b's renewal")
        mark = ((await writer.get(SYNC_PATH)).json()["metadata"].get("annotations") or {})[SECRET_CHANGED]
        assert mark == f"b@{reply.json()['metadata']['resourceVersion']}"
    finally:
        await shard.stop()
    assert len(_patches(k8s)) == 1, "one mark for the one renewal, none for the unchanged Secret"


async def test_a_sync_moved_in_is_marked_once_as_no_reconcile_of_its_own_reads_its_secrets(
    k8s: RealisticEmulator, kube: KubeClient, writer: httpx.AsyncClient
) -> None:
    """kopf runs no handler for a sync that enters the shard's selection (its last-handled state
    is the old shard's): a renewal before its watches listed would wait for the periodic re-check,
    so without a read to compare with, the first of its Secrets' first lists marks it. Once: the
    reconcile that mark starts reads every Secret the sync names."""
    await k8s.create_object(tls_secret("a", b"c", b"k"))
    await k8s.create_object(tls_secret("b", b"c", b"k"))
    await k8s.create_object(certificate_sync("www", SPEC))
    # The old shard's last mark named a's version: the move's mark must still be a change.
    old_mark = {"metadata": {"annotations": {SECRET_CHANGED: f"a@{await _version(writer, 'a')}"}}}
    merge = {"Content-Type": "application/merge-patch+json"}
    assert (await writer.patch(SYNC_PATH, json=old_mark, headers=merge)).status_code == 200
    before = len(_patches(k8s))
    shard = _Shard(kube)
    try:
        await shard.sync_arrives(resumed=False)
        await shard.compared()
    finally:
        await shard.stop()
    assert len(_patches(k8s)) - before == 1, "one mark of the moved-in sync, not one per Secret"
    mark = ((await writer.get(SYNC_PATH)).json()["metadata"].get("annotations") or {})[SECRET_CHANGED]
    assert mark != old_mark["metadata"]["annotations"][SECRET_CHANGED] and ",arrived-" in mark


async def _version(writer: httpx.AsyncClient, secret: str) -> str:
    reply = await writer.get(f"/api/v1/namespaces/default/secrets/{secret}")
    return str(reply.json()["metadata"]["resourceVersion"])
