"""`netscaler-certsync plan --from-cluster`: the live cluster's CertificateSyncs planned against
the appliance, read-only (a subprocess with a kubeconfig, as a user runs it; no operator)."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

from certsync_devkit.k8s_thread import EmulatorThread
from tests.operator.harness import Cluster


def test_plans_the_clusters_syncs_and_writes_nothing(
    cluster: Cluster, emulator: EmulatorThread, tmp_path: Path
) -> None:
    cluster.connection()
    cluster.tls_secret("www")
    cluster.sync("www", certificates=[{"secretName": "www"}], bindings=[{"vserver": "vs_https"}])
    kubeconfig = emulator.write_kubeconfig(tmp_path / "kubeconfig")
    cluster.simulator.clear_requests()
    done = subprocess.run(
        [sys.executable, "-m", "netscaler_certsync", "plan", "--from-cluster", "-n", "default"],
        capture_output=True, text=True, timeout=60, check=False,
        env={**os.environ, "KUBECONFIG": str(kubeconfig)},
    )  # fmt: skip
    assert done.returncode == 2, done.stdout + done.stderr
    lines = done.stdout.splitlines()
    assert lines[0].startswith("CertificateSync default/www -> adc (")
    assert any("add certkey default-www" in line for line in lines), lines
    assert lines[-1].startswith("Plan: 2 to add, 0 to update, 0 to remove."), lines  # leaf and its CA
    written = [
        r for r in cluster.simulator.requests if r.method != "GET" and r.resource not in ("login", "logout")
    ]
    assert written == []
    assert "default-www" not in cluster.appliance()["certkeys"]
