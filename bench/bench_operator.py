"""The whole operator: renewal latency (Secret PATCH -> new serial on the appliance) and memory.

The operator runs as its own process (`netscaler-certsync run`, as in the image: runtime
dependencies only) against the emulated Kubernetes API and the NITRO simulator, both in this
process (see `operator_stack`). Latency is measured from the moment the PATCH of the Secret
returns to the moment the simulator's state holds the new serial, polled in-process every 10 ms
(so each latency is up to 10 ms late). Memory is the operator process's VmRSS (and peak VmHWM)
from /proc, read once its CPU use has settled after each change.
"""

from __future__ import annotations

import datetime as dt
import math
import os
import time
from dataclasses import dataclass, field

from bench.operator_stack import NS, OperatorStack, cpu_seconds, import_footprint, poll, settle
from bench.report import table
from netscaler_certsync.reconcile.context import OperatorOptions
from netscaler_certsync.testing import k8s_builders as build
from netscaler_certsync.testing.pki import TestPKI

POLL = 0.01  # seconds between reads of the appliance state while a renewal is in flight
TIMEOUT = 120.0  # a renewal slower than this counts as failed
TARGET_P50, TARGET_P99, TARGET_MB = 1.0, 3.0, 150.0
DRIFT_INTERVAL = OperatorOptions().default_drift_interval_seconds  # the operator's default


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
    lists: list[int] = field(default_factory=list)  # certkey listings during each wait (see below)
    failed: int = 0
    nitro_requests: int = 0
    operator_cpu: float = 0.0

    def row(self) -> list[object]:
        a = self.appliance
        p50, p95, p99 = (percentile(a, p) for p in (50, 95, 99)) if a else (math.nan,) * 3
        verdict = "met" if p50 < TARGET_P50 and p99 < TARGET_P99 and not self.failed else "MISSED"
        return [
            f"{self.syncs:,}{' ' + self.when if self.when else ''}",
            len(a),
            self.failed,
            f"{p50 * 1000:.0f}",
            f"{p95 * 1000:.0f}",
            f"{p99 * 1000:.0f}",
            f"{min(a) * 1000:.0f} / {max(a) * 1000:.0f}" if a else "-",
            f"{percentile(self.status, 50) * 1000:.0f}" if self.status else "-",
            f"{self.nitro_requests / max(1, len(a)):.1f}",
            f"{self.operator_cpu / max(1, len(a)) * 1000:.0f}",
            verdict,
        ]


def renew_many(
    stack: OperatorStack, sync: str, secret: str, count: int, syncs: int, when: str = ""
) -> Renewals:
    """Renew `secret` `count` times, one after the other, timing each to the appliance and status."""
    obj = stack.ready_syncs()[sync]
    certkey = obj["status"]["certificates"][0]["certKeyName"]
    result = Renewals(syncs, when)
    assert stack.process is not None
    cpu0, requests0 = cpu_seconds(stack.process.pid), len(stack.simulator.requests)
    for _ in range(count):
        leaf = stack.pki.leaf(f"{secret}.example.com")
        stack.patch_secret(secret, leaf)
        start = time.perf_counter()
        want = leaf.serial_hex  # the lambdas below run within this iteration
        mark = len(stack.simulator.requests)
        try:
            poll(lambda: stack.appliance_serial(certkey) == want, TIMEOUT, POLL, "serial")  # noqa: B023
            result.appliance.append(time.perf_counter() - start)
            result.lists.append(stack.certkey_lists(mark))
            poll(lambda: stack.status_serial(sync) == want, TIMEOUT, 0.05, "status")  # noqa: B023
            result.status.append(time.perf_counter() - start)
        except TimeoutError:
            result.failed += 1
        time.sleep(0.2)  # let the status patch and Event land before the next renewal
    result.operator_cpu = cpu_seconds(stack.process.pid) - cpu0
    result.nitro_requests = len(stack.simulator.requests) - requests0
    return result


def queue_evidence(r: Renewals, n: int = 5) -> str:
    """The slowest and fastest renewals with how many certkey listings happened while they waited."""
    pairs = sorted(zip(r.appliance, r.lists, strict=True))
    fmt = ", ".join
    fast = fmt(f"{s:.2f} s/{k}" for s, k in pairs[:n])
    slow = fmt(f"{s:.2f} s/{k}" for s, k in pairs[-n:])
    return f"fastest {fast}; slowest {slow}"


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

    def measure(self, stack: OperatorStack, label: str, note: str = "") -> float:
        assert stack.process is not None
        busy = settle(stack.process.pid)
        rss, hwm = stack.memory()
        if busy >= 0.05:
            note = "; ".join(filter(None, [note, f"CPU never idle: {busy:.0%} of a core"]))
        self.rows.append([self.process, label, f"{rss:.1f}", f"{hwm:.1f}", note])
        return rss


def start(stack: OperatorStack) -> None:
    stack.start_operator()
    stack.connection()
    poll(stack.connection_ready, 60, 0.1, "the NetScalerConnection to be Ready")


def add_syncs(stack: OperatorStack, first: int, count: int) -> None:
    numbers = range(first, first + count)
    stack.create(stack.tls_secret(f"s{i}", stack.pki.leaf(f"s{i}.example.com")) for i in numbers)
    stack.create(stack.sync(f"s{i}", f"s{i}") for i in numbers)


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
        poll(lambda: stack.ready_syncs(), 60, 0.1, "the CertificateSync to be Ready")
        result = renew_many(stack, "s0", "s0", renewals, 1)
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
    """Operator CPU and reconciles over a window with no change from the benchmark."""

    cpu: float  # fraction of one core
    lists: float  # certkey listings per second (one or two per reconcile)

    def text(self) -> str:
        return f"operator CPU {self.cpu:.0%} of a core, {self.lists:.2f} certkey listings/s"


@dataclass
class Large:
    quiet: Renewals
    ready_seconds: float
    ready_cpu: float
    ready_lists: int  # certkey listings while they became Ready
    rss: float
    quiet_window: Window
    wave: Renewals | None = None
    wave_window: Window | None = None


def drift_wave_start(stack: OperatorStack) -> float:
    """When (epoch seconds) the first CertificateSync falls due for its drift re-sync."""
    stamps = [
        dt.datetime.strptime(o["status"]["lastSyncTime"], "%Y-%m-%dT%H:%M:%SZ").replace(tzinfo=dt.UTC)
        for o in stack.ready_syncs().values()
    ]
    return min(stamps).timestamp() + DRIFT_INTERVAL


def large_scale(
    pki: TestPKI, syncs: int, renewals: int, tls_total: int, memory: Memory, *, drift_wave: bool
) -> Large:
    """`syncs` CertificateSyncs, each with its own TLS Secret; then more TLS Secrets up to `tls_total`.

    Renewals run twice: right after all are Ready (nothing else to do), and, with `drift_wave`,
    once the drift timer re-syncs them (DRIFT_INTERVAL after each one's last sync)."""
    memory.process = "B"
    with OperatorStack(pki) as stack:
        start(stack)
        assert stack.process is not None
        cpu0, mark = cpu_seconds(stack.process.pid), len(stack.simulator.requests)
        began = time.perf_counter()
        add_syncs(stack, 0, syncs)
        poll(lambda: len(stack.ready_syncs()) >= syncs, 1800, 1.0, f"{syncs} CertificateSyncs Ready")
        ready_seconds = time.perf_counter() - began
        ready_cpu = cpu_seconds(stack.process.pid) - cpu0
        ready_lists = stack.certkey_lists(mark)
        memory.measure(stack, f"{syncs:,} CertificateSyncs Ready ({syncs:,} TLS Secrets)")
        middle = f"s{syncs // 2}"
        wave_at = drift_wave_start(stack)
        quiet = renew_many(stack, middle, middle, renewals, syncs, "right after Ready")
        quiet_window = Window(*steady(stack, 30))
        unrelated_tls(stack, 0, tls_total - syncs)
        rss = memory.measure(
            stack,
            f"{syncs:,} CertificateSyncs + {tls_total:,} TLS Secrets",
            f"target < {TARGET_MB:.0f} MiB",
        )
        result = Large(quiet, ready_seconds, ready_cpu, ready_lists, rss, quiet_window)
        if drift_wave:
            time.sleep(max(0.0, wave_at - time.time()) + 45)  # + the drift timer's 30 s tick
            result.wave_window = Window(*steady(stack, 30))
            result.wave = renew_many(stack, middle, middle, renewals, syncs, "during drift re-syncs")
            result.rss = max(rss, memory.measure(stack, "after the renewals during drift re-syncs"))
        return result


def queueing(large: Large, syncs: int) -> list[str]:
    """What the renewals at the large scale waited for, in measured numbers."""
    lines = [
        "**What a renewal waits for.** Every reconcile of any CertificateSync on an appliance (spec",
        "change, renewal, drift re-sync) holds that appliance's one-writer lock (`engine/locks.py`,",
        "first come first served) while it lists every certkey on the appliance (profiled on",
        "2026-11-27, it also listed them again to read back). The drift timer re-syncs each",
        f"CertificateSync {DRIFT_INTERVAL:.0f} s after its last sync (default), i.e."
        f" {syncs / DRIFT_INTERVAL:.2f} reconciles/s on average for"
        f" {syncs:,} syncs, bunched into a wave when they were all synced at about the same time.",
        "Per renewal below: latency / certkey listings by anyone while it waited (the renewal's own",
        "gather is one, every other reconcile that got the lock first adds one or two).",
        "",
        f"* right after Ready, {large.quiet_window.text()} (30 s, no renewals): "
        f"{queue_evidence(large.quiet)}.",
    ]
    if large.wave is not None and large.wave_window is not None:
        lines.append(
            f"* during the drift re-syncs, {large.wave_window.text()} (30 s, no renewals): "
            f"{queue_evidence(large.wave)}."
        )
    else:
        lines.append(
            f"* (the drift wave, {DRIFT_INTERVAL:.0f} s after the syncs, is not waited for in --quick)"
        )
    return lines


def run(quick: bool) -> tuple[str, str]:
    pki = TestPKI.create("Bench")
    renewals, syncs, secrets = (10, 50, 200) if quick else (50, 1000, 5000)
    memory = Memory()
    load_before = os.getloadavg()[1]
    small = small_scale(pki, renewals, secrets, memory)
    large = large_scale(pki, syncs, renewals, secrets, memory, drift_wave=not quick)
    load_after = os.getloadavg()[1]
    footprint = zip(import_footprint(image_like=True), import_footprint(image_like=False), strict=True)
    mem_verdict = "met" if large.rss < TARGET_MB else f"MISSED by {large.rss - TARGET_MB:.0f} MiB"
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
        table(
            [
                "CertificateSyncs",
                "renewals",
                "failed",
                "p50 ms",
                "p95 ms",
                "p99 ms",
                "min / max ms",
                "status p50 ms",
                "NITRO req/renewal",
                "operator CPU ms/renewal",
                "target",
            ],
            [r.row() for r in (small, large.quiet, large.wave) if r is not None],
        ),
        "",
        "`status p50`: until the CertificateSync's status shows the new serial (polled every 50 ms).",
        "",
        *queueing(large, syncs),
        "",
        f"### {syncs:,} CertificateSyncs to Ready",
        "",
        f"Created at once (each with its own new TLS Secret) after the operator had started: all Ready"
        f" after **{large.ready_seconds:.1f} s** ({syncs / large.ready_seconds:.1f} syncs/s), operator"
        f" CPU {large.ready_cpu:.1f} s, {large.ready_lists:,} certkey listings by the operator meanwhile.",
        "",
        f"### Operator memory (target: < {TARGET_MB:.0f} MiB at the large scale: {mem_verdict})",
        "",
        table(["process", "cluster contents", "VmRSS MiB", "VmHWM MiB", "note"], memory.rows),
        "",
        "Rows of one process are in the order measured, each once its CPU use settled; VmHWM is the",
        f"peak so far. Process A renewed the one sync above; B is the {syncs:,}-sync run.",
        "Where the idle memory goes, VmRSS of a fresh interpreter after each import step:",
        "",
        table(
            ["step", "image (runtime deps) MiB", "dev venv MiB"],
            [[a[0], f"{a[1]:.1f}", f"{b[1]:.1f}"] for a, b in footprint],
        ),
        "",
        "In the dev venv kopf also imports the `kubernetes` client (a test dependency) because it is",
        "importable; the image does not have it.",
    ]
    return "Operator: renewal latency and memory", "\n".join(body)
