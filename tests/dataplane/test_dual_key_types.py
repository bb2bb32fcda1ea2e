"""RSA + ECDSA side by side (issue 20): one CertificateSync deploys an RSA and an ECDSA certificate
for the same name as the two default certificates of one vserver (one default per key type,
CTX224272). An RSA-only client gets the RSA certificate and an ECDSA-capable client the ECDSA one,
through renewals of either, with no failed handshake and never the other key type's certificate."""

from __future__ import annotations

import pytest

from certsync_devkit import k8s_builders as build
from certsync_devkit.operator_thread import OperatorThread
from certsync_devkit.pki import Issued
from tests.dataplane.scenario import HOST, HandshakeLoop
from tests.operator.harness import NS, Cluster

RENEWALS = 4  # of each key type, alternating
RSA_ONLY = "ECDHE-RSA-AES128-GCM-SHA256:ECDHE-RSA-AES256-GCM-SHA384"


def _entries_verified(cluster: Cluster, leaves: dict[str, Issued]) -> None:
    def done(obj: dict) -> bool:  # type: ignore[type-arg]
        by_secret = {e.get("secretName"): e for e in obj.get("status", {}).get("certificates", [])}
        return all(
            (e := by_secret.get(name)) is not None
            and e.get("serial") == leaf.serial_hex
            and e.get("state") == "Synced"
            and e.get("verified") is True
            for name, leaf in leaves.items()
        )

    cluster.wait_sync("www", done, f"{sorted(leaves)} deployed and verified", timeout=30)


def _put(cluster: Cluster, name: str, leaf: Issued, *, create: bool = False) -> None:
    crt = leaf.cert_pem + cluster.pki.intermediate.cert_pem
    if create:
        cluster.core.create_namespaced_secret(NS, build.tls_secret(name, crt, leaf.key_pem))
    else:
        data = {"tls.crt": build.b64(crt), "tls.key": build.b64(leaf.key_pem)}
        cluster.core.patch_namespaced_secret(name, NS, {"data": data})


@pytest.mark.timeout(180)
def test_rsa_only_clients_get_rsa_and_ecdsa_clients_ecdsa_through_renewals(
    cluster: Cluster, operator: OperatorThread
) -> None:
    host, port = cluster.simulator.vserver_address("vs_https")
    leaves = {
        "www-rsa": cluster.pki.leaf(HOST, key_type="rsa"),
        "www-ec": cluster.pki.leaf(HOST, key_type="ec"),
    }
    cluster.connection()
    for name, leaf in leaves.items():
        _put(cluster, name, leaf, create=True)
    cluster.sync(
        "www",
        certificates=[{"secretName": "www-rsa"}, {"secretName": "www-ec"}],
        bindings=[{"vserver": "vs_https", "verify": {"host": host, "port": port, "serverName": HOST}}],
    )
    _entries_verified(cluster, leaves)
    assert cluster.bound("vs_https") == [("default-www-ec", False), ("default-www-rsa", False)]

    roots = cluster.pki.root.cert_pem.decode()
    rsa_loop = HandshakeLoop((host, port), roots, ciphers=RSA_ONLY).start()
    ec_loop = HandshakeLoop((host, port), roots).start()  # a modern client: offers ECDSA and RSA
    seen_rsa, seen_ec = [leaves["www-rsa"]], [leaves["www-ec"]]
    try:
        for i in range(1, 2 * RENEWALS + 1):
            name = "www-rsa" if i % 2 else "www-ec"
            leaf = cluster.pki.leaf(HOST, key_type="rsa" if name == "www-rsa" else "ec")
            (seen_rsa if name == "www-rsa" else seen_ec).append(leaf)
            rsa_loop.phase = ec_loop.phase = i
            leaves[name] = leaf
            _put(cluster, name, leaf)
            _entries_verified(cluster, leaves)
    finally:
        rsa_loop.stop()
        ec_loop.stop()

    assert rsa_loop.failures == [], (
        f"{len(rsa_loop.failures)} failed RSA-only handshakes: {rsa_loop.failures[:3]}"
    )
    assert ec_loop.failures == [], f"{len(ec_loop.failures)} failed ECDSA handshakes: {ec_loop.failures[:3]}"
    chain = cluster.pki.intermediate.fingerprint_sha256
    rsa_served = {(leaf.fingerprint_sha256, chain) for leaf in seen_rsa}
    ec_served = {(leaf.fingerprint_sha256, chain) for leaf in seen_ec}
    # Each client saw only its key type's certificates (with the chain), several generations of them.
    assert set(rsa_loop.seen) <= rsa_served and len(set(rsa_loop.seen)) > 1
    assert set(ec_loop.seen) <= ec_served and len(set(ec_loop.seen)) > 1
    assert rsa_loop.seen[-1][0] == seen_rsa[-1].fingerprint_sha256
    assert ec_loop.seen[-1][0] == seen_ec[-1].fingerprint_sha256
    assert cluster.bound("vs_https") == [("default-www-ec", False), ("default-www-rsa", False)]
    assert cluster.invariants() == []
