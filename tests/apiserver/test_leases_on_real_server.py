"""The operator's Leases on a real API server (etcd, real resourceVersion preconditions).

This tier's server is a standalone apiextensions server: it has no coordination.k8s.io group of
its own, so the Lease kind is served here by a CRD carrying the schema of coordination.k8s.io/v1
Lease (every field typed, everything else pruned). What is checked is what the API server, not
the emulator, decides: the objects the elector (k8s/lease.py) writes keep every field through
the real schema, `kubectl get lease` shows the holder, a stale PUT is refused with 409, a release
hands the Lease over at once, and a shard's per-appliance claim is a Lease of its own.
"""

from __future__ import annotations

import asyncio
import json
import time
from collections.abc import Iterator
from dataclasses import replace
from typing import Any

import pytest
from kubernetes.client.rest import ApiException

from certsync_devkit.k8s_thread import wait_for
from netscaler_certsync.k8s import ClusterAccess, KubeClient, keys
from netscaler_certsync.k8s.errors import Conflict
from netscaler_certsync.k8s.lease import ApplianceClaims, ElectorThread, LeaseElector, LeaseSettings
from tests.apiserver.apiserver_kube import Kube

_TIME = {"type": "string", "format": "date-time"}
_INT = {"type": "integer", "format": "int32"}
#: coordination.k8s.io/v1 LeaseSpec, field for field (k8s.io/api/coordination/v1/types.go).
LEASE_SPEC = {
    "type": "object",
    "properties": {
        "acquireTime": _TIME,
        "holderIdentity": {"type": "string"},
        "leaseDurationSeconds": _INT,
        "leaseTransitions": _INT,
        "preferredHolder": {"type": "string"},
        "renewTime": _TIME,
        "strategy": {"type": "string"},
    },
}
LEASE_CRD = {
    "apiVersion": "apiextensions.k8s.io/v1",
    "kind": "CustomResourceDefinition",
    "metadata": {
        "name": "leases.coordination.k8s.io",
        # A *.k8s.io group needs this on a CRD; this server has no built-in Lease to clash with.
        "annotations": {"api-approved.kubernetes.io": "unapproved, test-only stand-in for the built-in kind"},
    },
    "spec": {
        "group": "coordination.k8s.io",
        "scope": "Namespaced",
        "names": {"plural": "leases", "singular": "lease", "kind": "Lease", "listKind": "LeaseList"},
        "versions": [
            {
                "name": "v1",
                "served": True,
                "storage": True,
                "schema": {"openAPIV3Schema": {"type": "object", "properties": {"spec": LEASE_SPEC}}},
            }
        ],
    },
}
FAST = {"lease_duration": 3.0, "renew_deadline": 2.0, "retry_period": 0.5}


@pytest.fixture(scope="module")
def leases(kube: Kube) -> Iterator[Kube]:
    try:
        kube.crds.create_custom_resource_definition(LEASE_CRD)
    except ApiException as exc:
        if exc.status != 409:  # already there from an earlier module of this session
            raise
    kube.kubectl("wait", "--for=condition=Established", "--timeout=30s", "crd/leases.coordination.k8s.io")
    wait_for(
        lambda: (
            "leases.coordination.k8s.io"
            in kube.kubectl(
                "api-resources", "--api-group=coordination.k8s.io", "-o", "name", check=False
            ).stdout
        ),
        timeout=30,
        what="leases in discovery",
    )
    yield kube


def _lease(kube: Kube, name: str, namespace: str) -> dict[str, Any]:
    """What `kubectl get lease` shows."""
    return json.loads(kube.kubectl("get", "lease", name, "-n", namespace, "-o", "json").stdout)


def _access(kube: Kube) -> ClusterAccess:
    return ClusterAccess.from_kubeconfig(kube.server.kubeconfig)


def test_the_elected_process_holds_a_lease_kubectl_shows_and_a_release_hands_it_over(
    leases: Kube, namespace: str
) -> None:
    settings = LeaseSettings(name="certsync", namespace=namespace, identity="op-a", **FAST)
    a = ElectorThread(_access(leases), settings, on_acquired=lambda: None, on_lost=lambda: None).start()
    try:
        wait_for(lambda: a.write_budget() > 0, timeout=30, what="op-a leading")
        first = _lease(leases, "certsync", namespace)
        assert first["spec"]["holderIdentity"] == "op-a"
        assert first["spec"]["leaseDurationSeconds"] == 3
        assert {"acquireTime", "renewTime", "leaseTransitions"} <= first["spec"].keys(), "nothing pruned"
        wait_for(lambda: a.renewals >= 2, timeout=30, what="two renewals")
        renewed = _lease(leases, "certsync", namespace)
        assert renewed["spec"]["renewTime"] > first["spec"]["renewTime"]
        assert renewed["spec"]["acquireTime"] == first["spec"]["acquireTime"]
        assert renewed["metadata"]["resourceVersion"] != first["metadata"]["resourceVersion"]
    finally:
        a.stop(release=True)
    released = _lease(leases, "certsync", namespace)["spec"]
    assert not released.get("holderIdentity") and released["leaseDurationSeconds"] == 1

    b_settings = replace(settings, identity="op-b")
    b = ElectorThread(_access(leases), b_settings, on_acquired=lambda: None, on_lost=lambda: None)
    started = time.monotonic()
    b.start()
    try:
        wait_for(lambda: b.write_budget() > 0, timeout=30, what="op-b leading")
        assert time.monotonic() - started < FAST["lease_duration"], "a released Lease is taken at once"
        taken = _lease(leases, "certsync", namespace)["spec"]
        assert taken["holderIdentity"] == "op-b" and taken["leaseTransitions"] == 1
    finally:
        b.stop(release=True)


async def test_a_stale_write_is_refused_by_the_server_and_a_claim_is_a_lease(
    leases: Kube, namespace: str
) -> None:
    async with KubeClient(_access(leases)) as api:
        settings = LeaseSettings(name="race", namespace=namespace, identity="op-a", **FAST)
        a, b = LeaseElector(api, settings), LeaseElector(api, replace(settings, identity="op-b"))
        assert await a.try_acquire_or_renew()
        # Read before a renewed: a PUT carrying that resourceVersion is refused (409, from etcd).
        stale = await api.get_object("coordination.k8s.io", "v1", "leases", namespace, "race")
        assert await a.try_acquire_or_renew()
        held = {**stale, "spec": {**stale["spec"], "holderIdentity": "op-b"}}
        with pytest.raises(Conflict):
            await api.replace_object("coordination.k8s.io", "v1", "leases", namespace, "race", held)
        assert not await b.try_acquire_or_renew(), "a valid holder is not taken over"
        assert _lease(leases, "race", namespace)["spec"]["holderIdentity"] == "op-a"

        claims = ApplianceClaims(replace(settings, name="certsync-shard-0", claims="certsync"))
        claims.attach(api, asyncio.get_running_loop())
        assert await claims.claim("https://10.0.0.1") > 0
        claim = _lease(leases, claims.lease_name("https://10.0.0.1"), namespace)
        assert claim["metadata"]["name"].startswith("certsync-appliance-")
        assert claim["spec"]["holderIdentity"] == "op-a"
        assert claim["metadata"]["labels"] == {keys.CLAIM_LABEL: "true"}
        assert claim["metadata"]["annotations"][keys.CLAIM_APPLIANCE_ANNOTATION] == "https://10.0.0.1"
