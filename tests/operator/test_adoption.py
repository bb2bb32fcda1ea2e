"""Adoption through the CertificateSync resource (issue 19): `certificates[].adopt` takes over a
certkey installed by hand, status says `adopted`, a renewal of the Secret updates it in place, and
deleting the sync (deletionPolicy Delete) leaves it on the appliance with an Event."""

from __future__ import annotations

import socket
import ssl
from typing import Any

import pytest
from cryptography import x509

from certsync_devkit import k8s_builders as build
from certsync_devkit.k8s_thread import wait_for
from certsync_devkit.operator_thread import OperatorThread
from certsync_devkit.pki import make_ca, make_leaf
from netscaler_certsync.k8s import ClusterAccess, keys
from netscaler_certsync.reconcile.context import OperatorOptions
from tests.operator.harness import NS, Cluster, condition, nitro

HAND = "hand_www"
BUILTIN = "ns-server-certificate"


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


@pytest.mark.simulator(management_follows_builtin=True)
def test_adopting_ns_server_certificate_keeps_the_operators_connection_verifying(
    cluster: Cluster, operator: OperatorThread, operator_options: OperatorOptions
) -> None:
    cluster.connection()
    # Documented first step: the connection's CA Secret trusts the new issuer too.
    bundle = cluster.simulator.ca_pem + cluster.pki.root.cert_pem
    cluster.core.patch_namespaced_secret("adc-ca", NS, {"data": {"ca.crt": build.b64(bundle)}})
    leaf = cluster.tls_secret(
        "mgmt", cluster.pki.leaf("adc.example.com", sans=["adc.example.com", "127.0.0.1"])
    )
    cluster.sync("mgmt", certificates=[{"secretName": "mgmt", "adopt": {"certKeyName": BUILTIN}}])
    obj = cluster.wait_ready("mgmt")
    assert (entry(obj)["reason"], entry(obj).get("adopted")) == ("Adopted", True)
    assert served_leaf(cluster) == leaf.serial_hex  # the management endpoint serves it now

    # A new operator process logs in afresh (a new handshake, verified against the bundle) and
    # deploys the next renewal: the connection still verifies.
    operator.stop()
    access = ClusterAccess(server=cluster.emulator.url, token="operator-token")
    with OperatorThread(access, operator_options):
        renewed = cluster.renew(
            "mgmt", cluster.pki.leaf("adc.example.com", sans=["adc.example.com", "127.0.0.1"])
        )
        cluster.wait_sync("mgmt", lambda o: entry(o).get("serial") == renewed.serial_hex, "renewed", 20)
        wait_for(lambda: served_leaf(cluster) == renewed.serial_hex, timeout=10, what="served renewal")
        conn = cluster.get(keys.CONNECTION_PLURAL, "adc")
        assert conn is not None and condition(conn, "Ready").get("status") == "True"


def served_leaf(cluster: Cluster) -> str:
    """The serial the management endpoint serves, read by a handshake that trusts only the new root."""
    host, port = cluster.simulator.url.removeprefix("https://").rsplit(":", 1)
    context = ssl.create_default_context(cadata=cluster.pki.root.cert_pem.decode())
    with (
        socket.create_connection((host, int(port)), timeout=5) as raw,
        context.wrap_socket(raw, server_hostname=host) as tls,
    ):
        der = tls.getpeercert(binary_form=True)
    assert der is not None
    n = x509.load_der_x509_certificate(der).serial_number
    return n.to_bytes(max(1, (n.bit_length() + 7) // 8), "big").hex().upper()
