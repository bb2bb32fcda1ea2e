"""TLSSecretWatcher: server-side selection, a digest-only index, change detection, relist, reconnect."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Callable, Mapping
from contextlib import asynccontextmanager
from typing import Any

import httpx
import kmock
import pytest

from certsync_devkit.k8s_builders import opaque_secret, tls_secret
from certsync_devkit.k8s_emulator import RealisticEmulator
from certsync_devkit.k8s_thread import request_log, unselected_secret_reads
from netscaler_certsync.k8s import Backoff, ChangeKind, IndexEntry, KubeClient, TLSSecretWatcher, secret_watch
from netscaler_certsync.k8s.secrets import tls_content_digest
from tests.support.waiting import until as settle

SYNC_LABEL = "example.com/sync"  # a label of the tests' own: the operator selects no Secret label
SYNC = {SYNC_LABEL: "true"}
Change = tuple[str, str, ChangeKind]


def secrets_path(namespace: str = "default") -> str:
    return f"/api/v1/namespaces/{namespace}/secrets"


async def post(writer: httpx.AsyncClient, body: dict[str, object], namespace: str = "default") -> None:
    response = await writer.post(secrets_path(namespace), json=body)
    assert response.status_code == 201, response.text


async def patch(writer: httpx.AsyncClient, name: str, body: dict[str, object]) -> None:
    headers = {"Content-Type": "application/merge-patch+json"}
    response = await writer.patch(f"{secrets_path()}/{name}", json=body, headers=headers)
    assert response.status_code == 200, response.text


@asynccontextmanager
async def watching(
    kube: KubeClient, **kwargs: object
) -> AsyncIterator[tuple[TLSSecretWatcher, list[Change]]]:
    changes: list[Change] = []
    watcher = TLSSecretWatcher(
        kube, lambda ns, name, kind: changes.append((ns, name, kind)), backoff=Backoff(initial=0.01), **kwargs
    )  # type: ignore[arg-type]
    task = asyncio.create_task(watcher.run())
    try:
        await asyncio.wait_for(watcher.ready.wait(), 5)
        yield watcher, changes
    finally:
        task.cancel()
        with pytest.raises(asyncio.CancelledError):
            await task


async def run_until(watcher: TLSSecretWatcher, condition: Callable[[], bool], what: str) -> None:
    """Run the watcher until `condition` holds, then stop it."""
    task = asyncio.create_task(watcher.run())
    try:
        await settle(condition, what)
    finally:
        task.cancel()
        with pytest.raises(asyncio.CancelledError):
            await task


async def test_reports_tls_content_and_label_changes_only(
    kube: KubeClient, writer: httpx.AsyncClient
) -> None:
    await post(writer, tls_secret("existing", b"C0", b"K0"))
    async with watching(kube) as (watcher, changes):
        assert set(watcher.index) == {("default", "existing")} and changes == []  # initial list is silent
        await post(writer, tls_secret("web", b"C1", b"K1"))
        await post(writer, opaque_secret("creds", {"password": b"x"}))
        await settle(lambda: len(changes) == 1, "added")
        rv_before = watcher.index["default", "web"].resource_version
        await patch(writer, "web", {"metadata": {"annotations": {"x": "y"}}})
        await settle(
            lambda: watcher.index["default", "web"].resource_version != rv_before, "annotation churn"
        )
        assert len(changes) == 1, "an annotation selects nothing"
        await patch(writer, "web", {"metadata": {"labels": {"team": "a"}}})
        await settle(lambda: len(changes) == 2, "relabelled")  # a selector may now pick it
        renewed = tls_secret("web", b"C2", b"K2")
        await patch(writer, "web", {"data": renewed["data"]})
        await settle(lambda: len(changes) == 3, "modified")
        response = await writer.delete(f"{secrets_path()}/web")
        assert response.status_code == 200
        await settle(lambda: len(changes) == 4, "deleted")
    assert changes == [
        ("default", "web", "added"),
        ("default", "web", "relabelled"),
        ("default", "web", "modified"),
        ("default", "web", "deleted"),
    ]
    assert set(watcher.index) == {("default", "existing")}


async def test_leaving_the_label_selector_is_a_deletion(kube: KubeClient, writer: httpx.AsyncClient) -> None:
    async with watching(kube, label_selector=f"{SYNC_LABEL}=true") as (watcher, changes):
        await post(writer, tls_secret("web", b"C", b"K", labels=SYNC))
        await settle(lambda: changes == [("default", "web", "added")], "added")
        await patch(writer, "web", {"metadata": {"labels": {SYNC_LABEL: None}}})
        await settle(lambda: changes[-1] == ("default", "web", "deleted"), "deselected")
        assert watcher.index == {}


async def test_410_relist_reports_what_was_missed(
    k8s: RealisticEmulator, kube: KubeClient, writer: httpx.AsyncClient
) -> None:
    await post(writer, tls_secret("keep", b"C", b"K"))
    await post(writer, tls_secret("renew", b"C1", b"K1"))
    await post(writer, tls_secret("drop", b"C", b"K"))
    changes: list[Change] = []
    digested: list[str] = []

    def digest(secret: Mapping[str, Any]) -> bytes:
        digested.append(secret["metadata"]["name"])
        return tls_content_digest(secret)

    watcher = TLSSecretWatcher(kube, lambda ns, name, kind: changes.append((ns, name, kind)), digest=digest)
    task = asyncio.create_task(watcher.run())
    await asyncio.wait_for(watcher.ready.wait(), 5)
    digested.clear()
    whole, metadata = kube.stats.objects_received, kube.stats.metadata_received
    task.cancel()  # the operator is away (e.g. a long network partition)...
    with pytest.raises(asyncio.CancelledError):
        await task
    await patch(writer, "renew", {"data": tls_secret("renew", b"C2", b"K2")["data"]})
    assert (await writer.delete(f"{secrets_path()}/drop")).status_code == 200
    await post(writer, tls_secret("new", b"C", b"K"))
    await k8s.expire_watches()  # ...and the server compacted its history meanwhile
    await run_until(watcher, lambda: len(changes) == 3, "relist diff")  # resumes from its old RV: 410
    assert sorted(changes) == [
        ("default", "drop", "deleted"),
        ("default", "new", "added"),
        ("default", "renew", "modified"),
    ]
    assert watcher.relists == 1
    assert set(watcher.index) == {("default", "keep"), ("default", "renew"), ("default", "new")}
    # Only what changed is digested again: at 10,000 Secrets a relist is lookups, not digests.
    assert sorted(digested) == ["new", "renew"]
    # The relist was of metadata (keep, renew, new); only the two changed were read whole.
    assert kube.stats.metadata_received - metadata == 3
    assert kube.stats.objects_received - whole == 2


async def test_a_relist_with_much_changed_lists_again_whole(
    k8s: RealisticEmulator, kube: KubeClient, writer: httpx.AsyncClient, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(secret_watch, "MOST_READS_AFTER_RELIST", 1)
    for name in ("a", "b", "c"):
        await post(writer, tls_secret(name, b"C1", b"K1"))
    changes: list[Change] = []
    watcher = TLSSecretWatcher(kube, lambda ns, name, kind: changes.append((ns, name, kind)))
    task = asyncio.create_task(watcher.run())
    await asyncio.wait_for(watcher.ready.wait(), 5)
    task.cancel()  # away while two Secrets are renewed and the server compacts its history
    with pytest.raises(asyncio.CancelledError):
        await task
    for name in ("a", "b"):
        await patch(writer, name, {"data": tls_secret(name, b"C2", b"K2")["data"]})
    await k8s.expire_watches()
    whole = kube.stats.objects_received
    await run_until(watcher, lambda: len(changes) == 2, "both renewals after the relist")
    assert sorted(changes) == [("default", "a", "modified"), ("default", "b", "modified")]
    assert kube.stats.objects_received - whole == 3, "two changed (over the limit of 1): one whole list"
    assert watcher.relists == 1


async def test_reconnects_with_backoff_after_server_errors(
    k8s: RealisticEmulator, kube: KubeClient, writer: httpx.AsyncClient
) -> None:
    # The first two watch requests for Secrets fail with 503 (an API server restarting).
    k8s[kmock.action.WATCH, kmock.resource("", "v1", "secrets")][:2] << 503
    async with watching(kube) as (watcher, changes):
        await post(writer, tls_secret("web", b"C", b"K"))
        await settle(lambda: changes == [("default", "web", "added")], "added after reconnects")
        assert watcher.reconnects == 2


async def test_unrelated_secrets_never_reach_the_client(
    k8s: RealisticEmulator, kube: KubeClient, writer: httpx.AsyncClient
) -> None:
    """2,000 unrelated Secrets (1,000 Opaque, 1,000 unlabelled TLS) cost the watcher nothing."""
    async with watching(kube, label_selector=f"{SYNC_LABEL}=true") as (watcher, changes):
        baseline_bytes = kube.stats.bytes_received
        for i in range(1000):  # through the emulator's write path, minus HTTP (which costs ~5 ms each)
            ns = f"ns{i % 10}"
            await k8s.create_object(
                opaque_secret(f"app-{i}", {"config": b"x" * 512}, labels=SYNC, namespace=ns)
            )
            await k8s.create_object(tls_secret(f"unlabelled-{i}", b"C" * 512, b"K" * 256, namespace=ns))
        for i in range(3):
            managed = tls_secret(f"managed-{i}", b"C", b"K", labels=SYNC, namespace=f"ns{i}")
            await post(writer, managed, f"ns{i}")
        await settle(lambda: len(changes) == 3, "the three managed Secrets")
        received = kube.stats.bytes_received - baseline_bytes
    assert len(watcher.index) == 3
    assert kube.stats.objects_received == 3
    assert received < 3 * 2048, f"{received} bytes for 3 small Secrets: unrelated ones leaked through"
    assert unselected_secret_reads(request_log(k8s)) == []
    secret_reads = [r for r in request_log(k8s) if r.method == "GET" and r.path == "/api/v1/secrets"]
    assert secret_reads, "the watcher must list/watch cluster-wide Secrets"
    for request in secret_reads:
        assert request.params.get("fieldSelector") == "type=kubernetes.io/tls", request
        assert request.params.get("labelSelector") == f"{SYNC_LABEL}=true", request


async def test_a_watch_filtered_to_names_indexes_only_them_and_lists_again_for_a_name_added(
    kube: KubeClient, writer: httpx.AsyncClient
) -> None:
    """A shard's namespace watch (decision 218): every TLS Secret of the namespace crosses the
    wire, only the names asked for are indexed and reported. A name no list covered yet is not
    reported but compared (`on_listed`) after the next list; a name another watch knew (`seed`)
    is diffed with what it knew, so a change in between is reported once."""
    for name in ("a", "b", "c", "other"):
        await post(writer, tls_secret(name, b"C0", b"K0"))
    listed: list[str] = []

    async def on_listed(_namespace: str, name: str) -> None:
        listed.append(name)

    stale = IndexEntry("1", b"an older digest")
    async with watching(
        kube,
        namespace="default",
        names={"a", "b", "gone"},
        seed={"a": stale, "gone": IndexEntry("2", b"d")},
        on_listed=on_listed,
        relist_spacing=0,
    ) as (watcher, changes):
        await settle(watcher.compared.is_set, "the first list compared")
        # a: changed since its seed; gone: deleted since; b: first listed, compared, not reported.
        assert changes == [("default", "gone", "deleted"), ("default", "a", "modified")]
        assert listed == ["b"] and set(watcher.index) == {("default", "a"), ("default", "b")}

        await patch(writer, "other", {"data": {"tls.crt": "bmV3"}})  # not asked for: nothing
        await patch(writer, "b", {"data": {"tls.crt": "bmV3"}})
        await settle(lambda: len(changes) == 3, "b's change")
        assert changes[-1] == ("default", "b", "modified")

        watcher.want({"a", "b", "c"})  # c: a sync naming it arrived
        await settle(lambda: listed == ["b", "c"], "c compared after a relist")
        assert watcher.relists == 1 and len(changes) == 3, "a and b unchanged: nothing reported"
        await patch(writer, "c", {"data": {"tls.crt": "bmV3"}})
        await settle(lambda: len(changes) == 4, "c's change")
        assert changes[-1] == ("default", "c", "modified")

        watcher.want({"c"})  # a and b: no sync names them any more
        assert set(watcher.index) == {("default", "c")}
        await patch(writer, "a", {"data": {"tls.crt": "bmV3MgZ="}})
        await patch(writer, "c", {"data": {"tls.crt": "bmV3Mg=="}})
        await settle(lambda: len(changes) == 5, "c's second change")
        assert changes[-1] == ("default", "c", "modified") and watcher.relists == 1
