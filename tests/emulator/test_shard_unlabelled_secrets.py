"""A shard whose syncs name more unlabelled Secrets than the client has connections (decision 218).

Each unlabelled TLS Secret a shard's sync names used to be watched by name, one long-lived
connection of the operator's one Kubernetes client each: past the pool's 100 connections the
watches beyond it never listed, and the shard's ordinary requests (Secret reads, status PATCHes,
marks) waited for a connection that never came back, so no sync went Ready. The shard must still
read and write, follow every Secret, and mark exactly the sync of a renewed Secret, once.
"""

from __future__ import annotations

import asyncio
import base64

import httpx

from certsync_devkit.k8s_builders import certificate_sync, tls_secret
from certsync_devkit.k8s_emulator import RealisticEmulator
from certsync_devkit.k8s_thread import request_log, unselected_secret_reads
from netscaler_certsync.k8s import KubeClient, by_name, keys
from netscaler_certsync.reconcile import cluster
from netscaler_certsync.reconcile.context import OperatorContext, OperatorOptions
from netscaler_certsync.reconcile.source_watch import (
    NAMESPACE_WATCH_ABOVE,
    NAMESPACE_WATCH_BELOW,
    namespace_tls,
)
from netscaler_certsync.reconcile.triggers import SECRET_CHANGED
from tests.support.waiting import until as settle

SYNCS = 130  # more than the client's 100 pooled connections
SHARD1 = {keys.SHARD_LABEL: "1"}
_renewals: list[str] = []


async def _none(*_: object) -> None:
    return None  # replaced by cluster.attach


def _spec(i: int) -> dict:
    return {"connectionRefs": [{"name": "adc"}], "certificates": [{"secretName": f"s{i}"}]}


def _sync_path(i: int) -> str:
    return f"/apis/{keys.GROUP}/{keys.VERSION}/namespaces/default/{keys.SYNC_PLURAL}/sync{i}"


def _marks(k8s: RealisticEmulator, i: int) -> list[object]:
    return [r for r in request_log(k8s) if r.method == "PATCH" and r.path == _sync_path(i)]


def _secret_watches(k8s: RealisticEmulator) -> set[str]:
    """The distinct Secret watches the shard opened (by their selectors)."""
    return {
        f"{r.params.get('fieldSelector')}|{r.params.get('labelSelector')}"
        for r in request_log(k8s)
        if r.method == "GET" and r.path.endswith("/secrets") and r.params.get("watch") == "true"
    }


async def _renew(writer: httpx.AsyncClient, name: str) -> str:
    _renewals.append(name)  # each renewal new content
    content = base64.b64encode(f"renewal {len(_renewals)}".encode()).decode()
    reply = await writer.patch(
        f"/api/v1/namespaces/default/secrets/{name}",
        json={"data": {"tls.crt": content}},
        headers={"Content-Type": "application/merge-patch+json"},
    )
    assert reply.status_code == 200, reply.text
    return str(reply.json()["metadata"]["resourceVersion"])


async def _mark_of(writer: httpx.AsyncClient, i: int) -> str:
    reply = await writer.get(_sync_path(i))
    return ((reply.json().get("metadata") or {}).get("annotations") or {}).get(SECRET_CHANGED, "")


async def test_a_shard_naming_more_unlabelled_secrets_than_the_pool_still_reads_writes_and_renews(
    k8s: RealisticEmulator, kube: KubeClient, writer: httpx.AsyncClient
) -> None:
    for i in range(SYNCS):
        await k8s.create_object(tls_secret(f"s{i}", b"c", b"k"))  # unlabelled
        await k8s.create_object(certificate_sync(f"sync{i}", _spec(i)))
    for i in range(20):  # another shard's Secrets in the same namespace
        await k8s.create_object(tls_secret(f"other{i}", b"c", b"k", labels=SHARD1))

    ctx = OperatorContext(get_secret=_none, list_secrets=_none, options=OperatorOptions(shard="0"))
    cluster.attach(ctx, kube)
    for i in range(SYNCS):  # kopf listed them at start: their resume handlers reconcile them
        ctx.triggers.update("default", f"sync{i}", _spec(i), resumed=True)
    started = cluster.start_secret_watchers(ctx, kube, ["default"])
    sources = started[-1][0]
    try:

        def listed() -> bool:
            running = [w for w, _ in sources.running.values()]  # type: ignore[attr-defined]
            return bool(running) and all(w.ready.is_set() for w in running)

        await settle(listed, "every Secret watch's first list", within=15)
        # Each sync's reconcile reads its Secret and writes its status while the watches are
        # open: none of it may wait on a connection a watch holds.
        for i in range(SYNCS):
            assert await asyncio.wait_for(ctx.get_secret("default", f"s{i}"), 5) is not None
        await asyncio.wait_for(ctx.patch_sync_status("default", "sync7", {"observedGeneration": 1}), 5)
        status = [r for r in request_log(k8s) if r.method == "PATCH" and r.path == _sync_path(7) + "/status"]
        assert len(status) == 1, "the status PATCH went through"
        before = {i: len(_marks(k8s, i)) for i in (0, SYNCS - 1)}

        for i in (0, SYNCS - 1):  # the first and the last Secret named are both followed
            version = await _renew(writer, f"s{i}")
            await settle(lambda i=i: len(_marks(k8s, i)) > before[i], f"s{i}'s renewal marks sync{i}")
            assert await _mark_of(writer, i) == f"s{i}@{version}"
        await _renew(writer, "other3")  # another shard's Secret: marks nothing here
        await _renew(writer, "s5")
        await settle(lambda: len(_marks(k8s, 5)) == 1, "s5's renewal marks sync5")
        assert [len(_marks(k8s, i)) - before[i] for i in (0, SYNCS - 1)] == [1, 1], "one mark per renewal"
        assert all(len(_marks(k8s, i)) == 0 for i in range(1, SYNCS - 1) if i != 5)
        indexed = {name for w, _ in sources.running.values() for _ns, name in w.index}  # type: ignore[attr-defined]
        assert indexed == {f"s{i}" for i in range(SYNCS)}, "the shard holds only the Secrets it uses"
        assert len(_secret_watches(k8s)) <= 20, "the Secret watches do not grow with the names"
    finally:
        for _, task in started:
            task.cancel()
        await asyncio.gather(*(task for _, task in started), return_exceptions=True)
    assert unselected_secret_reads(request_log(k8s)) == []


async def test_a_namespace_switching_between_watches_by_name_and_one_watch_reports_each_renewal_once(
    k8s: RealisticEmulator, kube: KubeClient, writer: httpx.AsyncClient
) -> None:
    """A few unlabelled Secrets are watched by name; past NAMESPACE_WATCH_ABOVE in a namespace
    one watch of its TLS Secrets takes over, and below NAMESPACE_WATCH_BELOW watches by name
    again. No switch marks a sync whose Secret did not change, and no renewal is missed or
    reported twice; a sync arriving while the namespace is watched is followed from its arrival
    (its Secret renewed before the watch listed it still marks it)."""
    few, many = NAMESPACE_WATCH_BELOW, NAMESPACE_WATCH_ABOVE + 4
    for i in range(many + 1):
        await k8s.create_object(tls_secret(f"s{i}", b"c", b"k"))
        await k8s.create_object(certificate_sync(f"sync{i}", _spec(i)))
    ctx = OperatorContext(get_secret=_none, list_secrets=_none, options=OperatorOptions(shard="0"))
    cluster.attach(ctx, kube)
    for i in range(few):
        ctx.triggers.update("default", f"sync{i}", _spec(i), resumed=True)
    started = cluster.start_secret_watchers(ctx, kube, ["default"])
    sources = started[-1][0]
    wide = namespace_tls("default")

    def compared(keys: set) -> bool:
        running = sources.running  # type: ignore[attr-defined]
        return set(running) == keys and all(running[k][0].compared.is_set() for k in keys)

    def patches() -> int:
        return sum(len(_marks(k8s, i)) for i in range(many + 1))

    try:
        await settle(lambda: compared({by_name("default", f"s{i}") for i in range(few)}), "watches by name")
        version = await _renew(writer, "s1")
        await settle(lambda: len(_marks(k8s, 1)) == 1, "s1's renewal by its watch by name")

        for i in range(few, many):  # more syncs: one watch of the namespace takes over
            ctx.triggers.update("default", f"sync{i}", _spec(i), resumed=True)
        await settle(lambda: compared({wide}), "the namespace watch")
        assert sources.running[wide][0].names == {f"s{i}" for i in range(many)}  # type: ignore[attr-defined]
        assert patches() == 1, "the switch marked no sync"
        version = await _renew(writer, "s1")
        await settle(lambda: len(_marks(k8s, 1)) == 2, "s1's renewal by the namespace watch")
        assert await _mark_of(writer, 1) == f"s1@{version}"

        # A sync arrives; its reconcile reads its Secret, which is renewed before the watch lists it.
        assert await ctx.get_secret("default", f"s{many}") is not None
        version = await _renew(writer, f"s{many}")
        ctx.triggers.update("default", f"sync{many}", _spec(many), resumed=True)
        await settle(lambda: len(_marks(k8s, many)) == 1, "the renewal before the list marks the new sync")
        assert await _mark_of(writer, many) == f"s{many}@{version}"
        assert sources.running[wide][0].relists >= 1  # type: ignore[attr-defined]

        for i in range(few + 2, many + 1):  # syncs go: still one watch until a few are left
            ctx.triggers.remove("default", f"sync{i}")
        names = {f"s{i}" for i in range(few + 2)}
        await settle(lambda: sources.running[wide][0].names == names, "the namespace watch's names")  # type: ignore[attr-defined]
        assert {name for _, name in sources.running[wide][0].index} == names  # type: ignore[attr-defined]
        for i in range(few, few + 2):  # most syncs went: watches by name again
            ctx.triggers.remove("default", f"sync{i}")
        await settle(
            lambda: compared({by_name("default", f"s{i}") for i in range(few)}), "watches by name again"
        )
        assert patches() == 3, "the switch back marked no sync"
        await _renew(writer, "s2")
        await settle(lambda: len(_marks(k8s, 2)) == 1, "s2's renewal by its watch by name")
        await _renew(writer, f"s{many - 1}")  # no sync of this shard names it now
        await _renew(writer, "s1")
        await settle(lambda: len(_marks(k8s, 1)) == 3, "s1's renewal")
        assert patches() == 5, "one mark per renewal of a Secret a sync names"
    finally:
        for _, task in started:
            task.cancel()
        await asyncio.gather(*(task for _, task in started), return_exceptions=True)
