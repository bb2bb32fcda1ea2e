"""The whole operator: renewal latency (Secret PATCH -> new serial on the appliance) and memory.

The operator runs as its own process (`netscaler-certsync run`, as in the image: runtime
dependencies only) against the emulated Kubernetes API and the NITRO simulator, both in this
process (see `operator_stack`); renewals are timed as in `operator_renewals`. Memory is the
operator process's VmRSS (and peak VmHWM) from /proc, read once its CPU use has settled.

Scales: one CertificateSync (process A), 1,000 (process B: right after they are Ready, right
after a watch relist, during a dense drift wave), and 1,000 again with saves that take 1 s, as
on an appliance with a large configuration (process C).
"""

from __future__ import annotations

import os
import time
from dataclasses import dataclass, field

from bench.operator_renewals import (
    HEADERS,
    POLL,
    TARGET_P50,
    TARGET_P99,
    Renewals,
    queue_evidence,
    renew_many,
)
from bench.operator_stack import NS, OperatorStack, cpu_seconds, import_footprint, settle
from bench.report import table
from certsync_devkit import k8s_builders as build
from certsync_devkit.k8s_thread import wait_for
from certsync_devkit.pki import TestPKI
from netscaler_certsync.simulator.faults import FaultRule
from netscaler_certsync.timestamps import parse_rfc3339

TARGET_MB = 150.0  # the target: 150 MB = 143.05 MiB (VmRSS is read in KiB)
MIB = 1.048576  # MB per MiB
#: Drift interval of the large scale's CertificateSyncs: 120 s instead of the default 600 s, so
#: the wave comes within the benchmark, five times as dense as with the default.
DRIFT_INTERVAL = 120.0
SAVE_SECONDS = 1.0  # process C: how long each `save ns config` takes


def steady(stack: OperatorStack, seconds: float) -> tuple[float, float]:
    """Operator CPU (fraction of a core) and certkey listings per second over a quiet window."""
    assert stack.process is not None
    cpu0, mark = cpu_seconds(stack.process.pid), len(stack.simulator.requests)
    time.sleep(seconds)
    return (cpu_seconds(stack.process.pid) - cpu0) / seconds, stack.certkey_lists(mark) / seconds


@dataclass
class Memory:
    rows: list[list[object]] = field(default_factory=list)
    process: str = ""  # which operator process the next rows come from
    peak: float = 0.0  # the highest VmHWM seen (MiB)

    def measure(self, stack: OperatorStack, label: str, note: str = "") -> float:
        assert stack.process is not None
        busy = settle(stack.process.pid)
        rss, hwm = stack.memory()
        self.peak = max(self.peak, hwm)
        if busy >= 0.05:
            note = "; ".join(filter(None, [note, f"CPU never idle: {busy:.0%} of a core"]))
        self.rows.append([self.process, label, f"{rss:.1f}", f"{hwm:.1f}", note])
        return rss


def start(stack: OperatorStack) -> None:
    stack.start_operator()
    stack.connection()
    wait_for(stack.connection_ready, 60, "the NetScalerConnection to be Ready", interval=0.1)


def add_syncs(stack: OperatorStack, first: int, count: int, drift_interval: float | None = None) -> None:
    numbers = range(first, first + count)
    stack.create(stack.tls_secret(f"s{i}", stack.pki.leaf(f"s{i}.example.com")) for i in numbers)
    stack.create(stack.sync(f"s{i}", f"s{i}", drift_interval) for i in numbers)


def unrelated_tls(stack: OperatorStack, first: int, count: int) -> None:
    """TLS Secrets no CertificateSync names (one certificate reused: only their number matters)."""
    leaf = stack.pki.leaf("unselected.example.com")
    stack.create(stack.tls_secret(f"u{i}", leaf, namespace=NS) for i in range(first, first + count))


def opaque(first: int, count: int) -> list[dict[str, object]]:
    return [build.opaque_secret(f"o{i}", {"config": b"x" * 1024}) for i in range(first, first + count)]


def small_scale(pki: TestPKI, renewals: int, unrelated: int, memory: Memory) -> Renewals:
    """One CertificateSync: idle memory, renewals, then memory as unrelated Secrets pile up."""
    memory.process = "A"
    with OperatorStack(pki) as stack:
        start(stack)
        memory.measure(stack, "idle: one NetScalerConnection, nothing to sync")
        add_syncs(stack, 0, 1)
        wait_for(lambda: stack.ready_syncs(), 60, "the CertificateSync to be Ready", interval=0.1)
        result = renew_many(stack, "s0", renewals, 1)
        memory.measure(stack, f"1 CertificateSync after {renewals} renewals")
        step = unrelated // 5
        stack.create(opaque(0, step))
        memory.measure(stack, f"+ {step:,} Opaque Secrets (1 KiB each)")
        stack.create(opaque(step, unrelated - step))
        memory.measure(stack, f"+ {unrelated:,} Opaque Secrets", "the watch never sees them")
        unrelated_tls(stack, 0, step)
        memory.measure(stack, f"+ {step:,} unselected TLS Secrets")
        unrelated_tls(stack, step, unrelated - step)
        memory.measure(stack, f"+ {unrelated:,} unselected TLS Secrets", "digest-only index entries")
        return result


@dataclass
class Window:
    """Operator CPU and full certkey listings over a window with no change from the benchmark."""

    cpu: float  # fraction of one core
    lists: float  # full certkey listings per second

    def text(self) -> str:
        return f"operator CPU {self.cpu:.0%} of a core, {self.lists:.2f} full certkey listings/s"


@dataclass
class ToReady:
    """N CertificateSyncs created at once, until all are Ready."""

    seconds: float
    cpu: float  # operator CPU seconds meanwhile
    lists: int  # full certkey listings meanwhile
    saves: int  # configuration saves meanwhile

    def text(self, syncs: int) -> str:
        return (
            f"all Ready after **{self.seconds:.1f} s** ({syncs / self.seconds:.1f} syncs/s), operator CPU"
            f" {self.cpu:.1f} s, {self.lists:,} full certkey listings and {self.saves:,} configuration"
            " saves meanwhile"
        )


def create_until_ready(stack: OperatorStack, syncs: int, drift_interval: float | None = None) -> ToReady:
    assert stack.process is not None
    cpu0, mark = cpu_seconds(stack.process.pid), len(stack.simulator.requests)
    began = time.perf_counter()
    add_syncs(stack, 0, syncs, drift_interval)
    wait_for(lambda: len(stack.ready_syncs()) >= syncs, 1800, f"{syncs} CertificateSyncs Ready", interval=0.5)
    return ToReady(
        time.perf_counter() - began,
        cpu_seconds(stack.process.pid) - cpu0,
        stack.certkey_lists(mark),
        stack.saves(mark),
    )


@dataclass
class Large:
    ready: ToReady
    quiet: Renewals
    relist: Renewals
    quiet_window: Window
    rss: float = 0.0
    wave: Renewals | None = None
    wave_window: Window | None = None


def wait_for_drift(stack: OperatorStack, timeout: float, rate: int = 20) -> None:
    """Until drift re-checks are under way: at least `rate` NITRO requests in one second with
    nothing else going on (the timers tick every 30 s, so a wave starts up to 30 s after it is due)."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        mark = len(stack.simulator.requests)
        time.sleep(1.0)
        if len(stack.simulator.requests) - mark >= rate:
            return
    raise TimeoutError("no drift wave within the timeout")


def drift_wave_start(stack: OperatorStack) -> float:
    """When (epoch seconds) the first CertificateSync falls due for its drift re-sync."""
    stamps = [parse_rfc3339(o["status"]["lastSyncTime"]) for o in stack.ready_syncs().values()]
    return min(stamps).timestamp() + DRIFT_INTERVAL


def large_scale(
    pki: TestPKI, syncs: int, renewals: int, relists: int, tls_total: int, memory: Memory, *, drift_wave: bool
) -> Large:
    """`syncs` CertificateSyncs, each with its own TLS Secret; then more TLS Secrets up to `tls_total`.

    Renewals run right after all are Ready (nothing else to do), then each right after a relist
    of every watch (410 Gone), then (with `drift_wave`) while the drift timer re-syncs them all."""
    memory.process = "B"
    with OperatorStack(pki) as stack:
        start(stack)
        ready = create_until_ready(stack, syncs, DRIFT_INTERVAL)
        memory.measure(stack, f"{syncs:,} CertificateSyncs Ready ({syncs:,} TLS Secrets)")
        middle = f"s{syncs // 2}"
        wave_at = drift_wave_start(stack)
        quiet = renew_many(stack, middle, renewals, syncs, "right after Ready")
        relist = renew_many(stack, middle, relists, syncs, "right after a relist (410)", stack.expire_watches)
        result = Large(ready, quiet, relist, Window(*steady(stack, 20)))
        unrelated_tls(stack, 0, tls_total - syncs)
        result.rss = memory.measure(
            stack,
            f"{syncs:,} CertificateSyncs + {tls_total:,} TLS Secrets",
            f"target < {TARGET_MB:.0f} MB ({TARGET_MB / MIB:.1f} MiB)",
        )
        if drift_wave:
            time.sleep(max(0.0, wave_at - time.time()))
            wait_for_drift(stack, timeout=120)
            result.wave_window = Window(*steady(stack, 10))
            result.wave = renew_many(stack, middle, renewals, syncs, "during a drift wave")
            result.rss = max(result.rss, memory.measure(stack, "after the renewals during the drift wave"))
        return result


@dataclass
class SlowSaves:
    ready: ToReady
    renewals: Renewals


def slow_saves(pki: TestPKI, syncs: int, renewals: int) -> SlowSaves:
    """Every `save ns config` takes SAVE_SECONDS: applies queued together share one save."""
    with OperatorStack(pki) as stack:
        stack.simulator.faults.add(
            FaultRule(kind="latency", resource="nsconfig", method="POST", delay=SAVE_SECONDS)
        )
        start(stack)
        ready = create_until_ready(stack, syncs)
        renewed = renew_many(stack, f"s{syncs // 2}", renewals, syncs, f"saves take {SAVE_SECONDS:.0f} s")
        return SlowSaves(ready, renewed)


def queueing(large: Large, syncs: int) -> list[str]:
    """What the renewals at the large scale waited for, in measured numbers."""
    lines = [
        "**What a renewal waits for.** Reconciles on one appliance take turns on its lock",
        "(`engine/locks.py`): renewals first, then spec changes, then drift re-checks. Each starts from",
        "the appliance state the previous one left when that grew from a full listing less than 10 s",
        "old (`engine/snapshot.py`); otherwise it lists every certkey and binding first. Per renewal",
        "below: latency / full certkey listings while it waited.",
        "",
        f"* right after Ready, {large.quiet_window.text()} (20 s, no renewals):",
        f"  {queue_evidence(large.quiet)}.",
        f"* right after a relist: {queue_evidence(large.relist)}. The relist makes kopf process",
        f"  every one of the {syncs:,} CertificateSyncs again (and the Secret watcher diff its index).",
    ]
    if large.wave is not None and large.wave_window is not None:
        lines.append(
            f"* during the drift wave, {large.wave_window.text()} (10 s, no renewals): "
            f"{queue_evidence(large.wave)}."
        )
    else:
        lines.append(
            f"* (the drift wave, {DRIFT_INTERVAL:.0f} s after the syncs, is not waited for in --quick)"
        )
    return lines


def run(quick: bool) -> tuple[str, str, str]:
    pki = TestPKI.create("Bench")
    renewals, relists, syncs, secrets = (10, 3, 50, 200) if quick else (50, 20, 1000, 5000)
    memory = Memory()
    load_before = os.getloadavg()[1]
    small = small_scale(pki, renewals, secrets, memory)
    large = large_scale(pki, syncs, renewals, relists, secrets, memory, drift_wave=not quick)
    slow = slow_saves(pki, syncs, 20 if not quick else 5)
    load_after = os.getloadavg()[1]
    footprint = import_footprint()
    rss_mb, peak_mb = large.rss * MIB, memory.peak * MIB
    mem_verdict = "met" if rss_mb < TARGET_MB else f"MISSED by {rss_mb - TARGET_MB:.0f} MB"
    mem_verdict += f": {rss_mb:.0f} MB resident; peak (VmHWM) {peak_mb:.0f} MB"
    rows = [r for r in (small, large.quiet, large.relist, large.wave, slow.renewals) if r is not None]
    body = [
        "The operator as its own process (`netscaler-certsync run`, only the runtime dependencies",
        "importable, as in the image), the emulated Kubernetes API and the NITRO simulator in the",
        "benchmark's process, all on the same 2 shared cores. Renewals are sequential: PATCH of",
        "`tls.crt`/`tls.key` of one Secret, then wait; each CertificateSync has one certificate and one",
        "SNI binding. Latency runs from the PATCH's response to the new serial in the simulator's",
        f"state, polled in-process every {POLL * 1000:.0f} ms (resolution: +{POLL * 1000:.0f} ms).",
        f"Machine load (5-min load average, other engineers' work included): {load_before:.1f} at the",
        f"start, {load_after:.1f} at the end.",
        "",
        f"### Renewal latency (targets: p50 < {TARGET_P50:.0f} s, p99 < {TARGET_P99:.0f} s)",
        "",
        table(HEADERS, [r.row() for r in rows]),
        "",
        "`NITRO req/renewal` counts every request while the renewals ran: about 9 is the renewal's own,",
        "more is other work (re-checks) that ran meanwhile.",
        "`status`: until the CertificateSync's status shows the new serial (polled every 50 ms); it",
        "includes the configuration save. A relist (410 Gone on every watch) is what an API server",
        "restart or an etcd compaction does to a watching client. The drift wave: every",
        f"CertificateSync re-checked {DRIFT_INTERVAL:.0f} s after its last sync (here; the default is",
        f"600 s), {syncs / DRIFT_INTERVAL:.1f} reconciles/s on average, bunched as they were created",
        "together.",
        "",
        *queueing(large, syncs),
        "",
        f"### {syncs:,} CertificateSyncs to Ready",
        "",
        "Created at once, each with its own new TLS Secret, after the operator had started:",
        f"{large.ready.text(syncs)}.",
        f"With every save taking {SAVE_SECONDS:.0f} s (process C): {slow.ready.text(syncs)}; applies that",
        "queued behind each other shared one save (`engine/saves.py`).",
        "",
        f"### Operator memory (target: < {TARGET_MB:.0f} MB at the large scale: {mem_verdict})",
        "",
        table(["process", "cluster contents", "VmRSS MiB", "VmHWM MiB", "note"], memory.rows),
        "",
        "Rows of one process are in the order measured, each once its CPU use settled; VmHWM is the",
        f"peak so far. Process A renewed the one sync above; B is the {syncs:,}-sync run.",
        "Where the idle memory goes, VmRSS of a fresh interpreter after each import step:",
        "",
        table(
            ["step", "MiB"],
            [[step, f"{mib:.1f}"] for step, mib in footprint],
        ),
    ]
    worst = max((r for r in rows), key=lambda r: max(r.appliance, default=0.0))
    headline = (
        f"1 sync {small.headline()}; {syncs:,} syncs {large.quiet.headline()}, worst set"
        f" ({worst.when or '1 sync'}) {worst.headline()}; {syncs:,} Ready in {large.ready.seconds:.0f} s;"
        f" {large.rss:.0f} MiB"
    )
    return "Operator: renewal latency and memory", "\n".join(body), headline
