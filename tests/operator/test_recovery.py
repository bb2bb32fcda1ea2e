"""Recovery in seconds: a fixed credentials or CA Secret, an appliance that comes back, a manual
check of a NetScalerConnection, and the CertificateSyncs that wait for their connection.

Bounds are the targets users were promised (10 s for a fixed Secret, 30 s for an appliance that
is back), not measurements; bench/recovery.py measures. The operator's clock is moved forward
(injected) where a test needs a periodic check to come due, never slept for.
"""

from __future__ import annotations

import datetime as dt
import time
from collections.abc import Callable
from typing import Any

import pytest

from certsync_devkit import k8s_builders as build
from certsync_devkit.k8s_thread import wait_for
from certsync_devkit.operator_thread import OperatorThread
from netscaler_certsync.k8s import keys
from netscaler_certsync.reconcile.context import OperatorOptions
from netscaler_certsync.timestamps import utc_now
from tests.operator.harness import NS, Cluster, admin, condition

FIXED_SECRET_TARGET = 10.0
APPLIANCE_BACK_TARGET = 30.0


@pytest.fixture()
def operator_options() -> OperatorOptions:
    # No shared listing of the appliance: a drift re-check reads it, so it sees an outage.
    return OperatorOptions(
        health_check_tick_seconds=0.5, drift_check_tick_seconds=0.5, snapshot_max_age_seconds=0
    )


def _conn(cluster: Cluster, name: str = "adc") -> dict[str, Any]:
    obj = cluster.get(keys.CONNECTION_PLURAL, name)
    assert obj is not None, f"NetScalerConnection {name} is gone"
    return obj


def wait_conn(
    cluster: Cluster, pred: Callable[[dict[str, Any]], Any], what: str, timeout: float = 15, name: str = "adc"
) -> dict[str, Any]:
    def check() -> dict[str, Any] | None:
        obj = _conn(cluster, name)
        return obj if pred(obj) else None

    try:
        return wait_for(check, timeout=timeout, what=what)
    except AssertionError as exc:
        raise AssertionError(f"{exc}; last status: {_conn(cluster, name).get('status')}") from None


def reason_is(reason: str) -> Callable[[dict[str, Any]], bool]:
    return lambda o: condition(o, "Ready").get("reason") == reason


def ready(o: dict[str, Any]) -> bool:
    return condition(o, "Ready").get("status") == "True"


def set_password(cluster: Cluster, password: str, name: str = "adc-login") -> None:
    cluster.core.patch_namespaced_secret(name, NS, {"data": {"password": build.b64(password.encode())}})


def test_a_fixed_password_is_ready_in_seconds(cluster: Cluster, operator: OperatorThread) -> None:
    cluster.connection(user=("nsroot", "wrong-password"))
    wait_conn(cluster, reason_is("AuthenticationFailed"), "login refused")
    set_password(cluster, "nsroot")
    wait_conn(cluster, ready, "Ready after the password was fixed", timeout=FIXED_SECRET_TARGET)


def test_a_ca_secret_created_after_the_connection_is_noticed(
    cluster: Cluster, operator: OperatorThread
) -> None:
    cluster.core.create_namespaced_secret(NS, build.credentials_secret("login", "nsroot", "nsroot"))
    spec = {
        "endpoint": cluster.simulator.url,
        "credentialsSecretRef": {"name": "login"},
        "tls": {"caSecretRef": {"name": "late-ca"}},
    }
    cluster.crs.create_namespaced_custom_object(
        keys.GROUP, keys.VERSION, NS, keys.CONNECTION_PLURAL, build.netscaler_connection("adc", spec)
    )
    wait_conn(cluster, reason_is("CANotFound"), "the CA Secret is missing")
    cluster.core.create_namespaced_secret(
        NS, build.opaque_secret("late-ca", {"ca.crt": cluster.simulator.ca_pem})
    )
    wait_conn(cluster, ready, "Ready once the CA Secret exists", timeout=FIXED_SECRET_TARGET)


def test_syncs_recover_with_their_connection(cluster: Cluster, operator: OperatorThread) -> None:
    cluster.connection(user=("nsroot", "wrong-password"))
    cluster.tls_secret("www")
    cluster.sync("www", certificates=[{"secretName": "www"}], bindings=[{"vserver": "vs_https"}])
    cluster.wait_reason("www", "AuthenticationFailed")  # stalled: its own re-check is minutes away
    set_password(cluster, "nsroot")
    cluster.wait_ready("www", timeout=FIXED_SECRET_TARGET)
    assert cluster.bound("vs_https") == [("default-www", False)]


def test_sync_requested_at_checks_a_connection_now(cluster: Cluster, operator: OperatorThread) -> None:
    cluster.connection()
    wait_conn(cluster, ready, "Ready")
    logins = _logins(cluster)  # the next timed check is healthCheckIntervalSeconds (5 min) away
    annotation = {"metadata": {"annotations": {keys.SYNC_REQUESTED_AT: "2026-12-05T18:00:00Z"}}}
    cluster.crs.patch_namespaced_custom_object(
        keys.GROUP, keys.VERSION, NS, keys.CONNECTION_PLURAL, "adc", annotation
    )
    wait_for(lambda: _logins(cluster) > logins, timeout=10, what="a check (a login) on request")
    assert _logins(cluster) == logins + 1, "one request, one check"


def test_appliance_back_connection_and_syncs_ready_in_seconds(
    cluster: Cluster, operator: OperatorThread
) -> None:
    cluster.connection()
    wait_conn(cluster, ready, "Ready")
    cluster.tls_secret("www")
    cluster.sync("www", certificates=[{"secretName": "www"}], bindings=[{"vserver": "vs_https"}])
    cluster.wait_ready("www")
    # The appliance stops answering (every connection reset), and the periodic checks find out:
    # the operator's clock moves past both intervals instead of the test waiting them out.
    admin(cluster.simulator, "POST", "faults", [{"kind": "reset"}])
    operator.ctx.clock = _ahead(dt.timedelta(hours=1))
    wait_conn(cluster, reason_is("Unreachable"), "the connection sees the outage")
    cluster.wait_reason("www", "Unreachable")
    admin(cluster.simulator, "DELETE", "faults")
    back = time.monotonic()
    wait_conn(cluster, ready, "Ready again", timeout=APPLIANCE_BACK_TARGET)
    cluster.wait_ready("www", timeout=APPLIANCE_BACK_TARGET - (time.monotonic() - back))


def _ahead(offset: dt.timedelta) -> Callable[[], dt.datetime]:
    return lambda: utc_now() + offset


def _logins(cluster: Cluster) -> int:
    return sum(1 for r in cluster.simulator.requests if r.resource == "login")
