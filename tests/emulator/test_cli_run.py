"""`netscaler-certsync run` as a process: what a user gets wrong gives one line and exit 1.

A missing kubeconfig, a metrics port in use and a liveness port in use each end the command at
once with a line that names the file or the flag (no traceback); `run --help` shows defaults.
"""

from __future__ import annotations

import os
import socket
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

RUN = [sys.executable, "-m", "netscaler_certsync", "run"]


@pytest.fixture()
def taken_port() -> Iterator[int]:
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        yield taken.getsockname()[1]


def run(kubeconfig: str | Path, *args: str) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "KUBECONFIG": str(kubeconfig)}
    env.pop("KUBERNETES_SERVICE_HOST", None)
    return subprocess.run([*RUN, *args], capture_output=True, text=True, timeout=60, check=False, env=env)


def _one_line(done: subprocess.CompletedProcess[str]) -> str:
    assert done.returncode == 1, done.stderr
    assert "Traceback" not in done.stderr
    lines = [line for line in done.stderr.splitlines() if line.startswith("netscaler-certsync run: ")]
    assert len(lines) == 1, done.stderr
    return lines[0]


def test_a_missing_kubeconfig(tmp_path: Path) -> None:
    missing = tmp_path / "no-such-kubeconfig"
    line = _one_line(run(missing, "--metrics-port", "0", "--liveness", ""))
    assert str(missing) in line and "no such file" in line and "KUBECONFIG" in line


def test_a_metrics_port_in_use(kubeconfig: str, taken_port: int) -> None:
    line = _one_line(run(kubeconfig, "--metrics-port", str(taken_port), "--liveness", ""))
    assert f"port {taken_port} (--metrics-port)" in line


def test_a_liveness_port_in_use(kubeconfig: str, taken_port: int) -> None:
    liveness = f"http://127.0.0.1:{taken_port}/healthz"
    line = _one_line(run(kubeconfig, "--metrics-port", "0", "--liveness", liveness))
    assert f"{liveness} (--liveness)" in line


def test_help_shows_the_defaults() -> None:
    done = subprocess.run([*RUN, "--help"], capture_output=True, text=True, timeout=30, check=True)
    text = " ".join(done.stdout.split())
    for default in (
        "(default: 9090)",
        "(default: http://0.0.0.0:8080/healthz)",
        "(default: 10.0)",
        "(default: 2)",
    ):
        assert default in text
