"""Ownership survives the operator being killed between a write and its status: a binding it made
is still its own after a restart, so a spec change removes it and a deletion takes everything.

The operator runs as its own process (`netscaler-certsync run`) and is killed with SIGKILL while
the configuration save after its bind hangs on the appliance, so it never writes status.
"""

from __future__ import annotations

import signal
import subprocess
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from certsync_devkit.k8s_thread import wait_for
from netscaler_certsync.k8s import keys
from tests.operator.harness import Cluster, admin, start_operator_process

BOTH = {"spec": {"bindings": [{"vserver": "vs_https"}, {"vserver": "vs_two"}]}}
ONE = {"spec": {"bindings": [{"vserver": "vs_https"}]}}


@contextmanager
def operator_process(cluster: Cluster, tmp_path: Path, name: str) -> Iterator[subprocess.Popen[bytes]]:
    """An operator process, stopped (SIGTERM) at the end unless the test killed it."""
    with (tmp_path / f"{name}.log").open("w") as log:
        # One process at a time, each started after the last one died: no Lease, so the next one
        # does not wait out a killed leader's 15 s lease (hand-overs are the ha tier's subject).
        proc = start_operator_process(cluster, tmp_path, log, "--no-leader-elect")
        try:
            yield proc
        finally:
            if proc.poll() is None:
                proc.send_signal(signal.SIGTERM)
                proc.wait(timeout=30)


def _crash_after_bind(cluster: Cluster, proc: subprocess.Popen[bytes]) -> None:
    """Add vs_two to the spec and kill the operator once it has bound it, before its status."""
    admin(cluster.simulator, "POST", "faults", {"kind": "latency", "resource": "nsconfig", "delay": 5})
    cluster.patch_sync("www", BOTH)
    wait_for(lambda: cluster.bound("vs_two"), timeout=30, what="the bind to vs_two")
    proc.send_signal(signal.SIGKILL)
    proc.wait(timeout=10)
    admin(cluster.simulator, "DELETE", "faults")


def _records(cluster: Cluster) -> dict[str, Any]:
    return cluster.get_sync("www")["status"]["connections"][0]["records"]


def test_a_binding_made_before_a_kill_is_removed_after_the_restart(cluster: Cluster, tmp_path: Path) -> None:
    cluster.connection()
    cluster.tls_secret("www")
    cluster.sync("www", certificates=[{"secretName": "www"}], bindings=[{"vserver": "vs_https"}])
    with operator_process(cluster, tmp_path, "first") as first:
        cluster.wait_ready("www", timeout=60)
        certkey = cluster.bound("vs_https")[0][0]
        _crash_after_bind(cluster, first)
    # All a new process knows is the status: the intent, stored before the bind.
    recorded = _records(cluster)
    assert recorded.get("pending") is True
    assert {"vserver": "vs_two", "sni": False} in recorded["certificates"][0]["bindings"]

    cluster.patch_sync("www", ONE)
    with operator_process(cluster, tmp_path, "second") as second:
        wait_for(lambda: not cluster.bound("vs_two"), timeout=60, what="vs_two unbound after the restart")
        cluster.wait_ready("www", timeout=60)
        assert cluster.bound("vs_https") == [(certkey, False)]
        assert "pending" not in _records(cluster)
        _crash_after_bind(cluster, second)

    cluster.crs.delete_namespaced_custom_object(keys.GROUP, keys.VERSION, "default", keys.SYNC_PLURAL, "www")
    with operator_process(cluster, tmp_path, "third"):
        wait_for(lambda: cluster.get(keys.SYNC_PLURAL, "www") is None, timeout=30, what="the sync deleted")
    appliance = cluster.appliance()
    assert certkey not in appliance["certkeys"]
    assert [b for b in appliance["bindings"] if b["certkey"] == certkey] == []
    assert [f for f in appliance["files"] if f.rsplit("/", 1)[-1].startswith("cs-")] == []
    assert cluster.invariants() == []
