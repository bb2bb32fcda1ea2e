"""Client authentication through the real operator: a CertificateSync's `clientAuth` decides which
client certificates the simulated appliance's TLS-serving vserver accepts, and a bundle rotation
(a CA renewed with the same key) never refuses a client while the operator applies it."""

from __future__ import annotations

import ssl
import threading
from pathlib import Path

import httpx

from certsync_devkit import k8s_builders as build
from certsync_devkit.operator_thread import OperatorThread
from certsync_devkit.pki import make_ca, make_leaf
from tests.dataplane.test_client_auth import exchange
from tests.operator.harness import NS, Cluster
from tests.operator.test_client_auth import ca_bindings, ca_name, shows


def enable_client_auth(cluster: Cluster, vserver: str = "vs_https") -> None:
    """What the administrator configures: `set ssl vserver <vs> -clientAuth ENABLED -clientCert Mandatory`."""
    sim = cluster.simulator
    with httpx.Client(
        base_url=sim.url, verify=ssl.create_default_context(cadata=sim.ca_pem.decode())
    ) as http:
        login = http.post(
            "/nitro/v1/config/login", json={"login": {"username": "nsroot", "password": "nsroot"}}
        )
        headers = {"Cookie": f"NITRO_AUTH_TOKEN={login.json()['sessionid']}"}
        body = {"sslvserver": {"vservername": vserver, "clientauth": "ENABLED", "clientcert": "Mandatory"}}
        assert http.put("/nitro/v1/config/sslvserver", json=body, headers=headers).status_code == 200


def test_the_bound_bundle_decides_who_gets_in_and_rotation_refuses_no_one(
    cluster: Cluster, operator: OperatorThread, tmp_path: Path
) -> None:
    old = make_ca("Client CA")
    alice, mallory = (
        make_leaf(old, "alice", client=True),
        make_leaf(make_ca("Other CA"), "mallory", client=True),
    )
    address = cluster.simulator.vserver_address("vs_https")
    root = cluster.pki.root
    cluster.connection()
    cluster.tls_secret("www")
    cluster.core.create_namespaced_secret(NS, build.opaque_secret("client-ca", {"ca.crt": old.cert_pem}))
    enable_client_auth(cluster)
    cluster.sync(
        "www",
        certificates=[{"secretName": "www"}],
        bindings=[
            {
                "vserver": "vs_https",
                "clientAuth": {"caFrom": {"secretKeyRef": {"name": "client-ca", "key": "ca.crt"}}},
            }
        ],
    )
    cluster.wait_ready("www")
    assert exchange(address, root, alice, tmp_path)
    assert not exchange(address, root, mallory, tmp_path)
    assert not exchange(address, root, None, tmp_path)

    # The CA is renewed with the same key (alice's certificate verifies under both): while the
    # operator rotates the bundle, alice keeps connecting; none of her attempts may be refused.
    new = make_ca("Client CA", key=old.key)
    refused: list[int] = []
    attempts = 0
    done = threading.Event()

    def keep_connecting() -> None:
        nonlocal attempts
        while not done.is_set() and attempts < 2000:  # bounded: the rotation takes well under that
            attempts += 1
            if not exchange(address, root, alice, tmp_path / "loop"):
                refused.append(attempts)

    (tmp_path / "loop").mkdir()
    client = threading.Thread(target=keep_connecting)
    client.start()
    try:
        cluster.core.patch_namespaced_secret("client-ca", NS, {"data": {"ca.crt": build.b64(new.cert_pem)}})
        cluster.wait_sync("www", shows([ca_name(new)]), "the renewed CA bound")
    finally:
        done.set()
        client.join(timeout=30)
    assert ca_bindings(cluster) == [ca_name(new)]
    assert refused == [], f"{len(refused)} of {attempts} connections refused during the rotation"
    assert attempts > 1, attempts
    assert exchange(address, root, alice, tmp_path)
    assert not exchange(address, root, mallory, tmp_path)
