"""NetScalerConnection: what `kubectl get nsconn` shows for a good, a misconfigured and an HA appliance."""

from __future__ import annotations

from typing import Any

from certsync_devkit import k8s_builders as build
from certsync_devkit.k8s_thread import wait_for
from certsync_devkit.operator_thread import OperatorThread
from netscaler_certsync.k8s import keys
from netscaler_certsync.simulator import SimulatorConfig, SimulatorThread
from tests.operator.harness import NS, Cluster, condition


def _wait_conn(cluster: Cluster, name: str, pred: Any, what: str) -> dict[str, Any]:
    def check() -> dict[str, Any] | None:
        obj = cluster.get(keys.CONNECTION_PLURAL, name)
        return obj if obj and pred(obj) else None

    return wait_for(check, timeout=15, what=what)


def test_ready_with_version_and_ha_state(cluster: Cluster, operator: OperatorThread) -> None:
    cluster.connection()
    obj = _wait_conn(
        cluster, "adc", lambda o: condition(o, "Ready").get("status") == "True", "connection Ready"
    )
    status = obj["status"]
    assert status["version"].startswith("NetScaler NS13.1")
    assert status["haState"] == "Standalone"
    assert status["primaryEndpoint"] == cluster.simulator.url
    assert status["lastCheckedTime"]
    assert condition(obj, "TLSVerified")["status"] == "True"
    assert condition(obj, "Ready")["observedGeneration"] == obj["metadata"]["generation"]


def test_bad_credentials(cluster: Cluster, operator: OperatorThread) -> None:
    cluster.connection(user=("nsroot", "not-the-password"))
    obj = _wait_conn(
        cluster,
        "adc",
        lambda o: condition(o, "Ready").get("reason") == "AuthenticationFailed",
        "auth failure",
    )
    assert condition(obj, "Stalled")["status"] == "True"
    assert "not-the-password" not in str(obj)
    cluster.wait_event("adc", "AuthenticationFailed")


def test_tls_verification_failure_without_the_ca(cluster: Cluster, operator: OperatorThread) -> None:
    cluster.core.create_namespaced_secret(NS, build.credentials_secret("login", "nsroot", "nsroot"))
    spec = {"endpoint": cluster.simulator.url, "credentialsSecretRef": {"name": "login"}}
    cluster.crs.create_namespaced_custom_object(
        keys.GROUP, keys.VERSION, NS, keys.CONNECTION_PLURAL, build.netscaler_connection("adc", spec)
    )
    obj = _wait_conn(
        cluster,
        "adc",
        lambda o: condition(o, "Ready").get("reason") == "TLSVerificationFailed",
        "TLS failure",
    )
    assert "caSecretRef" in condition(obj, "Ready")["message"]
    cluster.wait_event("adc", "TLSVerificationFailed")


def test_missing_credentials_secret(cluster: Cluster, operator: OperatorThread) -> None:
    spec = {"endpoint": cluster.simulator.url, "credentialsSecretRef": {"name": "nope"}}
    cluster.crs.create_namespaced_custom_object(
        keys.GROUP, keys.VERSION, NS, keys.CONNECTION_PLURAL, build.netscaler_connection("adc", spec)
    )
    _wait_conn(
        cluster,
        "adc",
        lambda o: condition(o, "Ready").get("reason") == "CredentialsNotFound",
        "missing Secret",
    )
    cluster.wait_event("adc", "CredentialsNotFound")


def test_insecure_skip_verify_is_said_in_a_condition(cluster: Cluster, operator: OperatorThread) -> None:
    cluster.core.create_namespaced_secret(NS, build.credentials_secret("login", "nsroot", "nsroot"))
    spec = {
        "endpoint": cluster.simulator.url,
        "credentialsSecretRef": {"name": "login"},
        "tls": {"insecureSkipVerify": True},
    }
    cluster.crs.create_namespaced_custom_object(
        keys.GROUP, keys.VERSION, NS, keys.CONNECTION_PLURAL, build.netscaler_connection("adc", spec)
    )
    obj = _wait_conn(cluster, "adc", lambda o: condition(o, "Ready").get("status") == "True", "Ready")
    assert condition(obj, "TLSVerified") == {
        **condition(obj, "TLSVerified"),
        "status": "False",
        "reason": "InsecureSkipVerify",
    }
    cluster.wait_event("adc", "InsecureSkipVerify")


def test_ha_pair_writes_to_the_primary_only(cluster: Cluster, operator: OperatorThread) -> None:
    secondary = SimulatorThread(SimulatorConfig(ha_state="secondary", ssl_vservers=("vs_https",))).start()
    primary = cluster.simulator  # the fixture's appliance plays the primary
    try:
        cluster.core.create_namespaced_secret(NS, build.credentials_secret("login", "nsroot", "nsroot"))
        bundle = secondary.ca_pem + primary.ca_pem
        cluster.core.create_namespaced_secret(NS, build.opaque_secret("ca", {"ca.crt": bundle}))
        spec = {
            "endpoints": [secondary.url, primary.url],
            "credentialsSecretRef": {"name": "login"},
            "tls": {"caSecretRef": {"name": "ca"}},
        }
        cluster.crs.create_namespaced_custom_object(
            keys.GROUP, keys.VERSION, NS, keys.CONNECTION_PLURAL, build.netscaler_connection("adc", spec)
        )
        obj = _wait_conn(
            cluster, "adc", lambda o: condition(o, "Ready").get("status") == "True", "HA pair Ready"
        )
        assert obj["status"]["primaryEndpoint"] == primary.url
        cluster.tls_secret("www")
        cluster.sync("www", certificates=[{"secretName": "www"}], bindings=[{"vserver": "vs_https"}])
        cluster.wait_ready("www")
        assert cluster.certkey("default-www") is not None
        assert not [r for r in secondary.requests if r.is_write], "nothing may be written to the secondary"
    finally:
        secondary.stop()


def test_password_with_the_newline_echo_leaves(cluster: Cluster, operator: OperatorThread) -> None:
    # `echo nsroot | base64` is how many people fill a Secret by hand: the newline is not the password.
    cluster.connection(user=("nsroot", "nsroot\n"))
    _wait_conn(
        cluster, "adc", lambda o: condition(o, "Ready").get("status") == "True", "Ready despite the newline"
    )


def test_an_ha_role_switch_keeps_one_writer_lock_for_the_pair(
    cluster: Cluster, operator: OperatorThread
) -> None:
    """The lock, snapshot and grouped saves belong to the pair, not to whichever node is primary:
    after a switch, syncs on the new primary still take turns with those the old key admitted."""
    secondary = SimulatorThread(SimulatorConfig(ha_state="secondary", ssl_vservers=("vs_https",))).start()
    primary = cluster.simulator
    try:
        cluster.core.create_namespaced_secret(NS, build.credentials_secret("login", "nsroot", "nsroot"))
        bundle = secondary.ca_pem + primary.ca_pem
        cluster.core.create_namespaced_secret(NS, build.opaque_secret("ca", {"ca.crt": bundle}))
        spec = {
            "endpoints": [primary.url, secondary.url],
            "credentialsSecretRef": {"name": "login"},
            "tls": {"caSecretRef": {"name": "ca"}},
        }
        cluster.crs.create_namespaced_custom_object(
            keys.GROUP, keys.VERSION, NS, keys.CONNECTION_PLURAL, build.netscaler_connection("adc", spec)
        )
        _wait_conn(
            cluster, "adc", lambda o: o.get("status", {}).get("primaryEndpoint") == primary.url, "primary"
        )
        cluster.tls_secret("www")
        cluster.sync("www", certificates=[{"secretName": "www"}], bindings=[{"vserver": "vs_https"}])
        cluster.wait_ready("www")

        primary.set_ha_state("secondary")  # the pair fails over
        secondary.set_ha_state("primary")
        cluster.crs.patch_namespaced_custom_object(
            keys.GROUP,
            keys.VERSION,
            NS,
            keys.CONNECTION_PLURAL,
            "adc",
            {"metadata": {"annotations": {keys.SYNC_REQUESTED_AT: "2026-01-01T00:00:00Z"}}},
        )
        _wait_conn(
            cluster, "adc", lambda o: o["status"].get("primaryEndpoint") == secondary.url, "switch seen"
        )
        leaf = cluster.renew("www")
        cluster.wait_sync(
            "www",
            lambda o: any(c.get("serial") == leaf.serial_hex for c in o["status"].get("certificates") or []),
            "renewal applied on the new primary",
        )
        assert [r for r in secondary.requests if r.is_write], "the renewal goes to the new primary"
        keys_in_use = [entry.key for entry in operator.ctx.appliances]
        assert len(keys_in_use) == 1, f"one lock for the HA pair, not one per primary: {keys_in_use}"
    finally:
        secondary.stop()
