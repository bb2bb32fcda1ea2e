"""Drift and expiry found by the periodic check; deletion that cannot reach the appliance has a way out;
conditions read as kstatus (what Flux and `kubectl wait` use) says they should."""

from __future__ import annotations

import datetime as dt
from typing import Any

from certsync_devkit.k8s_thread import wait_for
from certsync_devkit.operator_thread import OperatorThread
from certsync_devkit.pki import make_leaf
from netscaler_certsync.k8s import keys
from tests.operator.harness import Cluster, admin, condition, nitro


def kstatus(obj: dict[str, Any]) -> str:
    """cli-utils kstatus for a custom resource (pkg/kstatus/status/generic.go), as Flux reads it."""
    if obj["metadata"].get("deletionTimestamp"):
        return "Terminating"
    status = obj.get("status") or {}
    if status.get("observedGeneration") != obj["metadata"].get("generation"):
        return "InProgress"
    if condition(obj, "Reconciling").get("status") == "True":
        return "InProgress"
    if condition(obj, "Stalled").get("status") == "True":
        return "Failed"
    return "Current" if condition(obj, "Ready").get("status") == "True" else "InProgress"


def test_certkey_deleted_by_hand_is_recreated(cluster: Cluster, operator: OperatorThread) -> None:
    cluster.connection()
    leaf = cluster.tls_secret("www")
    cluster.sync(
        "www",
        certificates=[{"secretName": "www"}],
        bindings=[{"vserver": "vs_https"}],
        driftCheckIntervalSeconds=1,
    )
    cluster.wait_ready("www")

    async def remove_by_hand(client: Any) -> None:
        await client.unbind_certkey("vs_https", "default-www")
        await client.unlink_certkey("default-www")
        await client.delete_certkey("default-www")

    nitro(cluster.simulator, remove_by_hand)
    wait_for(
        lambda: (cluster.certkey("default-www") or {}).get("serial") == leaf.serial_hex,
        timeout=15,
        what="recreated",
    )
    wait_for(lambda: cluster.bound("vs_https") == [("default-www", False)], timeout=10, what="rebound")
    assert cluster.invariants() == []


def test_expiry_makes_a_certificate_inactive_and_removes_it(
    cluster: Cluster, operator: OperatorThread
) -> None:
    cluster.connection()
    now = dt.datetime.now(dt.UTC)
    short = make_leaf(
        cluster.pki.intermediate,
        "short.example.com",
        not_before=now - dt.timedelta(hours=1),
        not_after=now + dt.timedelta(seconds=3),
    )
    cluster.tls_secret("short", short)
    cluster.tls_secret("long")
    cluster.sync(
        "two", certificates=[{"secretName": "short"}, {"secretName": "long"}], driftCheckIntervalSeconds=1
    )
    cluster.wait_sync(
        "two", lambda o: len((o.get("status") or {}).get("certificates") or []) == 2, "both deployed"
    )
    assert cluster.certkey("default-short") is not None
    obj = cluster.wait_reason("two", "CertificateExpired", timeout=20)
    wait_for(lambda: cluster.certkey("default-short") is None, timeout=10, what="expired certificate removed")
    assert cluster.certkey("default-long") is not None
    assert kstatus(obj) == "Failed"  # an expired Secret needs a human (or cert-manager) to renew it
    cluster.wait_event("two", "Removed")


def test_unreachable_appliance_does_not_wedge_deletion(cluster: Cluster, operator: OperatorThread) -> None:
    cluster.connection()
    cluster.tls_secret("www")
    cluster.sync("www", certificates=[{"secretName": "www"}])
    cluster.wait_ready("www")
    admin(cluster.simulator, "POST", "faults", {"kind": "reset"})  # the appliance is gone

    cluster.crs.delete_namespaced_custom_object(keys.GROUP, keys.VERSION, "default", keys.SYNC_PLURAL, "www")
    cluster.wait_event("www", "CleanupFailed", timeout=15)
    obj = cluster.get_sync("www")
    assert obj["metadata"].get("deletionTimestamp") and kstatus(obj) == "Terminating"
    # The documented way out: Orphan lets the finalizer go without touching the appliance.
    cluster.patch_sync("www", {"spec": {"deletionPolicy": "Orphan"}})
    wait_for(
        lambda: cluster.get(keys.SYNC_PLURAL, "www") is None,
        timeout=45,
        what="deletion completes with Orphan",
    )
    admin(cluster.simulator, "DELETE", "faults")
    assert cluster.certkey("default-www") is not None  # left as it was


def test_kstatus_reads_progress_success_and_failure(cluster: Cluster, operator: OperatorThread) -> None:
    cluster.connection()
    cluster.tls_secret("www")
    cluster.sync("www", certificates=[{"secretName": "www"}])
    assert kstatus(cluster.wait_ready("www")) == "Current"
    cluster.patch_sync("www", {"spec": {"bindings": [{"vserver": "vs_nope"}]}})
    obj = cluster.wait_reason("www", "VServerNotFound")
    assert obj["status"]["observedGeneration"] == obj["metadata"]["generation"] == 2
    assert kstatus(obj) == "Failed"
    admin(cluster.simulator, "POST", "faults", {"kind": "reset"})
    cluster.patch_sync("www", {"spec": {"bindings": [{"vserver": "vs_https"}]}})
    obj = cluster.wait_reason("www", "Unreachable")
    assert kstatus(obj) == "InProgress"
    admin(cluster.simulator, "DELETE", "faults")
    assert kstatus(cluster.wait_ready("www", timeout=45)) == "Current"


def test_retry_pending_at_deletion_does_not_redeploy(cluster: Cluster, operator: OperatorThread) -> None:
    """A renewal that failed leaves kopf a retry; deleting the sync meanwhile must not run it."""
    cluster.connection()
    cluster.tls_secret("www")
    cluster.sync("www", certificates=[{"secretName": "www"}], bindings=[{"vserver": "vs_https"}])
    cluster.wait_ready("www")

    # Every file upload fails: the renewal's reconcile ends with a transient error and kopf keeps
    # the Secret handler's retry pending.
    admin(cluster.simulator, "POST", "faults", {"kind": "error", "resource": "systemfile", "method": "POST"})
    cluster.renew("www")
    cluster.wait_reason("www", "ApplianceError")
    admin(cluster.simulator, "DELETE", "faults")

    cluster.crs.delete_namespaced_custom_object(keys.GROUP, keys.VERSION, "default", keys.SYNC_PLURAL, "www")
    # kopf removes the finalizer only after every handler of the deletion cycle has finished, so
    # once the object is gone nothing of it can run any more: what the appliance holds is final.
    wait_for(lambda: cluster.get(keys.SYNC_PLURAL, "www") is None, timeout=60, what="the sync gone")
    state = cluster.appliance()
    leftovers = [n for n, c in state["certkeys"].items() if not c["builtin"]]
    assert leftovers == [], f"certkeys of the deleted sync are back on the appliance: {leftovers}"
    assert state["bindings"] == [], f"bindings of the deleted sync: {state['bindings']}"
    assert [f for f in state["files"] if "cs-" in f] == [], "files of the deleted sync"
    assert cluster.invariants() == []
