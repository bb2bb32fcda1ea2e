"""`netscaler-certsync run` as a real process: kubeconfig login, liveness, metrics, JSON logs, a sync."""

from __future__ import annotations

import json
import re
import signal
import socket
import time
from pathlib import Path

import httpx

from certsync_devkit.k8s_thread import wait_for
from tests.operator.harness import Cluster
from tests.operator.harness import start_operator_process as _start


def _port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def test_run_serves_liveness_and_metrics_and_syncs(cluster: Cluster, tmp_path: Path) -> None:
    live, metrics = _port(), _port()
    log = (tmp_path / "operator.log").open("w")
    liveness = f"http://127.0.0.1:{live}/healthz"
    proc = _start(
        cluster, tmp_path, log, "--liveness", liveness, "--metrics-port", str(metrics), "--log-format", "json"
    )
    try:

        def probe(url: str) -> httpx.Response | None:
            try:
                reply = httpx.get(url, timeout=2)
            except httpx.TransportError:
                return None
            return reply if reply.status_code == 200 else None

        def kopf_probes() -> httpx.Response | None:
            # A standby answers too ({"standby": true}); once this process leads, kopf's probes do.
            reply = probe(f"http://127.0.0.1:{live}/healthz")
            return reply if reply is not None and "secretWatchers" in reply.json() else None

        wait_for(kopf_probes, timeout=30, what="kopf's liveness probes")
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


def test_plain_logs_say_one_line_per_sync_with_time_and_level(cluster: Cluster, tmp_path: Path) -> None:
    """At INFO: a line per sync, not per appliance operation, and none per drift-schedule look."""
    path = tmp_path / "operator.log"
    with path.open("w") as log:
        proc = _start(
            cluster, tmp_path, log, "--liveness", "", "--metrics-port", "0", "--drift-check-tick", "0.3"
        )
        try:
            cluster.connection()
            cluster.tls_secret("www")
            cluster.sync("www", certificates=[{"secretName": "www"}], bindings=[{"vserver": "vs_https"}])
            cluster.wait_ready("www", timeout=30)
            renewed = cluster.renew("www")
            wait_for(
                lambda: (cluster.certkey("default-www") or {}).get("serial") == renewed.serial_hex,
                timeout=30,
                what="the renewal on the appliance",
            )
            wait_for(lambda: "(secret)" in path.read_text(), timeout=10, what="the renewal's sync line")
            time.sleep(2)  # several looks of the re-check schedule with nothing to do
        finally:
            proc.send_signal(signal.SIGTERM)
            assert proc.wait(timeout=30) == 0
    lines = [line for line in path.read_text().splitlines() if line.strip()]
    stamped = re.compile(r"^\[\d{4}-\d\d-\d\d \d\d:\d\d:\d\d,\d{3}\] (DEBUG|INFO|WARNING|ERROR)\s+[\w.]+: ")
    assert all(stamped.match(line) for line in lines), [line for line in lines if not stamped.match(line)][:3]
    syncs = [line for line in lines if "sync default/www" in line]
    assert len(syncs) == 2 and "(spec): ok" in syncs[0] and "(secret): ok" in syncs[1], syncs
    assert not [line for line in lines if re.search(r"(Timer|Handler) '.*' succeeded", line)]
    assert not [line for line in lines if "upload file" in line or "bind certkey" in line]


def test_sigterm_exits_once_the_lease_is_released_with_no_stray_task_left(
    cluster: Cluster, tmp_path: Path
) -> None:
    """After SIGTERM kopf waits up to 5 s for tasks still running once its own have stopped; the
    leader's stop flag left kopf's waiter on it running, so every shutdown took 5 s longer."""
    path = tmp_path / "operator.log"
    with path.open("w") as log:
        proc = _start(cluster, tmp_path, log, "--liveness", "", "--metrics-port", "0", "--verbose")
        try:
            wait_for(lambda: "became the leader" in path.read_text(), timeout=30, what="leadership")
            wait_for(
                lambda: "Initial authentication has finished" in path.read_text(), timeout=30, what="kopf"
            )
        finally:
            proc.send_signal(signal.SIGTERM)
            assert proc.wait(timeout=30) == 0
    text = path.read_text()
    assert "released the Lease (stopping)" in text
    # kopf's own account (DEBUG): nothing was left to wait for, rather than "Hung tasks are stopped"
    # after its grace period.
    assert "Hung tasks stopping is skipped: no tasks given" in text, text[-2000:]
