"""Shards: one operator process per shard label, each watching (server-side) only the
NetScalerConnections and CertificateSyncs labelled with its shard, under a Lease of its own.

Two appliances, each with its connection and CertificateSync in one shard: each appliance is
written by exactly one process, an unlabelled CertificateSync is touched by neither, and one that
uses a connection of another shard is refused by its own shard. The per-appliance claim keeps one
writer per appliance when two shards are pointed at it, and when a group moves between shards.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from kubernetes import client
from kubernetes.client.rest import ApiException

from certsync_devkit import k8s_builders as build
from certsync_devkit.k8s_thread import wait_for
from netscaler_certsync.k8s import keys
from netscaler_certsync.simulator import SimulatorConfig, SimulatorThread
from tests.ha.replicas import LEASE, Replica, start_replica
from tests.operator.harness import NS, Cluster

G, V = keys.GROUP, keys.VERSION


def _holder(cluster: Cluster, name: str) -> str | None:
    try:
        obj = client.CoordinationV1Api(cluster.api).read_namespaced_lease(name, NS)
    except ApiException as exc:
        if exc.status == 404:
            return None
        raise
    return obj.spec.holder_identity or None


def _labelled(obj: dict[str, Any], shard: str | None) -> dict[str, Any]:
    if shard is not None:
        obj["metadata"]["labels"] = {keys.SHARD_LABEL: shard}
    return obj


def _connection(cluster: Cluster, name: str, sim: SimulatorThread, shard: str) -> None:
    cluster.core.create_namespaced_secret(NS, build.credentials_secret(f"{name}-login", "nsroot", "nsroot"))
    cluster.core.create_namespaced_secret(NS, build.opaque_secret(f"{name}-ca", {"ca.crt": sim.ca_pem}))
    spec = {
        "endpoint": sim.url,
        "credentialsSecretRef": {"name": f"{name}-login"},
        "tls": {"caSecretRef": {"name": f"{name}-ca"}},
    }
    body = _labelled(build.netscaler_connection(name, spec), shard)
    cluster.crs.create_namespaced_custom_object(G, V, NS, keys.CONNECTION_PLURAL, body)


def _sync(cluster: Cluster, name: str, connection: str, shard: str | None) -> None:
    cluster.tls_secret(name)
    spec = {
        "connectionRefs": [{"name": connection}],
        "certificates": [{"secretName": name}],
        "bindings": [{"vserver": "vs_https"}],
    }
    body = _labelled(build.certificate_sync(name, spec), shard)
    cluster.crs.create_namespaced_custom_object(G, V, NS, keys.SYNC_PLURAL, body)


@pytest.fixture()
def second(cluster: Cluster) -> Iterator[SimulatorThread]:
    sim = SimulatorThread(SimulatorConfig(ssl_vservers=("vs_https",), log_requests=False)).start()
    try:
        yield sim
    finally:
        sim.stop()


def test_each_appliance_is_written_by_exactly_its_shards_process(
    cluster: Cluster, second: SimulatorThread, tmp_path: Path
) -> None:
    shards: list[Replica] = []
    try:
        for shard in ("0", "1"):
            shards.append(start_replica(cluster, tmp_path, f"op-s{shard}", "--shard", shard))
        for shard in ("0", "1"):
            wait_for(
                lambda s=shard: _holder(cluster, f"{LEASE}-shard-{s}") == f"op-s{s}",
                timeout=30,
                what=f"op-s{shard} holding the Lease of shard {shard}",
            )
        assert _holder(cluster, LEASE) is None, "a sharded installation has no unsharded Lease"
        _connection(cluster, "adc-a", cluster.simulator, "0")
        _connection(cluster, "adc-b", second, "1")
        _sync(cluster, "www", "adc-a", "0")
        _sync(cluster, "api", "adc-b", "1")
        _sync(cluster, "stray", "adc-a", None)  # in no shard: nobody's
        _sync(cluster, "cross", "adc-b", "0")  # its connection is in another shard
        cluster.wait_ready("www", timeout=30)
        cluster.wait_ready("api", timeout=30)
        cross = cluster.wait_reason("cross", "ConnectionNotFound", timeout=30)
        ready = next(c for c in cross["status"]["conditions"] if c["type"] == "Ready")
        assert "does not exist in shard 0" in ready["message"]

        writers_a = {r.client for r in cluster.simulator.requests if r.is_write}
        writers_b = {r.client for r in second.requests if r.is_write}
        assert writers_a == {shards[0].agent}
        assert writers_b == {shards[1].agent}
        assert not (cluster.get_sync("stray").get("status") or {}), "an unlabelled sync belongs to no shard"
        assert cluster.certkey("default-stray") is None
        assert all(s.alive() for s in shards)
    finally:
        for replica in shards:
            replica.stop()


def _writes(replica: Replica, sim: SimulatorThread) -> list[float]:
    return sorted(r.started for r in sim.requests if r.client == replica.agent and r.is_write)


def test_two_shards_pointed_at_one_appliance_the_claim_lets_one_write(
    cluster: Cluster, tmp_path: Path
) -> None:
    shards = [start_replica(cluster, tmp_path, f"op-s{s}", "--shard", s) for s in ("0", "1")]
    try:
        _connection(cluster, "adc-0", cluster.simulator, "0")
        _sync(cluster, "www", "adc-0", "0")
        cluster.wait_ready("www", timeout=30)
        _connection(cluster, "adc-1", cluster.simulator, "1")  # the same appliance, misassigned
        _sync(cluster, "api", "adc-1", "1")
        refused = cluster.wait_reason("api", "ApplianceError", timeout=30)
        ready = next(c for c in refused["status"]["conditions"] if c["type"] == "Ready")
        assert "claimed by op-s0" in ready["message"]
        assert {r.client for r in cluster.simulator.requests if r.is_write} == {shards[0].agent}
    finally:
        for replica in shards:
            replica.stop()


def test_moving_a_group_between_shards_drains_first_and_loses_no_renewal(
    cluster: Cluster, tmp_path: Path
) -> None:
    s0, s1 = (start_replica(cluster, tmp_path, f"op-s{s}", "--shard", s) for s in ("0", "1"))
    try:
        _connection(cluster, "adc", cluster.simulator, "0")
        _sync(cluster, "www", "adc", "0")
        cluster.wait_ready("www", timeout=30)
        moved = {"metadata": {"labels": {keys.SHARD_LABEL: "1"}}}
        cluster.crs.patch_namespaced_custom_object(G, V, NS, keys.CONNECTION_PLURAL, "adc", moved)
        cluster.patch_sync("www", moved)
        leaf = cluster.renew("www")  # pending while the group moves
        assert s0.stop() == 0  # drain the old owner: in-flight work finishes, its claims are released
        # The new shard's refused apply is retried when the old claim may expire (a lease
        # duration at most), not after a fixed 30 s: no nudge needed.
        wait_for(
            lambda: (cluster.certkey("default-www") or {}).get("serial") == leaf.serial_hex,
            timeout=s1.timings["lease-duration"] + 10,
            what="the renewal on the appliance within a lease duration of the old shard's drain",
        )
        cluster.wait_sync(
            "www", lambda o: o["status"]["certificates"][0].get("serial") == leaf.serial_hex, "status"
        )
        old, new = _writes(s0, cluster.simulator), _writes(s1, cluster.simulator)
        assert old, "the old shard wrote the group before the move"
        assert not new or max(old) < min(new), "two writers on one appliance during the move"
    finally:
        for replica in (s0, s1):
            replica.stop()
