"""Whole lifecycles through the real operator: what a user does with kubectl, what the appliance holds."""

from __future__ import annotations

from netscaler_certsync.k8s import keys
from netscaler_certsync.testing.k8s_thread import wait_for
from netscaler_certsync.testing.operator_thread import OperatorThread
from tests.operator.harness import Cluster, condition


def test_create_deploys_binds_and_reports_ready(cluster: Cluster, operator: OperatorThread) -> None:
    cluster.connection()
    leaf = cluster.tls_secret("www")
    cluster.sync("www", certificates=[{"secretName": "www"}], bindings=[{"vserver": "vs_https"}])

    obj = cluster.wait_ready("www")
    status = obj["status"]
    [entry] = status["certificates"]
    assert entry["connection"] == "adc"
    assert entry["secretName"] == "www"
    assert entry["certKeyName"] == "default-www"
    assert entry["serial"] == leaf.serial_hex
    assert entry["fingerprintSHA256"] == leaf.fingerprint_sha256
    assert entry["state"] == "Synced"
    assert entry["boundVServers"] == [{"vserver": "vs_https", "sni": False}]
    assert status["certificateCount"] == 1 and status["connectionCount"] == 1
    assert status["soonestExpiry"] == entry["notAfter"]
    assert keys.FINALIZER in obj["metadata"]["finalizers"]
    for ctype in ("Ready", "Reconciling", "Stalled"):
        assert condition(obj, ctype)["observedGeneration"] == obj["metadata"]["generation"]
    assert condition(obj, "Stalled")["status"] == "False"
    assert condition(obj, "Reconciling")["status"] == "False"

    # On the appliance: the certkey with the Secret's serial, linked to the intermediate, bound.
    certkey = cluster.certkey("default-www")
    assert certkey is not None and certkey["serial"] == leaf.serial_hex
    ca = cluster.certkey(certkey["linkcertkeyname"])
    assert ca is not None and ca["serial"] == cluster.pki.intermediate.serial_hex
    assert cluster.bound("vs_https") == [("default-www", False)]
    assert cluster.appliance()["configchanged"] is False  # saved
    assert cluster.invariants() == []
    cluster.wait_event("www", "Synced")


def test_renewal_updates_in_place_within_seconds(cluster: Cluster, operator: OperatorThread) -> None:
    cluster.connection()
    first = cluster.tls_secret("www")
    cluster.sync("www", certificates=[{"secretName": "www"}], bindings=[{"vserver": "vs_https"}])
    cluster.wait_ready("www")
    saves_before = cluster.appliance()["saves"]

    renewed = cluster.renew("www")
    assert renewed.serial_hex != first.serial_hex
    wait_for(
        lambda: (cluster.certkey("default-www") or {}).get("serial") == renewed.serial_hex,
        timeout=10,
        what="the renewed serial on the appliance",
    )
    obj = cluster.wait_sync(
        "www",
        lambda o: o["status"]["certificates"][0].get("serial") == renewed.serial_hex,
        "status shows renewal",
    )
    # Same certkey name, same binding: renewed in place.
    assert cluster.bound("vs_https") == [("default-www", False)]
    assert obj["status"]["certificates"][0]["certKeyName"] == "default-www"
    state = cluster.appliance()
    assert state["saves"] == saves_before + 1
    leaf_files = [f for f in state["files"] if "cs-" in f and not f.split("/")[-1].startswith("cs-ca-")]
    assert len(leaf_files) == 2, f"old files must be deleted after the update: {leaf_files}"
    assert cluster.invariants() == []
    cluster.wait_event("www", "Renewed")
