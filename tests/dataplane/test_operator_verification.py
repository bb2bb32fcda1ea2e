"""Post-deploy verification through the real operator: what a user sees in status, conditions and
Events when the appliance does not serve what was deployed, and that it recovers by a timed retry."""

from __future__ import annotations

import datetime as dt
import json
import socket
from typing import Any

import pytest

from certsync_devkit.operator_thread import OperatorThread
from netscaler_certsync.k8s import keys
from netscaler_certsync.reconcile.context import OperatorOptions
from netscaler_certsync.reconcile.sync_status import VERIFY_RETRY_SECONDS
from tests.operator.harness import NS, Cluster, admin, condition


def verified_sync(cluster: Cluster, port: int | None = None, **spec: Any) -> None:
    host, served_port = cluster.simulator.vserver_address("vs_https")
    verify = {"host": host, "port": port or served_port}
    cluster.connection()
    cluster.sync(
        "www",
        certificates=[{"secretName": "www"}],
        bindings=[{"vserver": "vs_https", "verify": verify}],
        **spec,
    )


#: the failure table's delays, uncapped: the stale-serving test measures the verification retry's
REAL_DELAYS = OperatorOptions(health_check_tick_seconds=0.5, drift_check_tick_seconds=0.5)


def entry(obj: dict[str, Any]) -> dict[str, Any]:
    [only] = obj["status"]["certificates"]
    return only


def retry_due(obj: dict[str, Any]) -> dt.datetime | None:
    """When kopf will run a failed handler again (its progress annotation's `delayed`), if at all."""
    for key, value in (obj["metadata"].get("annotations") or {}).items():
        if key.startswith(keys.STATE_PREFIX) and value.startswith("{"):
            delayed = json.loads(value).get("delayed")
            if delayed:
                return dt.datetime.fromisoformat(delayed).replace(tzinfo=dt.UTC)
    return None


def test_verified_by_handshake_in_status(cluster: Cluster, operator: OperatorThread) -> None:
    leaf = cluster.tls_secret("www")
    verified_sync(cluster)
    got = entry(cluster.wait_ready("www"))
    assert got["verified"] is True and got["verifiedBy"] == "handshake"
    assert got["verificationReason"] == "Verified"
    assert got["observedSerial"] == leaf.serial_hex
    assert got["chainDepth"] == 2  # leaf + intermediate


def test_without_an_address_the_certkey_is_read_back(cluster: Cluster, operator: OperatorThread) -> None:
    leaf = cluster.tls_secret("www")
    cluster.connection()
    cluster.sync("www", certificates=[{"secretName": "www"}], bindings=[{"vserver": "vs_https"}])
    got = entry(cluster.wait_ready("www"))
    assert (got["verified"], got["verifiedBy"], got["observedSerial"]) == (True, "nitro", leaf.serial_hex)
    assert got["chainDepth"] == 2  # the certkey and its linked intermediate


@pytest.mark.parametrize("operator_options", [REAL_DELAYS], ids=["real-retry-delay"])
def test_stale_serving_appliance_is_a_mismatch_until_it_serves_the_renewal(
    cluster: Cluster, operator: OperatorThread
) -> None:
    old = cluster.tls_secret("www")
    verified_sync(cluster)
    cluster.wait_ready("www")
    admin(cluster.simulator, "POST", "faults", {"kind": "stale_serving", "name": "vs_https"})
    new = cluster.renew("www")

    obj = cluster.wait_reason("www", "ServedCertificateMismatch")
    assert condition(obj, "Ready")["status"] == "False"
    assert condition(obj, "Reconciling")["status"] == "True"  # retried, not stalled
    assert old.serial_hex in condition(obj, "Ready")["message"]
    got = entry(obj)
    # NITRO took the renewal (status serial is the new one); the vserver still serves the old one.
    assert got["serial"] == new.serial_hex and got["state"] == "Synced"
    assert (got["verified"], got["observedSerial"]) == (False, old.serial_hex)
    [conn] = obj["status"]["connections"]
    assert (conn["ready"], conn["reason"]) == (False, "ServedCertificateMismatch")
    assert "not served as deployed" in conn["message"]
    event = cluster.wait_event("www", "ServedCertificateMismatch")
    assert event.type == "Warning" and new.serial_hex in event.message

    # Retried on a timer, not in a loop: VERIFY_RETRY_SECONDS after the failure. The renewal ran
    # as the re-check the Secret's change made due (decision 237), whose retry the drift schedule
    # holds; had kopf's handler of the mark run it, kopf's progress record would say when.
    obj = cluster.get_sync("www")
    failed_at = dt.datetime.strptime(condition(obj, "Ready")["lastTransitionTime"], "%Y-%m-%dT%H:%M:%SZ")

    async def scheduled() -> dt.datetime | None:
        return operator.ctx.drift.due_at((NS, "www"))

    due = retry_due(obj) or operator.call(scheduled())
    assert due is not None, obj["metadata"].get("annotations")
    assert (due - failed_at.replace(tzinfo=dt.UTC)).total_seconds() >= VERIFY_RETRY_SECONDS - 1

    admin(cluster.simulator, "DELETE", "faults")  # the appliance catches up
    got = entry(cluster.wait_ready("www", timeout=25))
    assert (got["verified"], got["observedSerial"]) == (True, new.serial_hex)
    mismatches = [e for e in cluster.events("www") if e.reason == "ServedCertificateMismatch"]
    assert len(mismatches) == 1, "a failure that persists is reported once"


def test_dropped_link_is_chain_incomplete(cluster: Cluster, operator: OperatorThread) -> None:
    cluster.tls_secret("www")
    verified_sync(cluster)
    cluster.wait_ready("www")
    admin(cluster.simulator, "POST", "faults", {"kind": "drop_link", "name": "vs_https"})
    cluster.patch_sync("www", {"metadata": {"annotations": {keys.SYNC_REQUESTED_AT: "check-now"}}})
    obj = cluster.wait_reason("www", "ChainIncomplete")
    got = entry(obj)
    assert (got["verified"], got["chainDepth"]) == (False, 1)
    assert cluster.wait_event("www", "ChainIncomplete").type == "Warning"


def test_nothing_listening_is_unreachable(cluster: Cluster, operator: OperatorThread) -> None:
    cluster.tls_secret("www")
    with socket.socket() as free:
        free.bind(("127.0.0.1", 0))
        port = free.getsockname()[1]
    verified_sync(cluster, port=port)
    obj = cluster.wait_reason("www", "Unreachable")
    assert f"127.0.0.1:{port}" in condition(obj, "Ready")["message"]
    assert entry(obj)["verified"] is False
    cluster.wait_event("www", "Unreachable")


def test_each_sni_certificate_is_verified_by_its_own_name(cluster: Cluster, operator: OperatorThread) -> None:
    leaves = {name: cluster.tls_secret(name, cluster.pki.leaf(f"{name}.example.com")) for name in ("a", "b")}
    host, port = cluster.simulator.vserver_address("vs_sni")
    cluster.connection()
    cluster.sync(
        "sni",
        certificates=[{"secretName": "a"}, {"secretName": "b"}],
        bindings=[{"vserver": "vs_sni", "sni": True, "verify": {"host": host, "port": port}}],
    )
    entries = {e["secretName"]: e for e in cluster.wait_ready("sni")["status"]["certificates"]}
    for name, leaf in leaves.items():
        assert (entries[name]["verified"], entries[name]["observedSerial"]) == (True, leaf.serial_hex)
