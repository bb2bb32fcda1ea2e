"""`python -m certsync_devkit.k8s_serve`: a standalone emulator a human can point kubectl at."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
from pathlib import Path

from kubernetes import client, config

import certsync_devkit

# The devkit is not installed: the child finds it where pytest does (`pythonpath` in pyproject.toml).
DEVKIT_PATH = str(Path(certsync_devkit.__file__).resolve().parents[1])


def test_serves_until_interrupted_and_writes_a_kubeconfig(tmp_path: Path) -> None:
    kubeconfig = tmp_path / "kc"
    proc = subprocess.Popen(
        [sys.executable, "-m", "certsync_devkit.k8s_serve", "--kubeconfig", str(kubeconfig)],
        stdout=subprocess.PIPE,
        env={**os.environ, "PYTHONPATH": DEVKIT_PATH},
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
