"""A new CertificateSync in a shard is reconciled once, by kopf's create handler.

A shard watches the TLS Secrets its syncs name but that lack the shard's label one by one; when
such a watch first lists its Secret, it marks each sync whose reconcile would otherwise not look
at it (one moved in from another shard: kopf runs no handler for it here). A sync created after
the shard started is not such a sync: kopf's create handler reconciles it and reads its Secrets,
so a mark would only cost a second reconcile of every new sync (its appliance reads and a status
patch) and an annotation that claims a Secret change that never happened.
"""

from __future__ import annotations

from typing import Any

import pytest

from certsync_devkit import k8s_builders as build
from certsync_devkit.k8s_thread import EmulatorThread, wait_for
from netscaler_certsync.k8s import keys
from netscaler_certsync.reconcile.context import OperatorOptions
from netscaler_certsync.reconcile.triggers import SECRET_CHANGED
from tests.operator.harness import NS, Cluster
from tests.support.logs import LogRecorder

G, V = keys.GROUP, keys.VERSION
SHARD = {keys.SHARD_LABEL: "0"}


@pytest.fixture()
def operator_options() -> OperatorOptions:
    return OperatorOptions(
        shard="0", health_check_tick_seconds=0.5, drift_check_tick_seconds=0.5, max_retry_delay_seconds=2.0
    )


def _labelled(obj: dict[str, Any]) -> dict[str, Any]:
    obj["metadata"]["labels"] = dict(SHARD)
    return obj


def _watching_by_name(emulator: EmulatorThread, secret: str) -> bool:
    selector = f"metadata.name={secret}"
    return any(
        r.is_watch and r.path.endswith("/secrets") and r.params.get("fieldSelector") == selector
        for r in emulator.requests()
    )


def test_a_sync_created_in_a_shard_is_not_marked_by_its_secrets_first_list(
    cluster: Cluster, emulator: EmulatorThread, operator: Any, logs: LogRecorder
) -> None:
    crs = cluster.crs
    cluster.connection(labels=SHARD)
    cluster.tls_secret("web")  # not labelled for the shard: watched by name
    spec = {
        "connectionRefs": [{"name": "adc"}],
        "certificates": [{"secretName": "web", "bindings": [{"vserver": "vs_https"}]}],
    }
    crs.create_namespaced_custom_object(
        G, V, NS, keys.SYNC_PLURAL, _labelled(build.certificate_sync("web", spec))
    )
    cluster.wait_ready("web")
    wait_for(lambda: _watching_by_name(emulator, "web"), what="the shard watching Secret web by name")

    # Every event of the sync before this request has been handled once it is.
    cluster.request_sync("web", value="after-first-list")
    marked = cluster.get_sync("web")["metadata"].get("annotations", {}).get(SECRET_CHANGED)
    assert marked is None, f"the new sync was marked for a Secret change: {marked}"
    assert not [line for line in logs.lines if "sync default/web (secret)" in line]

    # The watch by name still reports a real change.
    leaf = cluster.renew("web")
    cluster.wait_sync(
        "web",
        lambda o: (o["metadata"].get("annotations") or {}).get(SECRET_CHANGED, "").startswith("web@"),
        "web marked for its renewal",
    )
    wait_for(
        lambda: (cluster.certkey("default-web") or {}).get("serial") == leaf.serial_hex,
        what="the renewed serial on the appliance",
    )
