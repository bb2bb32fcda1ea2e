"""The operator's whole lifecycle works as a NetScaler user restricted to the command policy of
docs/netscaler-setup.md, and that policy refuses what the operator has no business doing."""

from __future__ import annotations

import ssl

import httpx
import pytest

from certsync_devkit.k8s_thread import EmulatorThread, wait_for
from certsync_devkit.operator_thread import OperatorThread
from certsync_devkit.pki import make_ca
from certsync_devkit.policy import command_policy
from netscaler_certsync.k8s import ClusterAccess, keys
from netscaler_certsync.reconcile.context import OperatorOptions
from netscaler_certsync.simulator import RestrictedUser
from tests.operator.harness import Cluster, condition
from tests.operator.test_client_auth import bundle_configmap, ca_bindings, ca_name, client_auth_binding

USER = ("certsync", "certsync-test")
RESTRICTED = RestrictedUser(USER[0], USER[1], command_policy())


@pytest.mark.simulator(restricted_users=(RESTRICTED,))
def test_lifecycle_as_the_restricted_user(cluster: Cluster, operator: OperatorThread) -> None:
    cluster.connection(user=USER)
    cluster.tls_secret("a")
    cluster.tls_secret("b")
    cluster.sync("in-place", certificates=[{"secretName": "a"}], bindings=[{"vserver": "vs_https"}])
    cluster.sync(
        "beside",
        certificates=[{"secretName": "b"}],
        bindings=[{"vserver": "cs_sni", "sni": True}],
        preserveOnRenewal=False,
    )
    cluster.wait_ready("in-place")
    cluster.wait_ready("beside")
    a2, b2 = cluster.renew("a"), cluster.renew("b")
    wait_for(
        lambda: (cluster.certkey("default-a") or {}).get("serial") == a2.serial_hex, what="in-place renewal"
    )
    cluster.wait_sync(
        "beside", lambda o: o["status"]["certificates"][0].get("serial") == b2.serial_hex, "renewal beside"
    )
    for name in ("in-place", "beside"):
        cluster.crs.delete_namespaced_custom_object(
            keys.GROUP, keys.VERSION, "default", keys.SYNC_PLURAL, name
        )
    wait_for(
        lambda: not [n for n, c in cluster.appliance()["certkeys"].items() if not c.get("builtin")],
        what="removal",
    )

    refused = [r for r in cluster.simulator.requests if r.status == 403 or r.errorcode == 2138]
    assert refused == [], f"the policy refused operator calls: {refused[:3]}"
    writes = {(r.method, r.resource, r.action) for r in cluster.simulator.requests if r.is_write}
    assert ("POST", "sslcertkey", "update") in writes and ("POST", "nsconfig", "save") in writes
    assert cluster.invariants() == []


@pytest.mark.simulator(restricted_users=(RESTRICTED,))
def test_the_policy_refuses_other_commands(cluster: Cluster) -> None:
    trust = ssl.create_default_context(cadata=cluster.simulator.ca_pem.decode())
    headers = {"X-NITRO-USER": USER[0], "X-NITRO-PASS": USER[1]}
    with httpx.Client(
        base_url=f"{cluster.simulator.url}/nitro/v1/config", verify=trust, headers=headers
    ) as c:
        allowed = c.get("/sslcertkey")
        assert allowed.status_code == 200
        for method, path, body in (
            ("PUT", "/sslvserver", {"sslvserver": {"vservername": "vs_https", "snienable": "ENABLED"}}),
            (
                "PUT",
                "/sslcertkey",
                {"sslcertkey": {"certkey": "ns-server-certificate", "expirymonitor": "ENABLED"}},
            ),
        ):
            reply = c.request(method, path, json=body)
            assert (reply.status_code, reply.json()["errorcode"]) == (403, 2138), (method, path, reply.text)


@pytest.mark.simulator(restricted_users=(RESTRICTED,))
def test_a_failing_first_sync_and_a_restart_never_claim_an_unsaved_configuration(
    cluster: Cluster, emulator: EmulatorThread, operator_options: OperatorOptions
) -> None:
    """Issue 17: as this user, `show ns config` is refused; a first sync that failed before writing
    showed ConfigNotSaved instead of its reason, and after every restart every sync went red."""
    cluster.connection(user=USER)
    cluster.tls_secret("a")
    cluster.sync("ok", certificates=[{"secretName": "a"}], bindings=[{"vserver": "vs_https"}])
    cluster.sync("broken", certificates=[{"secretName": "missing"}], bindings=[{"vserver": "vs_two"}])
    access = ClusterAccess(server=emulator.url, token="operator-token")
    with OperatorThread(access, operator_options):
        cluster.wait_ready("ok")
        cluster.wait_reason("broken", "SecretNotFound")
    saves = sum(1 for r in cluster.simulator.requests if r.resource == "nsconfig" and r.is_write)

    with OperatorThread(access, operator_options):  # a new process: helm upgrade
        cluster.request_sync("ok", "broken", value="after-restart")  # whatever kopf resumes first
        assert condition(cluster.get_sync("ok"), "Ready")["status"] == "True"
        assert condition(cluster.get_sync("broken"), "Ready")["reason"] == "SecretNotFound"

    assert [
        e.message for e in cluster.events("ok") + cluster.events("broken") if e.reason == "ConfigNotSaved"
    ] == []
    refused = [f"{r.method} {r.resource}" for r in cluster.simulator.requests if r.status == 403]
    assert refused == []
    # Nothing was written after the restart, so nothing was saved again.
    assert sum(1 for r in cluster.simulator.requests if r.resource == "nsconfig" and r.is_write) == saves


@pytest.mark.simulator(restricted_users=(RESTRICTED,))
def test_client_auth_as_the_restricted_user(cluster: Cluster, operator: OperatorThread) -> None:
    """Binding and removing client CAs (`bind ssl vserver -CA`) needs nothing beyond the policy."""
    cluster.connection(user=USER)
    cluster.tls_secret("www")
    ca = make_ca("Client CA")
    bundle_configmap(cluster, "trust", ca.cert_pem)
    ca_from = {"configMapKeyRef": {"name": "trust", "key": "trust-bundle.pem"}}
    cluster.sync("www", certificates=[{"secretName": "www"}], bindings=client_auth_binding(ca_from))
    cluster.wait_ready("www")
    assert ca_bindings(cluster) == [ca_name(ca)]
    cluster.crs.delete_namespaced_custom_object(keys.GROUP, keys.VERSION, "default", keys.SYNC_PLURAL, "www")
    wait_for(lambda: cluster.appliance()["bindings"] == [] and ca_bindings(cluster) == [], what="removal")
    refused = [r for r in cluster.simulator.requests if r.status == 403 or r.errorcode == 2138]
    assert refused == [], f"the policy refused operator calls: {refused[:3]}"
