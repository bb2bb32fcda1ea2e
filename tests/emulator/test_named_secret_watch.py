"""NamedSecretWatch (the Secrets NetScalerConnections reference): a watch per Secret by name, any
type; after the first list a created, changed or deleted Secret is reported, a label or annotation
change is not, and the set of watches follows the owners' references."""

from __future__ import annotations

import httpx

from certsync_devkit.k8s_builders import opaque_secret
from certsync_devkit.k8s_emulator import RealisticEmulator
from certsync_devkit.k8s_thread import request_log, unselected_secret_reads
from netscaler_certsync.k8s import Backoff, KubeClient, NamedSecretWatch
from tests.support.waiting import until as settle

SECRETS = "/api/v1/namespaces/default/secrets"
ADC, OTHER = ("default", "adc"), ("default", "adc-2")
CREDS, CA = ("default", "creds"), ("default", "ca")


async def _patch(writer: httpx.AsyncClient, name: str, body: dict[str, object]) -> None:
    headers = {"Content-Type": "application/merge-patch+json"}
    assert (await writer.patch(f"{SECRETS}/{name}", json=body, headers=headers)).status_code == 200


async def test_content_changes_of_referenced_secrets_are_reported(
    k8s: RealisticEmulator, kube: KubeClient, writer: httpx.AsyncClient
) -> None:
    await k8s.create_object(opaque_secret("creds", {"username": b"nsroot", "password": b"old"}))
    await k8s.create_object(opaque_secret("unrelated", {"k": b"v"}))
    seen: list[tuple[str, str, str]] = []
    watch = NamedSecretWatch(
        lambda ns, name, version: seen.append((ns, name, version)), backoff=Backoff(0.01)
    )
    watch.set_references(ADC, {CREDS, CA})  # before start: remembered, started by start()
    assert watch.watched == frozenset()
    watch.start(kube)
    try:
        assert watch.watched == {CREDS, CA}
        await settle(lambda: len(watch.ready) == 2 and all(e.is_set() for e in watch.ready.values()), "lists")
        assert seen == [], "the first list reports nothing"

        await _patch(writer, "creds", {"metadata": {"labels": {"team": "a"}, "annotations": {"x": "y"}}})
        await _patch(writer, "creds", {"data": {"password": "bmV3"}})
        await settle(lambda: len(seen) == 1, "the password change")
        assert seen[0][:2] == CREDS and seen[0][2] not in ("", "deleted"), "labels are not content"

        await k8s.create_object(opaque_secret("ca", {"ca.crt": b"PEM"}))
        await settle(lambda: len(seen) == 2, "the CA Secret created")
        assert (await writer.delete(f"{SECRETS}/ca")).status_code == 200
        await settle(lambda: len(seen) == 3, "the CA Secret deleted")
        assert seen[1][:2] == CA and seen[2] == ("default", "ca", "deleted")

        watch.set_references(OTHER, {CREDS})
        assert watch.owners_of(CREDS) == [ADC, OTHER] and watch.owners_of(CA) == [ADC]
        watch.drop(ADC)
        assert watch.watched == {CREDS} and watch.alive()
        watch.drop(OTHER)
        assert watch.watched == frozenset()
    finally:
        await watch.close()
    assert watch.watched == frozenset()
    assert unselected_secret_reads(request_log(k8s)) == []
