"""A standby is alive and says so (liveness passes without leadership), and the metrics tell
leader from standby; the Lease shows the holder and an Event records the change."""

from __future__ import annotations

import signal
import socket
from pathlib import Path

import httpx

from certsync_devkit.k8s_thread import wait_for
from tests.ha.replicas import holder, start_replica
from tests.operator.harness import Cluster


def _port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _get(url: str) -> httpx.Response | None:
    try:
        reply = httpx.get(url, timeout=2)
    except httpx.TransportError:
        return None
    return reply if reply.status_code == 200 else None


def test_standby_is_live_and_metrics_and_events_tell_the_leader(cluster: Cluster, tmp_path: Path) -> None:
    ports = {name: (_port(), _port()) for name in ("op-a", "op-b")}
    replicas = []
    try:
        for name in ("op-a", "op-b"):
            live, metrics = ports[name]
            flags = ("--liveness", f"http://127.0.0.1:{live}/healthz", "--metrics-port", str(metrics))
            replica = start_replica(cluster, tmp_path, name, *flags)
            replicas.append(replica)
            if name == "op-a":
                wait_for(lambda: holder(cluster) == "op-a", timeout=30, what="op-a holding the Lease")
        a_live, a_metrics = ports["op-a"]
        b_live, b_metrics = ports["op-b"]
        standby = wait_for(
            lambda: _get(f"http://127.0.0.1:{b_live}/healthz"), timeout=30, what="standby liveness"
        )
        assert standby.json() == {"standby": True}
        wait_for(
            lambda: (
                "secretWatchers" in ((_get(f"http://127.0.0.1:{a_live}/healthz") or httpx.Response(500)).text)
            ),
            timeout=30,
            what="the leader's kopf probes",
        )

        def leader_gauge(port: int) -> str | None:
            reply = _get(f"http://127.0.0.1:{port}/metrics")
            lines = (
                []
                if reply is None
                else [x for x in reply.text.splitlines() if x.startswith("certsync_leader ")]
            )
            return lines[0].split()[1] if lines else None

        assert wait_for(lambda: leader_gauge(a_metrics) == "1.0", timeout=10, what="leader gauge 1")
        assert leader_gauge(b_metrics) == "0.0"
        replicas[0].send(signal.SIGTERM)
        wait_for(lambda: leader_gauge(b_metrics) == "1.0", timeout=30, what="op-b's leader gauge 1")

        def messages() -> list[str]:
            items = cluster.core.list_namespaced_event("default").items
            return [
                e.message for e in items if e.involved_object.kind == "Lease" and e.reason == "LeaderElection"
            ]

        wanted = ("op-a became the leader", "op-a released the Lease", "op-b became the leader")
        wait_for(
            lambda: all(any(w in m for m in messages()) for w in wanted),
            timeout=15,
            what=f"Events {wanted} on the Lease",
        )
    finally:
        for replica in replicas:
            replica.stop()
