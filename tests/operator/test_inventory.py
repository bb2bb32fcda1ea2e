"""`NetScalerConnection.status.inventory` and the expiry gauge of every certkey on the appliance,
on an appliance that also holds hand-made certkeys, another cluster's and files nobody uses."""

from __future__ import annotations

import datetime as dt
import hashlib
from typing import Any

from certsync_devkit.k8s_thread import wait_for
from certsync_devkit.operator_thread import OperatorThread
from netscaler_certsync.domain import leaf_file_names, owner_tag
from netscaler_certsync.k8s import keys
from netscaler_certsync.simulator.pki import make_ca, make_leaf
from tests.operator.harness import NS, Cluster, G, V, nitro
from tests.operator.test_metrics import _free_port, scrape, value


def _seed(cluster: Cluster) -> dict[str, Any]:
    ca = make_ca("Hand Root")
    hand = make_leaf(ca, "shop.example.com", days=12)
    theirs = make_leaf(ca, "b.example.com", days=200)
    foreign = leaf_file_names(
        owner_tag("another-cluster", "default/b"), hashlib.sha256(theirs.cert_pem).hexdigest()
    )

    async def go(c: Any) -> None:
        await c.upload_file("hand.crt", hand.cert_pem)
        await c.upload_file("hand.key", hand.key_pem)
        await c.add_certkey("hand", "hand.crt", "hand.key")
        await c.bind_certkey("vs_two", "hand")
        await c.upload_file(foreign.cert, theirs.cert_pem)
        await c.upload_file(foreign.key, theirs.key_pem)
        await c.add_certkey("theirs", foreign.cert, foreign.key)
        await c.upload_file("forgotten.pem", hand.cert_pem)

    nitro(cluster.simulator, go)
    return {"hand": hand, "theirs": theirs}


def request_check(cluster: Cluster) -> None:
    stamp = dt.datetime.now(dt.UTC).isoformat()
    cluster.crs.patch_namespaced_custom_object(
        G,
        V,
        NS,
        keys.CONNECTION_PLURAL,
        "adc",
        {"metadata": {"annotations": {keys.SYNC_REQUESTED_AT: stamp}}},
    )


def test_inventory_in_status_and_metrics(cluster: Cluster, operator: OperatorThread) -> None:
    seeded = _seed(cluster)
    port = _free_port()
    operator.ctx.metrics.serve(port, addr="127.0.0.1")
    cluster.connection()
    cluster.tls_secret("www")
    cluster.sync("www", certificates=[{"secretName": "www"}], bindings=[{"vserver": "vs_https"}])
    cluster.wait_ready("www")
    # The connection's next check shows what the sync's listing found; ask for one now.
    request_check(cluster)

    def shown() -> dict[str, Any] | None:
        obj = cluster.get(keys.CONNECTION_PLURAL, "adc") or {}
        inv = (obj.get("status") or {}).get("inventory")
        return inv if inv and inv.get("managedHere") else None

    inv = wait_for(shown, what="status.inventory", timeout=15)
    names = set(cluster.appliance()["certkeys"])
    ours = {n for n in names if n.startswith(("default-www", "csca"))}
    assert names - ours == {"hand", "theirs", "ns-server-certificate"}  # the last one ships with it
    assert len(ours) == 2  # the leaf and its intermediate CA
    assert inv == {
        "certKeys": 5,
        "managedHere": 2,
        "managedElsewhere": 1,  # theirs
        "unmanaged": 2,  # hand, ns-server-certificate
        "caCertKeys": 2,  # our intermediate, ns-server-certificate (self-signed)
        "expiringWithin30Days": 1,  # hand
        "unused": 2,  # theirs, ns-server-certificate: no binding, nothing links to them
        "orphanFiles": 1,  # forgotten.pem
        "soonestUnmanagedExpiry": {
            "certKey": "hand",
            "notAfter": seeded["hand"].cert.not_valid_after_utc.isoformat(),
        },
    }

    # A connection check shows the inventory from the syncs' listings: it lists nothing itself.
    cluster.simulator.clear_requests()
    request_check(cluster)
    # The check logs in with a session of its own and logs out when done.
    wait_for(
        lambda: any(r.resource == "logout" for r in cluster.simulator.requests),
        what="another connection check",
        timeout=15,
    )
    listed = [r.resource for r in cluster.simulator.requests if r.method == "GET"]
    assert listed and not {"sslcertkey", "systemfile", "sslvserver_sslcertkey_binding"} & set(listed), listed

    m = wait_for(
        lambda: (
            (s := scrape(port))
            and value(s, "certsync_appliance_certkey_expiration_timestamp_seconds", certkey="theirs")
            and s
        ),
        what="inventory metric",
    )
    metric = "certsync_appliance_certkey_expiration_timestamp_seconds"
    hand = seeded["hand"].cert.not_valid_after_utc.timestamp()
    assert value(m, metric, namespace=NS, connection="adc", certkey="hand", managed="none") == hand
    assert value(m, metric, connection="adc", certkey="theirs", managed="other") is not None
    assert value(m, metric, connection="adc", certkey="default-www", managed="this") is not None
    assert {labels["managed"] for labels, _ in m[metric]} == {"this", "other", "none"}
