"""SIGTERM of an operator whose only pending work is a retry sleeping out its delay: the retry is
dropped, the Lease (if any) released and the process gone long before the retry would have fired,
with leader election and without (`--no-leader-elect`).

kopf wakes a worker sleeping out a retry delay only on a new event of its object; at shutdown none
comes, so without the operator's help kopf holds the exit (and the Lease) for its `exit_timeout`
(20 s). The deletion below fails with a 30 s retry (the appliance refuses to remove the certkey);
the order checked is: SIGTERM, Lease released and process exited, and the retry never sent.
"""

from __future__ import annotations

import re
import signal
import time
from pathlib import Path

from certsync_devkit.k8s_thread import wait_for
from netscaler_certsync.simulator.faults import FaultRule
from tests.ha.replicas import Replica, holder, lease, start_replica
from tests.operator.harness import Cluster

SYNC = "www"
#: The deletion's retry delay (reconcile/certificatesync.py, a cleanup that failed).
RETRY_SECONDS = 30
#: kopf's debug line as the object's worker starts sleeping out the retry delay.
SLEEPING = re.compile(r"\[default/www\] Sleeping for \d+\.\d+ seconds for the delayed handlers")
#: kopf's warning when its exit_timeout ran out with an object's worker still there.
UNPROCESSED = "Unprocessed streams left for"


def fail_deletion_into_its_retry(cluster: Cluster, operator: Replica) -> FaultRule:
    """Sync `www`, then delete it while the appliance refuses to remove the certkey; returns once
    the operator's worker sleeps out the deletion's retry delay (the refusal counts its tries)."""
    cluster.connection()
    cluster.tls_secret(SYNC)
    cluster.sync(SYNC, certificates=[{"secretName": SYNC}], bindings=[{"vserver": "vs_https"}])
    cluster.wait_ready(SYNC, timeout=30)
    refusal = cluster.simulator.faults.add(FaultRule(resource="sslcertkey", method="DELETE", status=503))
    cluster.crs.delete_namespaced_custom_object(
        "netscaler.certsync.dev", "v1alpha1", "default", "certificatesyncs", SYNC
    )
    wait_for(
        lambda: refusal.fired >= 1 and SLEEPING.search(operator.text()),
        timeout=30,
        what="the deletion failing into its retry delay",
    )
    return refusal


def test_sigterm_drops_a_sleeping_retry_and_releases_the_lease_at_once(
    cluster: Cluster, tmp_path: Path
) -> None:
    a = start_replica(cluster, tmp_path, "op-a", "--verbose")  # kopf's "Sleeping for" lines
    try:
        wait_for(lambda: holder(cluster) == "op-a", timeout=30, what="op-a holding the Lease")
        refusal = fail_deletion_into_its_retry(cluster, a)
        tries = refusal.matched

        a.send(signal.SIGTERM)
        signalled = time.monotonic()
        assert a.process.wait(RETRY_SECONDS + 30) == 0
        exited = time.monotonic() - signalled

        spec = (lease(cluster) or {}).get("spec") or {}
        assert not spec.get("holderIdentity"), spec  # released, not left to expire
        assert "released the Lease" in a.text()
        assert refusal.matched == tries, "the sleeping retry must be dropped, not sent at shutdown"
        # On main kopf held the exit for its exit_timeout (20 s); the retry was 30 s away.
        assert exited < RETRY_SECONDS / 3, exited
    finally:
        a.stop()


def test_sigterm_without_leader_election_drops_a_sleeping_retry_too(cluster: Cluster, tmp_path: Path) -> None:
    """`--no-leader-elect` runs kopf directly: the same sleeping retry must not hold the exit for
    kopf's exit_timeout (20 s) on every rollout either."""
    solo = start_replica(cluster, tmp_path, "solo", "--verbose", "--no-leader-elect")
    try:
        refusal = fail_deletion_into_its_retry(cluster, solo)
        tries = refusal.matched

        solo.send(signal.SIGTERM)
        # Well before both the retry (30 s) and kopf's exit_timeout (20 s, which main waited out).
        assert solo.process.wait(RETRY_SECONDS / 3) == 0

        assert refusal.matched == tries, "the sleeping retry must be dropped, not sent at shutdown"
        assert UNPROCESSED not in solo.text()  # kopf's word for a worker it gave up waiting for
        assert holder(cluster) is None  # no Lease was ever taken
    finally:
        solo.stop()


def test_sigterm_during_a_save_lets_it_finish_before_the_lease_goes(cluster: Cluster, tmp_path: Path) -> None:
    """What the wake-up above must not cut short: an apply in flight finishes with its save and its
    status, and only then is the Lease released."""
    a = start_replica(cluster, tmp_path, "op-a", "--verbose")  # every NITRO call, in order
    try:
        wait_for(lambda: holder(cluster) == "op-a", timeout=30, what="op-a holding the Lease")
        cluster.connection()
        cluster.tls_secret(SYNC)
        slow_save = cluster.simulator.faults.add(
            FaultRule(kind="latency", resource="nsconfig", method="POST", action="save", delay=1.5, times=1)
        )
        cluster.sync(SYNC, certificates=[{"secretName": SYNC}], bindings=[{"vserver": "vs_https"}])
        wait_for(lambda: slow_save.fired >= 1, timeout=30, what="the apply's save on the appliance")

        a.send(signal.SIGTERM)
        assert a.process.wait(60) == 0

        lines = a.text().splitlines()
        saved = next(i for i, line in enumerate(lines) if "NITRO POST nsconfig -> 200" in line)
        released = next(i for i, line in enumerate(lines) if "released the Lease" in line)
        assert saved < released
        assert not ((lease(cluster) or {}).get("spec") or {}).get("holderIdentity")
        cluster.wait_ready(SYNC, timeout=5)  # the status written before the exit
        assert cluster.certkey("default-www")
    finally:
        a.stop()
