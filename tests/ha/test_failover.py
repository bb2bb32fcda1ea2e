"""Failover between two operator processes: only the Lease holder writes; kill -9, SIGTERM and a
paused leader hand over, and a renewal pending at the change reaches the appliance.

Times are measured in each test against the Lease timings (3/2/0.5 s, grace 0.5 s); the writes are
counted exactly from the simulator's request log, which names the process of each request.
"""

from __future__ import annotations

import signal
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from certsync_devkit.k8s_thread import wait_for
from tests.ha.replicas import Replica, holder, lease, start_replica
from tests.operator.harness import Cluster

SYNC = "www"
CERTKEY = "default-www"


@pytest.fixture()
def pair(cluster: Cluster, tmp_path: Path) -> Iterator[tuple[Replica, Replica]]:
    """op-a leads (started first), op-b stands by; a CertificateSync is Ready."""
    a = start_replica(cluster, tmp_path, "op-a")
    b: Replica | None = None
    try:
        wait_for(lambda: holder(cluster) == "op-a", timeout=30, what="op-a holding the Lease")
        b = start_replica(cluster, tmp_path, "op-b")
        cluster.connection()
        cluster.tls_secret(SYNC)
        cluster.sync(SYNC, certificates=[{"secretName": SYNC}], bindings=[{"vserver": "vs_https"}])
        cluster.wait_ready(SYNC, timeout=30)
        wait_for(lambda: "standby" in b.text(), timeout=30, what="op-b standing by")
        yield a, b
    finally:
        for replica in (a, b):
            if replica is not None:
                replica.stop()


def renewal_seconds(cluster: Cluster) -> float:
    """Renew the certificate now; seconds until the appliance serves it."""
    started = time.monotonic()
    leaf = cluster.renew(SYNC)
    wait_for(
        lambda: (cluster.certkey(CERTKEY) or {}).get("serial") == leaf.serial_hex,
        timeout=60,
        what="the renewal on the appliance",
        interval=0.05,
    )
    return time.monotonic() - started


def test_only_the_holder_writes_and_the_standby_never_logs_in(
    cluster: Cluster, pair: tuple[Replica, Replica]
) -> None:
    a, b = pair
    renewal_seconds(cluster)
    clients = {r.client for r in cluster.simulator.requests if r.resource != "login" or r.status == 201}
    assert b.agent not in clients, "a standby must never touch the appliance"
    assert a.writes(cluster.simulator)
    assert holder(cluster) == "op-a"


def test_kill_9_of_the_leader_the_standby_applies_a_pending_renewal_within_lease_plus_5s(
    cluster: Cluster, pair: tuple[Replica, Replica]
) -> None:
    a, b = pair
    a.send(signal.SIGKILL)
    took = renewal_seconds(cluster)
    assert holder(cluster) == "op-b"
    assert took < a.timings["lease-duration"] + 5, took
    assert "took over from op-a after its lease expired" in b.text()


def test_sigterm_of_the_leader_hands_over_within_5s(cluster: Cluster, pair: tuple[Replica, Replica]) -> None:
    a, b = pair
    a.send(signal.SIGTERM)
    took = renewal_seconds(cluster)
    assert took < 5, took
    assert a.process.wait(30) == 0
    assert "released the Lease" in a.text()
    assert holder(cluster) == "op-b"
    assert "took over from op-a after its lease expired" not in b.text()  # released, not expired


def test_a_paused_leader_sends_no_write_after_its_lease_ran_out(
    cluster: Cluster, pair: tuple[Replica, Replica]
) -> None:
    a, b = pair
    sim = cluster.simulator
    a.send(signal.SIGSTOP)
    stopped = time.monotonic()
    wait_for(lambda: holder(cluster) == "op-b", timeout=30, what="op-b taking over")
    renewal_seconds(cluster)  # op-b applies a renewal while op-a is paused
    leaf = cluster.renew(SYNC)  # ... and another one is pending as op-a wakes up
    a.send(signal.SIGCONT)
    assert a.process.wait(30) == 3  # the lease-lost exit
    wait_for(
        lambda: (cluster.certkey(CERTKEY) or {}).get("serial") == leaf.serial_hex,
        timeout=30,
        what="op-b's second renewal",
    )
    # op-a's lease ran out at most a lease duration after it was paused (it renewed before).
    late = a.writes(sim, since=stopped + a.timings["lease-duration"])
    assert late == [], [(r.method, r.resource, r.started - stopped) for r in late]
    assert "lost the Lease" in a.text()
    assert b.writes(sim), "op-b did the renewals"
    assert cluster.invariants() == []


def test_lifecycle_across_a_leadership_change_leaves_no_orphans(
    cluster: Cluster, pair: tuple[Replica, Replica]
) -> None:
    a, _b = pair
    a.send(signal.SIGTERM)
    assert a.process.wait(30) == 0
    wait_for(lambda: holder(cluster) == "op-b", timeout=30, what="op-b taking over")
    renewal_seconds(cluster)
    cluster.tls_secret("api")
    cluster.patch_sync(SYNC, {"spec": {"certificates": [{"secretName": SYNC}, {"secretName": "api"}]}})
    wait_for(lambda: cluster.certkey("default-api"), timeout=30, what="the added certificate")
    cluster.patch_sync(SYNC, {"spec": {"certificates": [{"secretName": "api"}]}})
    wait_for(lambda: cluster.certkey(CERTKEY) is None, timeout=30, what="the removed certificate gone")
    cluster.crs.delete_namespaced_custom_object(
        "netscaler.certsync.dev", "v1alpha1", "default", "certificatesyncs", SYNC
    )
    wait_for(lambda: cluster.get("certificatesyncs", SYNC) is None, timeout=30, what="the sync deleted")
    state = cluster.appliance()
    assert not [name for name in state["certkeys"] if name.startswith("default-")]
    assert cluster.invariants() == []
    assert (lease(cluster) or {})["spec"]["leaseTransitions"] >= 1
