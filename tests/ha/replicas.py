"""Operator replicas as real processes (`netscaler-certsync run` with leader election) for the HA
tier, and what the tier reads: the Lease's holder and each replica's NITRO writes.

Every replica is started and stopped by its own handle (SIGTERM, SIGKILL, SIGSTOP/SIGCONT of that
pid only). Timings are short (lease 3 s, renew deadline 2 s, retry 0.5 s, takeover grace 0.5 s) so
the tier runs in seconds; `docs/benchmarks.md` has the same scenarios at the default 15/10/2 s.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from kubernetes import client
from kubernetes.client.rest import ApiException

from netscaler_certsync.simulator import RequestRecord, SimulatorThread
from tests.operator.harness import Cluster

LEASE = "netscaler-certsync"
FAST = {"lease-duration": 3.0, "renew-deadline": 2.0, "retry-period": 0.5, "takeover-grace": 0.5}


@dataclass
class Replica:
    name: str
    process: subprocess.Popen[bytes]
    log: Path
    timings: dict[str, float] = field(default_factory=dict)

    @property
    def agent(self) -> str:
        """The User-Agent its NITRO requests carry."""
        return f"netscaler-certsync ({self.name})"

    def alive(self) -> bool:
        return self.process.poll() is None

    def send(self, sig: signal.Signals) -> None:
        self.process.send_signal(sig)

    def stop(self) -> int:
        if self.alive():
            self.process.send_signal(signal.SIGCONT)  # a stopped process cannot handle SIGTERM
            self.process.terminate()
            try:
                return self.process.wait(30)
            except subprocess.TimeoutExpired:
                self.process.kill()
        return self.process.wait(10)

    def text(self) -> str:
        return self.log.read_text(errors="replace") if self.log.exists() else ""

    def writes(self, sim: SimulatorThread, since: float = 0.0) -> list[RequestRecord]:
        """Its NITRO writes that reached the appliance, arriving at or after monotonic `since`."""
        return [r for r in sim.requests if r.client == self.agent and r.is_write and r.started >= since]


def start_replica(
    cluster: Cluster, tmp_path: Path, name: str, *extra: str, timings: dict[str, float] | None = None
) -> Replica:
    timings = {**FAST, **(timings or {})}
    kubeconfig = cluster.emulator.write_kubeconfig(tmp_path / "kubeconfig")
    log = tmp_path / f"{name}.log"
    args: list[str] = [
        "run",
        "--liveness",
        "",
        "--metrics-port",
        "0",
        "--health-check-tick",
        "1",
        "--drift-check-tick",
        "1",
        "--leader-election-identity",
        name,
        "--leader-election-namespace",
        "default",
        *(f"--leader-election-{k}={v}" for k, v in timings.items()),
        *extra,
    ]
    with log.open("wb") as out:
        process = subprocess.Popen(
            [sys.executable, "-m", "netscaler_certsync", *args],
            env={**os.environ, "KUBECONFIG": str(kubeconfig), "POD_NAME": name},
            stdout=out,
            stderr=subprocess.STDOUT,
        )
    return Replica(name, process, log, timings)


def lease(cluster: Cluster) -> dict[str, Any] | None:
    try:
        obj = client.CoordinationV1Api(cluster.api).read_namespaced_lease(LEASE, "default")
    except ApiException as exc:
        if exc.status == 404:
            return None
        raise
    return cluster.api.sanitize_for_serialization(obj)  # type: ignore[no-any-return]


def holder(cluster: Cluster) -> str | None:
    found = lease(cluster)
    return ((found or {}).get("spec") or {}).get("holderIdentity") or None


def stop_all(replicas: Sequence[Replica]) -> Iterator[int]:
    for replica in replicas:
        yield replica.stop()
