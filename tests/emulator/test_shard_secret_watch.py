"""A shard's Secret watching (decision 201): it lists only the Secrets its own syncs use.

Two shards' CertificateSyncs share one namespace with 200 unrelated TLS Secrets. Shard 0 must
receive from the API server exactly the Secrets its sync names or selects (labelled for the shard,
or not), hold only those in its watchers' indexes, and still see each of them change.
"""

from __future__ import annotations

import asyncio

import httpx

from certsync_devkit.k8s_builders import certificate_sync, tls_secret
from certsync_devkit.k8s_emulator import RealisticEmulator
from certsync_devkit.k8s_thread import request_log, unselected_secret_reads
from netscaler_certsync.k8s import KubeClient, by_name, keys
from netscaler_certsync.reconcile import cluster
from netscaler_certsync.reconcile.context import OperatorContext, OperatorOptions
from netscaler_certsync.reconcile.triggers import SECRET_CHANGED
from tests.support.waiting import until as settle

SHARD0 = {keys.SHARD_LABEL: "0"}
SPEC0 = {
    "connectionRefs": [{"name": "adc"}],
    "certificates": [{"secretName": "a0"}, {"secretName": "b0"}],
    "secretSelector": {"matchLabels": {"app": "web0"}},
}
SPEC1 = {"connectionRefs": [{"name": "adc1"}], "certificates": [{"secretName": "c1"}, {"secretName": "d1"}]}


async def _none(*_: object) -> None:
    return None


def _indexed(started: list[tuple[object, asyncio.Task[None]]]) -> set[str]:
    """Every Secret name any of the shard's watchers holds an index entry for."""
    sources = started[-1][0]
    watchers = [w for w, _ in started[:-1]] + [w for w, _ in sources.running.values()]  # type: ignore[attr-defined]
    return {name for w in watchers for (_ns, name) in w.index}  # type: ignore[attr-defined]


async def _marked(writer: httpx.AsyncClient, sync: str) -> str:
    path = f"/apis/{keys.GROUP}/{keys.VERSION}/namespaces/default/{keys.SYNC_PLURAL}/{sync}"
    reply = await writer.get(path)
    return ((reply.json().get("metadata") or {}).get("annotations") or {}).get(SECRET_CHANGED, "")


def _marks(k8s: RealisticEmulator, sync: str) -> list[object]:
    """The shard's patches of a CertificateSync (each marks it for a changed Secret)."""
    return [r for r in request_log(k8s) if r.method == "PATCH" and r.path.endswith(f"/{sync}")]


async def _renew(writer: httpx.AsyncClient, name: str, value: str, labels: dict | None = None) -> None:
    body: dict = {"data": {"tls.crt": value}}
    if labels is not None:
        body["metadata"] = {"labels": labels}
    reply = await writer.patch(
        f"/api/v1/namespaces/default/secrets/{name}",
        json=body,
        headers={"Content-Type": "application/merge-patch+json"},
    )
    assert reply.status_code == 200, reply.text


async def test_a_shard_lists_only_the_secrets_its_syncs_use(
    k8s: RealisticEmulator, kube: KubeClient, writer: httpx.AsyncClient
) -> None:
    for i in range(200):
        await k8s.create_object(tls_secret(f"unrelated-{i}", b"c", b"k"))
    await k8s.create_object(tls_secret("a0", b"c", b"k"))  # named by shard 0's sync, unlabelled
    await k8s.create_object(tls_secret("b0", b"c", b"k", labels=SHARD0))  # named, labelled
    await k8s.create_object(tls_secret("s0", b"c", b"k", labels={"app": "web0"}))  # selected
    await k8s.create_object(tls_secret("c1", b"c", b"k", labels={keys.SHARD_LABEL: "1"}))
    await k8s.create_object(tls_secret("d1", b"c", b"k"))
    await k8s.create_object(certificate_sync("sync0", SPEC0))
    await k8s.create_object(certificate_sync("sync1", SPEC1))

    ctx = OperatorContext(get_secret=_none, list_secrets=_none, options=OperatorOptions(shard="0"))
    ctx.triggers.update("default", "sync0", SPEC0)  # shard 0's kopf sees only its own sync
    started = cluster.start_secret_watchers(ctx, kube, ["default"])
    sources = started[-1][0]
    try:
        await settle(lambda: len(_indexed(started)) >= 3, "first lists")
        # sync0 arrived after the start (no resume reconciles it): a0's first list marks it (the
        # Secrets may have changed before the watches listed them), and the selector's first list
        # reports s0 once, whose mark reads its labels (one more object, s0).
        await settle(lambda: len(_marks(k8s, "sync0")) >= 2, "the first lists' marks")
        assert kube.stats.objects_received == 3 + 1, "only a0, b0 (shard label) and s0 may reach the shard"
        wanted = {by_name("default", "a0"), ("default", keys.TLS_TYPE_FIELD_SELECTOR, "app=web0")}
        assert set(sources.running) == wanted, "a0 by name, the selector by itself"  # type: ignore[attr-defined]
        assert _indexed(started) == {"a0", "b0", "s0"}

        # The other shard's Secrets change first; each of shard 0's Secrets changing still marks
        # its sync, and nothing of shard 1 arrived meanwhile (one watch event per change).
        await _renew(writer, "c1", "bmV3")
        await _renew(writer, "d1", "bmV3")
        for n, name in enumerate(("a0", "b0", "s0"), start=1):
            await _renew(writer, name, "bmV3")
            await settle(lambda n=n: len(_marks(k8s, "sync0")) == 2 + n, f"{name}'s renewal marks sync0")
            assert (await _marked(writer, "sync0")).startswith(f"{name}@")
        assert _marks(k8s, "sync1") == []
        # Per change one watch event, and one read of its labels (the namespace has a selector).
        assert kube.stats.objects_received == 3 + 1 + 3 * 2
        assert _indexed(started) == {"a0", "b0", "s0"}

        # a0 gains the shard label: the shard's label watch lists it and its watch by name stops.
        await _renew(writer, "a0", "bmV3", labels=SHARD0)
        await settle(lambda: by_name("default", "a0") not in sources.running, "a0 no longer by name")  # type: ignore[attr-defined]
    finally:
        for _, task in started:
            task.cancel()
        await asyncio.gather(*(task for _, task in started), return_exceptions=True)
    assert unselected_secret_reads(request_log(k8s)) == []
