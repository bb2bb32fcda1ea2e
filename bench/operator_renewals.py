"""Timing renewals through the whole operator: Secret PATCH -> new serial on the appliance.

Latency runs from the moment the PATCH of the Secret returns to the moment the simulator's state
holds the new serial, polled in-process every `POLL` seconds (so each one is up to that late),
then on to the CertificateSync's status showing it (polled over HTTP, as `kubectl get` would).
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable
from dataclasses import dataclass, field

from bench.operator_stack import OperatorStack, cpu_seconds, freeze_harness
from certsync_devkit.k8s_thread import wait_for

POLL = 0.01  # seconds between reads of the appliance state while a renewal is in flight
TIMEOUT = 120.0  # a renewal slower than this counts as failed
TARGET_P50, TARGET_P99 = 1.0, 3.0


def percentile(values: list[float], p: float) -> float:
    """Nearest-rank percentile (with 50 samples, p99 is the largest)."""
    ordered = sorted(values)
    return ordered[max(0, math.ceil(p / 100 * len(ordered)) - 1)]


@dataclass
class Renewals:
    syncs: int
    when: str = ""  # what else was going on
    appliance: list[float] = field(default_factory=list)  # PATCH returned -> serial on the appliance
    status: list[float] = field(default_factory=list)  # PATCH returned -> serial in the CR status
    lists: list[int] = field(default_factory=list)  # full certkey listings during each wait
    failed: int = 0
    nitro_requests: int = 0
    operator_cpu: float = 0.0

    @property
    def met(self) -> bool:
        a = self.appliance
        return (
            bool(a) and not self.failed and percentile(a, 50) < TARGET_P50 and percentile(a, 99) < TARGET_P99
        )

    def row(self) -> list[object]:
        a = self.appliance
        p50, p95, p99 = (percentile(a, p) for p in (50, 95, 99)) if a else (math.nan,) * 3
        return [
            f"{self.syncs:,}{' ' + self.when if self.when else ''}",
            len(a),
            self.failed,
            f"{p50 * 1000:.0f}",
            f"{p95 * 1000:.0f}",
            f"{p99 * 1000:.0f}",
            f"{min(a) * 1000:.0f} / {max(a) * 1000:.0f}" if a else "-",
            f"{percentile(self.status, 50) * 1000:.0f} / {percentile(self.status, 99) * 1000:.0f}"
            if self.status
            else "-",
            f"{self.nitro_requests / max(1, len(a)):.1f}",
            f"{self.operator_cpu / max(1, len(a)) * 1000:.0f}",
            "met" if self.met else "MISSED",
        ]

    def headline(self) -> str:
        a = self.appliance
        if not a:
            return "-"
        return f"p50 {percentile(a, 50) * 1000:.0f} ms / p99 {percentile(a, 99) * 1000:.0f} ms"


HEADERS = [
    "CertificateSyncs",
    "renewals",
    "failed",
    "p50 ms",
    "p95 ms",
    "p99 ms",
    "min / max ms",
    "status p50 / p99 ms",
    "NITRO req/renewal",
    "operator CPU ms/renewal",
    "target",
]


def renew_many(
    stack: OperatorStack,
    sync: str,
    count: int,
    syncs: int,
    when: str = "",
    before_each: Callable[[], None] | None = None,
) -> Renewals:
    """Renew the TLS Secret named like `sync` `count` times, one after the other, timing each to
    the appliance and to the status; `before_each` runs just before each PATCH."""
    obj = stack.ready_syncs()[sync]
    certkey = obj["status"]["certificates"][0]["certKeyName"]
    result = Renewals(syncs, when)
    freeze_harness()
    assert stack.process is not None
    cpu0, requests0 = cpu_seconds(stack.process.pid), len(stack.simulator.requests)
    for _ in range(count):
        leaf = stack.pki.leaf(f"{sync}.example.com")
        if before_each is not None:
            before_each()
        stack.patch_secret(sync, leaf)
        start = time.perf_counter()
        want = leaf.serial_hex  # the lambdas below run within this iteration
        mark = len(stack.simulator.requests)
        try:
            wait_for(lambda: stack.appliance_serial(certkey) == want, TIMEOUT, "serial", interval=POLL)  # noqa: B023
            result.appliance.append(time.perf_counter() - start)
            result.lists.append(stack.certkey_lists(mark))
            wait_for(lambda: stack.status_serial(sync) == want, TIMEOUT, "status", interval=0.05)  # noqa: B023
            result.status.append(time.perf_counter() - start)
        except AssertionError:  # wait_for timed out
            result.failed += 1
        time.sleep(0.2)  # let the status patch and Event land before the next renewal
    result.operator_cpu = cpu_seconds(stack.process.pid) - cpu0
    result.nitro_requests = len(stack.simulator.requests) - requests0
    return result


def queue_evidence(r: Renewals, n: int = 5) -> str:
    """The slowest and fastest renewals with how many full certkey listings happened meanwhile."""
    pairs = sorted(zip(r.appliance, r.lists, strict=True))
    fmt = ", ".join
    fast = fmt(f"{s:.2f} s/{k}" for s, k in pairs[:n])
    slow = fmt(f"{s:.2f} s/{k}" for s, k in pairs[-n:])
    return f"fastest {fast}; slowest {slow}"
