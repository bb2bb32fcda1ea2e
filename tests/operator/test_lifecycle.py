"""Whole lifecycles through the real operator: what a user does with kubectl, what the appliance holds."""

from __future__ import annotations

from typing import Any

from certsync_devkit.k8s_thread import wait_for
from certsync_devkit.operator_thread import OperatorThread
from netscaler_certsync.k8s import keys
from tests.operator.harness import Cluster, condition, nitro


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


def test_renewal_beside_shows_the_kept_predecessor_as_superseded(
    cluster: Cluster, operator: OperatorThread
) -> None:
    cluster.connection()
    first = cluster.tls_secret("www")
    cluster.sync(
        "www",
        certificates=[{"secretName": "www"}],
        bindings=[{"vserver": "vs_https"}],
        preserveOnRenewal=False,
    )
    cluster.wait_ready("www")
    renewed = cluster.renew("www")
    obj = cluster.wait_sync("www", lambda o: len(o["status"]["certificates"]) == 2, "predecessor in status")
    current, kept = obj["status"]["certificates"]
    assert (current["state"], current["serial"]) == ("Synced", renewed.serial_hex)
    assert (kept["state"], kept["serial"], kept["certKeyName"]) == (
        "Superseded",
        first.serial_hex,
        "default-www",
    )
    assert kept["boundVServers"] == [] and "verified" not in kept
    assert current["certKeyName"] in kept["message"]
    # What the status shows is on the appliance: both certkeys, only the new one bound.
    assert (cluster.certkey("default-www") or {}).get("serial") == first.serial_hex
    assert cluster.bound("vs_https") == [(current["certKeyName"], False)]
    assert obj["status"]["certificateCount"] == 1 and condition(obj, "Ready")["status"] == "True"


def test_binding_added_and_removed(cluster: Cluster, operator: OperatorThread) -> None:
    cluster.connection()
    cluster.tls_secret("www")
    cluster.sync("www", certificates=[{"secretName": "www"}], bindings=[{"vserver": "vs_https"}])
    cluster.wait_ready("www")

    cluster.patch_sync(
        "www", {"spec": {"bindings": [{"vserver": "vs_https"}, {"vserver": "cs_sni", "sni": True}]}}
    )
    cluster.wait_ready("www")
    assert cluster.bound("vs_https") == [("default-www", False)]
    assert cluster.bound("cs_sni") == [("default-www", True)]

    cluster.patch_sync("www", {"spec": {"bindings": [{"vserver": "cs_sni", "sni": True}]}})
    obj = cluster.wait_ready("www")
    assert cluster.bound("vs_https") == []
    assert cluster.bound("cs_sni") == [("default-www", True)]
    assert obj["status"]["certificates"][0]["boundVServers"] == [{"vserver": "cs_sni", "sni": True}]
    assert cluster.invariants() == []


def test_deselected_secret_is_removed_and_others_stay(cluster: Cluster, operator: OperatorThread) -> None:
    cluster.connection()
    labels = {"netscaler.certsync.dev/deploy": "yes"}
    cluster.tls_secret("a", labels=labels)
    cluster.tls_secret("b", labels=labels)
    cluster.tls_secret("unrelated")  # no label: never deployed
    # No drift check: the relabelling alone must trigger the sync.
    cluster.sync(
        "sel",
        secretSelector={"matchLabels": labels},
        bindings=[{"vserver": "cs_sni", "sni": True}],
        driftCheckIntervalSeconds=0,
    )
    obj = cluster.wait_ready("sel")
    assert sorted(e["secretName"] for e in obj["status"]["certificates"]) == ["a", "b"]
    assert cluster.certkey("default-unrelated") is None

    # Take the label off "a": it is deselected, so it is unbound and removed; "b" stays.
    cluster.core.patch_namespaced_secret(
        "a", "default", {"metadata": {"labels": {"netscaler.certsync.dev/deploy": None}}}
    )
    obj = cluster.wait_sync(
        "sel", lambda o: [e["secretName"] for e in o["status"]["certificates"]] == ["b"], "only b remains"
    )
    assert cluster.certkey("default-a") is None
    assert cluster.certkey("default-b") is not None
    assert cluster.bound("cs_sni") == [("default-b", True)]
    assert cluster.invariants() == []
    cluster.wait_event("sel", "Removed")

    # Label "unrelated": it is selected and deployed, without a manual request either.
    cluster.core.patch_namespaced_secret("unrelated", "default", {"metadata": {"labels": labels}})
    cluster.wait_sync(
        "sel",
        lambda o: sorted(e["secretName"] for e in o["status"]["certificates"]) == ["b", "unrelated"],
        "unrelated deployed once labelled",
    )
    assert sorted(cluster.bound("cs_sni")) == [("default-b", True), ("default-unrelated", True)]
    assert cluster.invariants() == []


def test_deleted_secret_of_a_selector_is_removed_promptly(cluster: Cluster, operator: OperatorThread) -> None:
    cluster.connection()
    labels = {"app": "web"}
    cluster.tls_secret("a", labels=labels)
    cluster.tls_secret("b", labels=labels)
    cluster.sync("sel", secretSelector={"matchLabels": labels})
    cluster.wait_ready("sel")
    cluster.core.delete_namespaced_secret("a", "default")
    wait_for(
        lambda: cluster.certkey("default-a") is None,
        timeout=10,
        what="a removed after its Secret was deleted",
    )
    assert cluster.certkey("default-b") is not None


def test_delete_policy_delete_removes_everything_it_deployed(
    cluster: Cluster, operator: OperatorThread
) -> None:
    cluster.connection()
    cluster.tls_secret("www")
    cluster.sync("www", certificates=[{"secretName": "www"}], bindings=[{"vserver": "vs_https"}])
    cluster.wait_ready("www")
    saves = cluster.appliance()["saves"]

    cluster.crs.delete_namespaced_custom_object(keys.GROUP, keys.VERSION, "default", keys.SYNC_PLURAL, "www")
    wait_for(lambda: cluster.get(keys.SYNC_PLURAL, "www") is None, timeout=10, what="the finalizer to let go")
    state = cluster.appliance()
    ours = [n for n, c in state["certkeys"].items() if not c.get("builtin")]
    assert ours == [], f"certkeys left behind: {ours}"
    assert [f for f in state["files"] if "/cs-" in f] == []
    assert cluster.bound("vs_https") == []
    assert state["saves"] == saves + 1 and state["configchanged"] is False
    assert cluster.invariants() == []


def test_delete_policy_orphan_leaves_the_appliance_alone(cluster: Cluster, operator: OperatorThread) -> None:
    cluster.connection()
    cluster.tls_secret("www")
    cluster.sync(
        "www",
        certificates=[{"secretName": "www"}],
        bindings=[{"vserver": "vs_https"}],
        deletionPolicy="Orphan",
    )
    cluster.wait_ready("www")
    before = cluster.appliance()

    cluster.crs.delete_namespaced_custom_object(keys.GROUP, keys.VERSION, "default", keys.SYNC_PLURAL, "www")
    wait_for(lambda: cluster.get(keys.SYNC_PLURAL, "www") is None, timeout=10, what="the finalizer to let go")
    after = cluster.appliance()
    assert after["certkeys"] == before["certkeys"]
    assert after["bindings"] == before["bindings"]
    assert after["files"] == before["files"]


def test_two_syncs_share_an_intermediate(cluster: Cluster, operator: OperatorThread) -> None:
    cluster.connection()
    cluster.tls_secret("a")
    cluster.tls_secret("b")
    cluster.sync("sync-a", certificates=[{"secretName": "a"}])
    cluster.sync("sync-b", certificates=[{"secretName": "b"}])
    cluster.wait_ready("sync-a")
    cluster.wait_ready("sync-b")
    state = cluster.appliance()
    links = {
        state["certkeys"]["default-a"]["linkcertkeyname"],
        state["certkeys"]["default-b"]["linkcertkeyname"],
    }
    assert len(links) == 1, "both leaves link to one CA certkey (NetScaler refuses duplicate content)"
    [ca] = links

    # Deleting one sync keeps the CA the other still links to.
    cluster.crs.delete_namespaced_custom_object(
        keys.GROUP, keys.VERSION, "default", keys.SYNC_PLURAL, "sync-a"
    )
    wait_for(lambda: cluster.get(keys.SYNC_PLURAL, "sync-a") is None, timeout=10, what="sync-a deleted")
    state = cluster.appliance()
    assert "default-a" not in state["certkeys"]
    assert state["certkeys"]["default-b"]["linkcertkeyname"] == ca
    assert ca in state["certkeys"]
    assert cluster.invariants() == []


def test_manual_sync_request_is_recorded(cluster: Cluster, operator: OperatorThread) -> None:
    cluster.connection()
    cluster.tls_secret("www")
    cluster.sync("www", certificates=[{"secretName": "www"}], autoSync=False)
    first = cluster.wait_ready("www")
    serial = first["status"]["certificates"][0]["serial"]

    renewed = cluster.renew("www")
    # autoSync is off: the Secret change alone does not reach the appliance...
    cluster.patch_sync("www", {"metadata": {"annotations": {"unrelated": "touch"}}})
    assert (cluster.certkey("default-www") or {}).get("serial") == serial
    # ...a manual request does, and is recorded.
    cluster.patch_sync("www", {"metadata": {"annotations": {keys.SYNC_REQUESTED_AT: "2026-11-27T12:00:00Z"}}})
    obj = cluster.wait_sync(
        "www",
        lambda o: o["status"].get("lastHandledSyncRequest") == "2026-11-27T12:00:00Z",
        "manual sync handled",
    )
    assert obj["status"]["certificates"][0]["serial"] == renewed.serial_hex
    assert cluster.certkey("default-www")["serial"] == renewed.serial_hex


def test_drift_on_the_appliance_is_repaired(cluster: Cluster, operator: OperatorThread) -> None:
    cluster.connection()
    cluster.tls_secret("www")
    cluster.sync(
        "www",
        certificates=[{"secretName": "www"}],
        bindings=[{"vserver": "vs_https"}],
        driftCheckIntervalSeconds=1,
    )
    cluster.wait_ready("www")

    async def unbind_by_hand(client: Any) -> None:
        await client.unbind_certkey("vs_https", "default-www")

    nitro(cluster.simulator, unbind_by_hand)
    assert cluster.bound("vs_https") == []
    wait_for(lambda: cluster.bound("vs_https") == [("default-www", False)], timeout=10, what="drift repaired")


def test_syncs_share_one_session_per_appliance(cluster: Cluster, operator: OperatorThread) -> None:
    cluster.connection()
    cluster.tls_secret("www")
    cluster.sync("www", certificates=[{"secretName": "www"}])
    cluster.wait_ready("www")
    logins_after_first = sum(1 for r in cluster.simulator.requests if r.resource == "login")
    for _ in range(3):
        renewed = cluster.renew("www")
        wait_for(
            lambda s=renewed.serial_hex: (cluster.certkey("default-www") or {}).get("serial") == s,
            what="renewal",
        )
    logins = sum(1 for r in cluster.simulator.requests if r.resource == "login")
    # The connection's health check logs in on its own; the syncs reuse one session.
    assert logins == logins_after_first, f"{logins - logins_after_first} extra logins for 3 renewals"
    assert not [r for r in cluster.simulator.requests if r.status == 401 and r.resource != "login"]
