"""`netscaler-certsync run` as a real process: kubeconfig login, liveness, metrics, JSON logs, a sync."""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
from pathlib import Path

import httpx

from netscaler_certsync.testing.k8s_thread import wait_for
from tests.operator.harness import Cluster


def _port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def test_run_serves_liveness_and_metrics_and_syncs(cluster: Cluster, tmp_path: Path) -> None:
    kubeconfig = cluster.emulator.write_kubeconfig(tmp_path / "kubeconfig")
    live, metrics = _port(), _port()
    log = (tmp_path / "operator.log").open("w")
    proc = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "netscaler_certsync",
            "run",
            "--liveness",
            f"http://127.0.0.1:{live}/healthz",
            "--metrics-port",
            str(metrics),
            "--log-format",
            "json",
        ],
        env={**os.environ, "KUBECONFIG": str(kubeconfig)},
        stdout=log,
        stderr=subprocess.STDOUT,
    )
    try:

        def probe(url: str) -> httpx.Response | None:
            try:
                reply = httpx.get(url, timeout=2)
            except httpx.TransportError:
                return None
            return reply if reply.status_code == 200 else None

        healthz = wait_for(lambda: probe(f"http://127.0.0.1:{live}/healthz"), timeout=30, what="liveness")
        assert "secretWatchers" in healthz.json()
        cluster.connection()
        cluster.tls_secret("www")
        cluster.sync("www", certificates=[{"secretName": "www"}])
        cluster.wait_ready("www", timeout=30)
        scraped = probe(f"http://127.0.0.1:{metrics}/metrics")
        assert (
            scraped is not None
            and 'certsync_resource_ready{kind="CertificateSync",name="www",namespace="default"} 1.0'
            in scraped.text
        )
    finally:
        proc.send_signal(signal.SIGTERM)
        assert proc.wait(timeout=30) == 0
        log.close()
    lines = [line for line in (tmp_path / "operator.log").read_text().splitlines() if line.startswith("{")]
    assert lines, "JSON logs were asked for"
    assert all("message" in json.loads(line) for line in lines)
