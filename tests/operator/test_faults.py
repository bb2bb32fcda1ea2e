"""Faults converge: appliance down then up, expired sessions, 20% NITRO errors, a 410 Gone watch restart.
Status says what is happening meanwhile."""

from __future__ import annotations

from typing import Any

from certsync_devkit.k8s_thread import wait_for
from certsync_devkit.operator_thread import OperatorThread
from tests.operator.harness import Cluster, admin, condition


def test_appliance_down_then_up(cluster: Cluster, operator: OperatorThread) -> None:
    cluster.connection()
    admin(cluster.simulator, "POST", "faults", {"kind": "reset"})  # every connection is dropped
    cluster.tls_secret("www")
    cluster.sync("www", certificates=[{"secretName": "www"}], bindings=[{"vserver": "vs_https"}])
    obj = cluster.wait_reason("www", "Unreachable")
    assert condition(obj, "Reconciling")["status"] == "True", "unreachable is retried, not Stalled"
    assert condition(obj, "Stalled")["status"] == "False"
    cluster.wait_event("www", "Unreachable")

    admin(cluster.simulator, "DELETE", "faults")
    cluster.wait_ready("www", timeout=45)
    assert cluster.bound("vs_https") == [("default-www", False)]
    assert cluster.invariants() == []


def test_sessions_expire_between_syncs(cluster: Cluster, operator: OperatorThread) -> None:
    cluster.connection()
    cluster.tls_secret("www")
    cluster.sync("www", certificates=[{"secretName": "www"}])
    cluster.wait_ready("www")
    admin(cluster.simulator, "POST", "expire-sessions")
    admin(
        cluster.simulator, "POST", "faults", {"kind": "expire_session", "resource": "sslcertkey", "times": 1}
    )
    renewed = cluster.renew("www")
    wait_for(
        lambda: (cluster.certkey("default-www") or {}).get("serial") == renewed.serial_hex,
        timeout=15,
        what="renewal",
    )


def test_twenty_percent_errors_converge(cluster: Cluster, operator: OperatorThread) -> None:
    cluster.connection()
    for name in ("a", "b", "c"):
        cluster.tls_secret(name)
    admin(
        cluster.simulator,
        "POST",
        "faults",
        {"kind": "error", "probability": 0.2, "status": 503, "errorcode": 9999},
    )
    cluster.sync(
        "three",
        certificates=[{"secretName": n} for n in ("a", "b", "c")],
        bindings=[{"vserver": "cs_sni", "sni": True}],
    )
    cluster.wait_ready("three", timeout=60)
    admin(cluster.simulator, "DELETE", "faults")
    assert sorted(cluster.bound("cs_sni")) == [("default-a", True), ("default-b", True), ("default-c", True)]
    assert cluster.invariants() == []


def test_watch_restart_with_410_gone(cluster: Cluster, operator: OperatorThread) -> None:
    cluster.connection()
    cluster.tls_secret("www")
    cluster.sync("www", certificates=[{"secretName": "www"}])
    cluster.wait_ready("www")
    cluster.emulator.call(lambda: cluster.emulator.k.expire_watches())  # every open watch ends with 410
    renewed = cluster.renew("www")
    wait_for(
        lambda: (cluster.certkey("default-www") or {}).get("serial") == renewed.serial_hex,
        timeout=20,
        what="the renewal after the watches were expired",
    )


def test_relist_skips_unchanged_syncs(cluster: Cluster, operator: OperatorThread) -> None:
    """A 410 relist hands kopf only what changed: the unchanged syncs run no handler again, so a
    renewal right after a relist does not queue behind their reprocessing (docs/benchmarks.md)."""
    cluster.connection()
    for name in ("a", "b", "y"):
        cluster.tls_secret(name)
        cluster.sync(name, certificates=[{"secretName": name}])
    for name in ("a", "b", "y"):
        cluster.wait_ready(name)
    handled: list[str] = []  # the event handler (track_triggers) feeds this index for each event
    update = operator.ctx.triggers.update

    def counting(namespace: str, name: str, *args: Any, **kwargs: Any) -> None:
        handled.append(name)
        update(namespace, name, *args, **kwargs)

    # a sentinel after Ready: every earlier event of a, b and y is handled once it is
    cluster.tls_secret("x")
    operator.ctx.triggers.update = counting  # type: ignore[method-assign]
    cluster.sync("x", certificates=[{"secretName": "x"}])
    cluster.wait_ready("x")
    handled.clear()
    cluster.emulator.call(lambda: cluster.emulator.k.expire_watches())  # every open watch ends with 410
    cluster.tls_secret("z")
    cluster.sync("z", certificates=[{"secretName": "z"}])  # listed after a, b, x, y, or watched after
    cluster.wait_ready("z")
    assert not {"a", "b", "y"} & set(handled), handled
    renewed = cluster.renew("a")
    wait_for(
        lambda: (cluster.certkey("default-a") or {}).get("serial") == renewed.serial_hex,
        timeout=20,
        what="the renewal after the relist",
    )
