"""Watches of declared sources (reconcile/source_watch.py): by name or by the sync's selector,
with 5,000 unrelated Opaque Secrets present none of which reaches the client."""

from __future__ import annotations

import asyncio
from typing import Any

import httpx

from certsync_devkit.k8s_builders import opaque_secret
from certsync_devkit.k8s_emulator import RealisticEmulator
from certsync_devkit.k8s_thread import request_log, unselected_secret_reads
from netscaler_certsync.k8s import KubeClient
from netscaler_certsync.reconcile.context import OperatorContext
from netscaler_certsync.reconcile.source_watch import SourceWatches
from tests.support.waiting import until as settle


async def _none(*_: object) -> None:
    return None


class _Recorder:
    def __init__(self, seen: list[tuple[str, str, str]]) -> None:
        self.seen = seen
        self.watcher: Any = None

    async def __call__(self, namespace: str, name: str, kind: str) -> None:
        self.seen.append((namespace, name, kind))


SPEC = {
    "connectionRefs": [{"name": "adc"}],
    "certificates": [
        {"secretName": "p12", "source": {"format": "PKCS12", "passwordSecretRef": {"name": "p12-pass"}}},
        {"secretName": "plain-tls"},  # a TLS Secret: the TLS watcher's, not watched by name
    ],
    "secretSelector": {"matchLabels": {"app": "web"}},
    "secretSource": {"certificateKey": "cert.pem"},
}


async def test_only_named_and_selected_secrets_are_listed(k8s: RealisticEmulator, kube: KubeClient) -> None:
    for i in range(5000):  # through the emulator's write path, minus HTTP
        await k8s.create_object(opaque_secret(f"unrelated-{i}", {"config": b"x" * 256}))
    for name, labels in (("p12", None), ("p12-pass", None), ("sel", {"app": "web"})):
        await k8s.create_object(opaque_secret(name, {"k": b"v"}, labels=labels))
    seen: list[tuple[str, str, str]] = []
    ctx = OperatorContext(get_secret=_none, list_secrets=_none)
    watches = SourceWatches(ctx, kube, lambda: _Recorder(seen))
    ctx.triggers.on_change = watches.changed
    ctx.triggers.update("default", "web", SPEC)
    task = asyncio.create_task(watches.run())
    try:
        await settle(lambda: len(watches.running) == 3, "three watches")
        await settle(lambda: all(w.ready.is_set() for w, _ in watches.running.values()), "first lists done")
        assert kube.stats.objects_received == 3, "only p12, p12-pass and sel may reach the client"
        async with httpx.AsyncClient(base_url=str(k8s.url).rstrip("/"), timeout=10) as writer:
            reply = await writer.patch(
                "/api/v1/namespaces/default/secrets/p12-pass",
                json={"data": {"password": "bmV3"}},
                headers={"Content-Type": "application/merge-patch+json"},
            )
            assert reply.status_code == 200
        await settle(lambda: ("default", "p12-pass", "modified") in seen, "the password change")

        # The sync stops using the keystore: its two watches by name stop, the selector's stays.
        ctx.triggers.update("default", "web", {**SPEC, "certificates": [{"secretName": "plain-tls"}]})
        await settle(lambda: len(watches.running) == 1, "one watch left")
    finally:
        task.cancel()
        await asyncio.gather(task, return_exceptions=True)
    assert watches.running == {}
    assert unselected_secret_reads(request_log(k8s)) == []
