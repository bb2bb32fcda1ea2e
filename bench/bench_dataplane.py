"""Zero downtime, measured: handshakes against a served vserver while the operator renews its certificate.

The scenario is the dataplane test tier's (`tests/dataplane/scenario.py`): the real operator in a
thread, the emulated Kubernetes API, the simulator serving `vs_https` over TLS, and one client
thread handshaking without pause (OpenSSL verifies the chain against the roots; the served leaf and
chain must be exactly one generation's). Renewals cycle through the same issuer, a longer chain,
an issuer rotation and a root rotation; each waits until the status shows it deployed and
verified by handshake. Latency is per handshake (TCP connect + TLS), first idle, then during the
renewals; it is the simulator's (Python, loopback), not an appliance's.
"""

from __future__ import annotations

import statistics
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from kubernetes import config
from tests.dataplane.scenario import SERVED, HandshakeLoop, Issuers, RunResult, renew_under_load
from tests.operator.harness import Cluster

from bench.report import table
from certsync_devkit.k8s_thread import EmulatorThread
from certsync_devkit.operator_thread import OperatorThread
from certsync_devkit.pki import TestPKI
from netscaler_certsync.k8s import ClusterAccess
from netscaler_certsync.reconcile.context import OperatorOptions
from netscaler_certsync.simulator import SimulatorThread


@contextmanager
def stack() -> Iterator[Cluster]:
    emulator, simulator = EmulatorThread().start(), SimulatorThread(SERVED).start()
    options = OperatorOptions(health_check_tick_seconds=0.5, drift_check_tick_seconds=0.5)
    access = ClusterAccess(server=emulator.url, token="operator-token")  # noqa: S106 (the emulator's)
    op = OperatorThread(access, options).start()
    with tempfile.TemporaryDirectory() as tmp:
        api = config.new_client_from_config(config_file=emulator.write_kubeconfig(Path(tmp) / "kubeconfig"))
        try:
            yield Cluster(api, emulator, simulator, TestPKI.create("Bench"))
        finally:
            api.close()
            op.stop()
            simulator.stop()
            emulator.stop()


def idle_latency(cluster: Cluster, issuers: Issuers, count: int) -> list[float]:
    """Handshake latency with nothing changing (after the last renewal), as a baseline."""
    loop = HandshakeLoop(cluster.simulator.vserver_address("vs_https"), issuers.roots_pem).start()
    while len(loop.latencies) + len(loop.failures) < count:
        time.sleep(0.05)
    loop.stop()
    return loop.latencies


def ms(values: list[float]) -> tuple[str, str, str]:
    ordered = sorted(values) or [0.0]
    p99 = ordered[min(len(ordered) - 1, int(len(ordered) * 0.99))]
    return f"{statistics.median(ordered) * 1000:.1f}", f"{p99 * 1000:.1f}", f"{ordered[-1] * 1000:.1f}"


def notes(results: dict[bool, RunResult]) -> list[str]:
    """What the numbers say, worded from the numbers."""
    lines = []
    for preserve, result in results.items():
        mode = "in place" if preserve else "with a new certkey"
        across, same = (len(result.failures_during(issuer_changed=x)) for x in (True, False))
        if across or same:
            first = result.loop.failures[0][1]
            lines.append(
                f"- Renewing {mode}: {same} failed handshakes across same-issuer renewals, {across} across "
                f"{result.issuer_changes} renewals to another issuer ({first})."
            )
        else:
            lines.append(f"- Renewing {mode}: no handshake failed.")
    mixed = sum(len(r.unexpected) for r in results.values())
    lines.append(
        f"- Handshakes that saw a mix of generations or an incomplete chain that still verified: {mixed}."
    )
    if True in results and results[True].failures_during(issuer_changed=True):
        lines.append(
            "- Failures across issuers in place: a renewal kept in place (SNI or foreign bindings) runs"
            " update then link, and between those two NITRO calls the vserver sends the leaf without"
            " its intermediate; otherwise an issuer change becomes a new certkey linked before it is bound."
        )
    return lines


def run(quick: bool) -> tuple[str, str]:
    renewals = 10 if quick else 50
    rows: list[list[object]] = []
    latency_rows: list[list[object]] = []
    results: dict[bool, RunResult] = {}
    for preserve in (True, False):
        issuers = Issuers.create()
        with stack() as cluster:
            result: RunResult = renew_under_load(cluster, renewals, preserve=preserve, issuers=issuers)
            idle = idle_latency(cluster, issuers, 300)
        results[preserve] = result
        loop, mode = (
            result.loop,
            "in place (`preserveOnRenewal: true`)" if preserve else "new certkey (`false`)",
        )
        handshakes = len(loop.seen) + len(loop.failures)
        rows.append(
            [
                mode,
                str(renewals),
                str(result.issuer_changes),
                str(handshakes),
                str(len(result.failures_during(issuer_changed=False))),
                str(len(result.failures_during(issuer_changed=True))),
                str(len(result.unexpected)),
                f"{statistics.median(result.renewal_seconds):.2f}",
            ]
        )
        latency_rows.append([mode, "idle", str(len(idle)), *ms(idle)])
        latency_rows.append([mode, "during renewals", str(len(loop.latencies)), *ms(loop.latencies)])
    body = "\n".join(
        [
            f"{renewals} renewals per mode through the real operator; one client handshaking without pause.",
            "",
            table(
                [
                    "mode",
                    "renewals",
                    "of them across issuers",
                    "handshakes",
                    "failed (same issuer)",
                    "failed (across issuers)",
                    "mixed / unexpected chain",
                    "renewal → verified, median s",
                ],
                rows,
            ),
            "",
            table(["mode", "phase", "handshakes", "median ms", "p99 ms", "max ms"], latency_rows),
            "",
            *notes(results),
        ]
    )
    return "Data plane: handshakes during renewals", body
