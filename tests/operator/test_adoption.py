"""Adoption through the CertificateSync resource (issue 19): `certificates[].adopt` takes over a
certkey installed by hand, status says `adopted`, a renewal of the Secret updates it in place, and
deleting the sync (deletionPolicy Delete) leaves it on the appliance with an Event."""

from __future__ import annotations

from typing import Any

from certsync_devkit.k8s_thread import wait_for
from certsync_devkit.operator_thread import OperatorThread
from certsync_devkit.pki import make_ca, make_leaf
from netscaler_certsync.k8s import keys
from tests.operator.harness import Cluster, nitro

HAND = "hand_www"


def install_by_hand(cluster: Cluster) -> str:
    """A certkey an administrator made: bound as default and SNI certificate, linked to a CA."""
    ca = make_ca("Hand CA", org="Hand")
    leaf = make_leaf(ca, "www.example.com")

    async def install(c: Any) -> None:
        await c.upload_file("hand_ca.crt", ca.cert_pem)
        await c.add_certkey("hand_ca", "hand_ca.crt")
        await c.upload_file("hand.crt", leaf.cert_pem)
        await c.upload_file("hand.key", leaf.key_pem)
        await c.add_certkey(HAND, "hand.crt", "hand.key")
        await c.link_certkey(HAND, "hand_ca")
        await c.bind_certkey("vs_https", HAND)
        await c.bind_certkey("cs_sni", HAND, sni=True)

    nitro(cluster.simulator, install)
    return leaf.serial_hex


def entry(obj: dict[str, Any]) -> dict[str, Any]:
    return ((obj.get("status") or {}).get("certificates") or [{}])[0]


def test_adopt_renew_and_delete_leaves_the_certkey(cluster: Cluster, operator: OperatorThread) -> None:
    cluster.connection()
    old_serial = install_by_hand(cluster)
    leaf = cluster.tls_secret("www", cluster.pki.leaf("www.example.com"))
    cluster.sync(
        "www",
        certificates=[{"secretName": "www", "adopt": {"certKeyName": HAND}}],
        bindings=[{"vserver": "vs_https"}],
    )
    obj = cluster.wait_ready("www")
    e = entry(obj)
    assert (e["certKeyName"], e["reason"], e.get("adopted")) == (HAND, "Adopted", True)
    assert old_serial in e["message"]
    assert cluster.certkey(HAND)["serial"] == leaf.serial_hex
    assert cluster.bound("vs_https") == [(HAND, False)]
    assert cluster.bound("cs_sni") == [(HAND, True)]
    cluster.wait_event("www", "Adopted")

    renewed = cluster.renew("www", cluster.pki.leaf("www.example.com"))
    wait_for(
        lambda: (cluster.certkey(HAND) or {}).get("serial") == renewed.serial_hex, timeout=15, what="renewed"
    )
    obj = cluster.wait_sync(
        "www", lambda o: entry(o).get("serial") == renewed.serial_hex, "renewed in status"
    )
    assert entry(obj).get("adopted") is True
    assert cluster.bound("cs_sni") == [(HAND, True)]

    cluster.crs.delete_namespaced_custom_object(keys.GROUP, keys.VERSION, "default", keys.SYNC_PLURAL, "www")
    wait_for(lambda: cluster.get(keys.SYNC_PLURAL, "www") is None, timeout=20, what="deleted")
    event = cluster.wait_event("www", "AdoptedKept")
    assert HAND in event.message and "deleteOnRemoval" in event.message
    assert cluster.certkey(HAND)["serial"] == renewed.serial_hex
    assert cluster.bound("vs_https") == [(HAND, False)]
    assert cluster.invariants() == []
