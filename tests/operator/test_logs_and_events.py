"""What the operator's log and Events say, as a process: who speaks, and in whose words.

A startup line with the version and the namespaces watched; no kopf internals
(`register.<locals>.…`) in the log; JSON lines about an object carry the object; Events are
reported by `netscaler-certsync`, not by kopf.
"""

from __future__ import annotations

import json
import signal
from pathlib import Path

from certsync_devkit.k8s_thread import wait_for
from netscaler_certsync import __version__
from tests.operator.harness import Cluster
from tests.operator.harness import start_operator_process as _start


def test_startup_line_internals_and_event_source(cluster: Cluster, tmp_path: Path) -> None:
    path = tmp_path / "operator.log"
    with path.open("w") as log:
        proc = _start(cluster, tmp_path, log, "--liveness", "", "--metrics-port", "0", "--log-format", "json")
        try:
            cluster.connection()
            cluster.sync("www", certificates=[{"secretName": "missing"}])  # a failure: a Warning Event
            event = wait_for(
                lambda: next((e for e in cluster.events("www") if e.type == "Warning"), None),
                timeout=30,
                what="a Warning Event about the sync",
            )
        finally:
            proc.send_signal(signal.SIGTERM)
            assert proc.wait(timeout=30) == 0
    assert event.source.component == "netscaler-certsync"
    assert event.reporting_component == "netscaler-certsync"
    records = [json.loads(line) for line in path.read_text().splitlines() if line.startswith("{")]
    messages = [r["message"] for r in records]
    assert any(
        f"netscaler-certsync {__version__} starting" in m and "all (cluster-wide)" in m for m in messages
    )
    assert not [m for m in messages if "<locals>" in m]
    about_sync = [
        r for r in records if "default/www" in r["message"] or r.get("object", {}).get("name") == "www"
    ]
    assert about_sync, "no log line about the sync"
    for record in about_sync:
        assert record.get("logger"), record
