"""`python -m netscaler_certsync.testing.k8s_serve`: a standalone emulator a human can point kubectl at."""

from __future__ import annotations

import signal
import subprocess
import sys
from pathlib import Path

from kubernetes import client, config


def test_serves_until_interrupted_and_writes_a_kubeconfig(tmp_path: Path) -> None:
    kubeconfig = tmp_path / "kc"
    proc = subprocess.Popen(
        [sys.executable, "-m", "netscaler_certsync.testing.k8s_serve", "--kubeconfig", str(kubeconfig)],
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        assert proc.stdout is not None
        banner = proc.stdout.readline()
        assert "Kubernetes API emulator on http://127.0.0.1:" in banner
        api = config.new_client_from_config(config_file=str(kubeconfig))
        names = {n.metadata.name for n in client.CoreV1Api(api).list_namespace().items}
        api.close()
        assert "default" in names
    finally:
        proc.send_signal(signal.SIGINT)
        assert proc.wait(timeout=10) == 0
