"""Deletion ordering: a NetScalerConnection outlives the CertificateSyncs that use it, and a
CertificateSync that deployed nothing leaves without reaching its appliance."""

from __future__ import annotations

from certsync_devkit.k8s_thread import wait_for
from certsync_devkit.operator_thread import OperatorThread
from netscaler_certsync.k8s import keys
from tests.operator.harness import NS, Cluster, admin, condition


def _delete(cluster: Cluster, plural: str, name: str) -> None:
    cluster.crs.delete_namespaced_custom_object(keys.GROUP, keys.VERSION, NS, plural, name)


def _gone(cluster: Cluster, plural: str, name: str, timeout: float = 10) -> None:
    wait_for(lambda: cluster.get(plural, name) is None, timeout=timeout, what=f"{plural} {name} gone")


def test_a_connection_in_use_waits_for_its_syncs(cluster: Cluster, operator: OperatorThread) -> None:
    cluster.connection()
    for name, vserver in (("www", "vs_https"), ("api", "vs_two")):
        cluster.tls_secret(name)
        cluster.sync(name, certificates=[{"secretName": name}], bindings=[{"vserver": vserver}])
        cluster.wait_ready(name)

    _delete(cluster, keys.CONNECTION_PLURAL, "adc")
    event = cluster.wait_event("adc", "ConnectionInUse")
    assert "api, www" in event.message
    held = cluster.get(keys.CONNECTION_PLURAL, "adc")
    assert held is not None and held["metadata"].get("deletionTimestamp"), "held by its finalizer"
    assert condition(held, "Ready")["reason"] == "ConnectionInUse"
    assert "api, www" in condition(held, "Ready")["message"]

    # The syncs still have their connection: their own deletion removes what they deployed.
    _delete(cluster, keys.SYNC_PLURAL, "www")
    _gone(cluster, keys.SYNC_PLURAL, "www")
    assert cluster.certkey("default-www") is None
    assert cluster.get(keys.CONNECTION_PLURAL, "adc") is not None, "api still uses it"
    _delete(cluster, keys.SYNC_PLURAL, "api")
    _gone(cluster, keys.SYNC_PLURAL, "api")
    assert cluster.certkey("default-api") is None
    _gone(cluster, keys.CONNECTION_PLURAL, "adc")
    assert cluster.invariants() == []


def test_a_sync_that_deployed_nothing_deletes_without_its_appliance(
    cluster: Cluster, operator: OperatorThread
) -> None:
    cluster.connection()
    # Ready before the sync exists, so no connection-ready re-sync overlaps the count below.
    wait_for(
        lambda: condition(cluster.get(keys.CONNECTION_PLURAL, "adc") or {}, "Ready").get("status") == "True",
        timeout=10,
        what="connection Ready",
    )
    cluster.sync("www", certificates=[{"secretName": "not-there"}], bindings=[{"vserver": "vs_https"}])
    cluster.wait_reason("www", "SecretNotFound")
    admin(cluster.simulator, "DELETE", "requests")
    _delete(cluster, keys.SYNC_PLURAL, "www")
    _gone(cluster, keys.SYNC_PLURAL, "www")
    assert [f"{r.method} {r.resource}" for r in cluster.simulator.requests] == []


def test_a_sync_whose_connection_never_existed_deletes_at_once(
    cluster: Cluster, operator: OperatorThread
) -> None:
    cluster.tls_secret("www")
    cluster.sync("www", certificates=[{"secretName": "www"}], connectionRefs=[{"name": "nowhere"}])
    cluster.wait_reason("www", "ConnectionNotFound")
    _delete(cluster, keys.SYNC_PLURAL, "www")
    _gone(cluster, keys.SYNC_PLURAL, "www", timeout=5)


def test_a_sync_whose_first_apply_failed_after_uploading_still_removes_its_files(
    cluster: Cluster, operator: OperatorThread
) -> None:
    """Found by the chaos tier: the key upload took effect but was answered 503, so no certkey was
    added and the records the failed apply reported were empty. The deletion took empty records
    for "never wrote here" and left both files on the appliance for good."""
    cluster.connection()
    cluster.tls_secret("www")
    fault = {"kind": "error", "resource": "systemfile", "method": "POST", "phase": "after", "after": 1}
    admin(cluster.simulator, "POST", "faults", fault)  # the certificate lands, the key "fails"
    cluster.sync("www", certificates=[{"secretName": "www"}], bindings=[{"vserver": "vs_https"}])
    cluster.wait_reason("www", "ApplianceError")
    ours = lambda: [f for f in cluster.appliance()["files"] if "/cs-" in f]  # noqa: E731
    assert len(ours()) == 2, "both files were written"
    admin(cluster.simulator, "DELETE", "faults")
    _delete(cluster, keys.SYNC_PLURAL, "www")
    _gone(cluster, keys.SYNC_PLURAL, "www")
    assert ours() == []
    assert cluster.invariants() == []
