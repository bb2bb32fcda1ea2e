"""A client-auth CA bundle changed between a sync's read and the start of its ConfigMap watch.

The watch of a bundle ConfigMap (reconcile/source_watch.py) starts when a sync naming it arrives,
while the sync's first reconcile already reads the bundle: a change in between must still mark
the sync (its re-sync binds the new CA at once, not at the next periodic re-check), and a bundle
the syncs already read unchanged must not be marked again (a restart patches no CertificateSync).
Sharded or not, the watches by name start the same way.
"""

from __future__ import annotations

import asyncio

import httpx
import pytest

from certsync_devkit.k8s_builders import certificate_sync
from certsync_devkit.k8s_emulator import RealisticEmulator
from certsync_devkit.k8s_thread import request_log
from netscaler_certsync.k8s import KubeClient, by_name, keys
from netscaler_certsync.reconcile import cluster
from netscaler_certsync.reconcile.context import OperatorContext, OperatorOptions
from netscaler_certsync.reconcile.triggers import SECRET_CHANGED
from tests.support.waiting import until as settle

SPEC = {
    "connectionRefs": [{"name": "adc"}],
    "certificates": [{"secretName": "www"}],
    "bindings": [
        {
            "vserver": "vs_https",
            "clientAuth": {"caFrom": {"configMapKeyRef": {"name": "bundle", "key": "ca.pem"}}},
        }
    ],
}
CM_PATH = "/api/v1/namespaces/default/configmaps/bundle"
SYNC_PATH = f"/apis/{keys.GROUP}/{keys.VERSION}/namespaces/default/{keys.SYNC_PLURAL}/www"


async def _none(*_: object) -> None:
    return None  # replaced by cluster.attach


def _bundle(pem: str) -> dict:
    return {
        "apiVersion": "v1",
        "kind": "ConfigMap",
        "metadata": {"name": "bundle", "namespace": "default"},
        "data": {"ca.pem": pem},
    }


def _patches(k8s: RealisticEmulator) -> list[object]:
    """The operator's PATCHes of the CertificateSync (each marks it for a re-sync)."""
    return [r for r in request_log(k8s) if r.method == "PATCH" and r.path == SYNC_PATH]


async def _mark(writer: httpx.AsyncClient) -> str:
    reply = await writer.get(SYNC_PATH)
    return ((reply.json().get("metadata") or {}).get("annotations") or {}).get(SECRET_CHANGED, "")


class _Operator:
    """One operator process's watches (started as `run` starts them), stopped by its own handle."""

    def __init__(self, kube: KubeClient, shard: str | None) -> None:
        self.ctx = OperatorContext(get_secret=_none, list_secrets=_none, options=OperatorOptions(shard=shard))
        cluster.attach(self.ctx, kube)
        self._kube = kube
        self.started: list[tuple[object, asyncio.Task[None]]] = []

    def start(self) -> None:
        self.started = cluster.start_secret_watchers(self.ctx, self._kube, ["default"])

    async def sync_arrives(self) -> None:
        """kopf shows the sync: the trigger index knows it; its bundle's watch lists it once."""
        self.ctx.triggers.update("default", "www", SPEC)
        sources = self.started[-1][0]
        key = by_name("default", "bundle")
        await settle(lambda: key in sources.configmaps, "the bundle's watch")  # type: ignore[attr-defined]
        watcher = sources.configmaps[key][0]  # type: ignore[attr-defined]
        await settle(watcher.ready.is_set, "the bundle's first list")

    async def first_list_compared(self) -> None:
        """The bundle's first list has been compared with what the syncs read (marks sent)."""
        sources = self.started[-1][0]
        watcher = sources.configmaps[by_name("default", "bundle")][0]  # type: ignore[attr-defined]
        await settle(watcher.compared.is_set, "the first list compared with the reads")

    async def stop(self) -> None:
        for _, task in self.started:
            task.cancel()
        await asyncio.gather(*(t for _, t in self.started), return_exceptions=True)


@pytest.mark.parametrize("shard", [None, "0"])
async def test_a_bundle_changed_before_its_watch_started_is_not_missed(
    k8s: RealisticEmulator, kube: KubeClient, writer: httpx.AsyncClient, shard: str | None
) -> None:
    await k8s.create_object(_bundle("old CA"))
    await k8s.create_object(certificate_sync("www", SPEC))

    # First process: the sync's reconcile reads the bundle before its watch has listed it...
    op = _Operator(kube, shard)
    op.start()
    try:
        assert (await op.ctx.get_configmap("default", "bundle"))["data"]["ca.pem"] == "old CA"
        # ...trust-manager rewrites it in that window...
        reply = await writer.patch(
            CM_PATH,
            json={"data": {"ca.pem": "new CA"}},
            headers={"Content-Type": "application/merge-patch+json"},
        )
        assert reply.status_code == 200, reply.text
        new_version = reply.json()["metadata"]["resourceVersion"]
        await op.sync_arrives()
        # ...and the sync is marked with the version it has not read: its re-sync binds the new CA.
        await settle(lambda: len(_patches(k8s)) >= 1, "the sync marked for the new bundle")
        assert await _mark(writer) == f"configmap/bundle@{new_version}"
        assert (await op.ctx.get_configmap("default", "bundle"))["data"]["ca.pem"] == "new CA"
    finally:
        await op.stop()
    assert len(_patches(k8s)) == 1, "one mark for one change"

    # A restart with the bundle unchanged: the resumed sync reads it, the watch lists the same
    # version, and no CertificateSync is patched (in either order of the read and the first list).
    for read_first in (True, False):
        op = _Operator(kube, shard)
        op.start()
        try:
            if read_first:
                await op.ctx.get_configmap("default", "bundle")
            await op.sync_arrives()
            if not read_first:
                await op.ctx.get_configmap("default", "bundle")
            await op.first_list_compared()
        finally:
            await op.stop()
        assert len(_patches(k8s)) == 1, f"a restart (read first: {read_first}) patched a sync"


async def test_a_bundle_deleted_before_its_watch_started_is_not_missed(
    k8s: RealisticEmulator, kube: KubeClient, writer: httpx.AsyncClient
) -> None:
    await k8s.create_object(_bundle("old CA"))
    await k8s.create_object(certificate_sync("www", SPEC))
    op = _Operator(kube, None)
    op.start()
    try:
        await op.ctx.get_configmap("default", "bundle")
        assert (await writer.delete(CM_PATH)).status_code == 200
        await op.sync_arrives()
        await settle(lambda: len(_patches(k8s)) == 1, "the sync marked for the deleted bundle")
        assert (await _mark(writer)).startswith("configmap/bundle@deleted")
    finally:
        await op.stop()
