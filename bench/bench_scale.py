"""What one operator process carries: thousands of CertificateSyncs over 10 simulated appliances.

Per size (5,000 and 10,000 by default; `BENCH_SCALE_SIZES=5000` for fewer) and per number of
operator processes (1, and 3 shards: `BENCH_SCALE_PROCESSES=1,3`): fresh operator processes
(`netscaler-certsync run`, see `operator_stack`; with K > 1 one per shard, `--shard i`, the
appliances split into K groups by `appliance % K` and every object labelled with its group's
shard, TLS Secrets included as docs/install.md advises; `BENCH_SCALE_SECRETS=unlabelled` leaves
the Secrets unlabelled, so each shard follows its syncs' Secrets by name or, past a few per
namespace, with one filtered watch of the namespace, decision 218), 10 NITRO simulators and
the emulated Kubernetes API in this process.
Every CertificateSync has its own TLS Secret, one certificate
and one SNI binding, on appliance `i % 10`. Measured: time until all are Ready, the operator's
resident memory once its CPU settled, renewal latency (sequential Secret PATCHes, as in
`operator_renewals`) and renewal latency right after a relist of every watch (410 Gone).

Usage: python -m bench scale   (or: python -m bench.bench_scale, to print without writing)
"""

from __future__ import annotations

import os
import time
from typing import Any

from bench.operator_renewals import HEADERS, renew_many
from bench.operator_stack import NS, VSERVER, OperatorStack, cpu_seconds, memory_mb, settle
from bench.report import table
from certsync_devkit import k8s_builders as build
from certsync_devkit.k8s_thread import wait_for
from certsync_devkit.pki import TestPKI
from netscaler_certsync.k8s import keys
from netscaler_certsync.simulator import SimulatorConfig, SimulatorThread

APPLIANCES = 10
TARGET_MB, MIB = 600.0, 1.048576  # one process at 10,000 syncs: < 600 MB resident
TARGET_P99 = 1.0  # renewal p99 at every size (the relist's p50 target is 0.5 s)
BATCH = 500  # objects stored per call into the emulator: creation keeps pace with the operator
# Longer Lease timings than the defaults (15/10/2 s): the emulated API server in this process
# answers one request at a time, and a relist of every watch at 10,000 syncs (LISTs of 10,000
# CertificateSyncs and Secrets) kept the operator's Lease GET waiting past its renew deadline, so
# it exited as designed. A real API server answers a GET beside a LIST; the failover tier
# (tests/ha) measures the default timings.
LEASE = (
    "--leader-election-lease-duration=60",
    "--leader-election-renew-deadline=45",
    "--leader-election-retry-period=5",
)


def _sizes(quick: bool) -> list[int]:
    if quick:
        return [200]
    return [int(s) for s in os.environ.get("BENCH_SCALE_SIZES", "5000,10000").split(",") if s]


def _processes(quick: bool) -> list[int]:
    return [int(s) for s in os.environ.get("BENCH_SCALE_PROCESSES", "1" if quick else "1,3").split(",") if s]


def _secrets_labelled() -> bool:
    return os.environ.get("BENCH_SCALE_SECRETS", "labelled") != "unlabelled"


def _labelled(obj: dict[str, Any], appliance: int, shards: int) -> dict[str, Any]:
    """`obj` in the shard of its appliance's group (nothing when one process serves all)."""
    if shards > 1:
        obj["metadata"].setdefault("labels", {})[keys.SHARD_LABEL] = str(appliance % shards)
    return obj


def sync_object(i: int, shards: int = 1) -> dict[str, Any]:
    spec = {
        "connectionRefs": [{"name": f"adc{i % APPLIANCES}"}],
        "certificates": [{"secretName": f"s{i}"}],
        "bindings": [{"vserver": VSERVER, "sni": True}],
    }
    return _labelled(build.certificate_sync(f"s{i}", spec, namespace=NS), i % APPLIANCES, shards)


def secret_object(stack: OperatorStack, i: int, leaf: Any, shards: int) -> dict[str, Any]:
    """Sync i's TLS Secret, labelled with its sync's shard unless BENCH_SCALE_SECRETS=unlabelled."""
    secret = stack.tls_secret(f"s{i}", leaf)
    return _labelled(secret, i % APPLIANCES, shards) if _secrets_labelled() else secret


def add_connections(stack: OperatorStack, sims: list[Any], shards: int = 1) -> None:
    objects: list[dict[str, Any]] = []
    for n, sim in enumerate(sims):
        name = f"adc{n}"
        objects += [
            build.credentials_secret(f"{name}-login", "nsroot", "nsroot", namespace=NS),
            build.opaque_secret(f"{name}-ca", {"ca.crt": sim.ca_pem}, namespace=NS),
            _labelled(
                build.netscaler_connection(
                    name,
                    {
                        "endpoint": sim.url,
                        "credentialsSecretRef": {"name": f"{name}-login"},
                        "tls": {"caSecretRef": {"name": f"{name}-ca"}},
                    },
                    namespace=NS,
                ),
                n,
                shards,
            ),
        ]
    stack.create(objects)


def ready_connections(stack: OperatorStack) -> int:
    def ready(obj: dict[str, Any]) -> bool:
        conditions = (obj.get("status") or {}).get("conditions") or ()
        return any(c.get("type") == "Ready" and c.get("status") == "True" for c in conditions)

    return sum(1 for o in stack.objects("netscalerconnections") if ready(o))


def all_ready(stack: OperatorStack, syncs: int) -> bool:
    """Every sync Ready; an operator process that exited fails the run at once, not in an hour."""
    for process in (stack.process, *stack.others):
        if process is not None and process.poll() is not None:
            raise RuntimeError(f"an operator exited with {process.returncode}:\n{stack.log_tail()}")
    return len(stack.ready_syncs()) >= syncs


def one_size(pki: TestPKI, syncs: int, renewals: int, relists: int, processes: int = 1) -> dict[str, Any]:
    leaves = [pki.leaf(f"s{i}.example.com") for i in range(syncs)]  # before the clock starts
    extra = [
        SimulatorThread(SimulatorConfig(ssl_vservers=(VSERVER,), sni_vservers=(VSERVER,), log_requests=False))
        for _ in range(APPLIANCES - 1)
    ]
    with OperatorStack(pki) as stack:
        for sim in extra:
            sim.start()
        try:
            if processes > 1:
                stack.start_shards(processes, LEASE)
            else:
                stack.start_operator(args=LEASE)
            add_connections(stack, [stack.simulator, *extra], processes)
            wait_for(lambda: ready_connections(stack) == APPLIANCES, 120, "connections Ready", interval=0.2)
            pids = stack.pids()
            for pid in pids:
                settle(pid)
            idle = [memory_mb(pid)[0] for pid in pids]

            def cpu() -> float:
                return sum(cpu_seconds(pid) for pid in pids)

            cpu0 = cpu()
            began = time.perf_counter()
            for first in range(0, syncs, BATCH):
                part = range(first, min(syncs, first + BATCH))
                stack.create(secret_object(stack, i, leaves[i], processes) for i in part)
                stack.create(sync_object(i, processes) for i in part)
            wait_for(lambda: all_ready(stack, syncs), 3600, "all Ready", interval=1.0)
            ready_s = time.perf_counter() - began
            ready_cpu = cpu() - cpu0
            busy = max(settle(pid) for pid in pids)
            memory = [memory_mb(pid) for pid in pids]
            middle = f"s{(syncs // 2) // APPLIANCES * APPLIANCES}"  # on appliance 0: stack.simulator
            quiet = renew_many(stack, middle, renewals, syncs, "right after Ready")
            relist = renew_many(
                stack, middle, relists, syncs, "right after a relist (410)", stack.expire_watches
            )
            end = [memory_mb(pid) for pid in pids]
            label = f"{syncs:,}" if processes == 1 else f"{syncs:,}, {processes} shards"
            if processes > 1 and not _secrets_labelled():
                label += " (unlabelled Secrets)"
            rows = [quiet.row(), relist.row()]
            for row in rows:
                row[0] = f"{label} {str(row[0]).split(' ', 1)[1]}"
            return {
                "syncs": syncs,
                "processes": processes,
                "label": label,
                "idle": max(idle),
                "ready_s": ready_s,
                "ready_cpu": ready_cpu,
                "rss": max(m[0] for m in memory),
                "rss_sum": sum(m[0] for m in memory),
                "hwm": max(max(m[1] for m in memory), max(m[1] for m in end)),
                "rss_end": max(m[0] for m in end),
                "busy": busy,
                "rows": rows,
                "nitro": sum(len(s.requests) for s in [stack.simulator, *extra]),
            }
        finally:
            for sim in extra:
                sim.stop()


def run(quick: bool) -> tuple[str, str, str]:
    pki = TestPKI.create("Bench")
    renewals, relists = (5, 3) if quick else (30, 20)
    load_before = os.getloadavg()[1]
    results = [one_size(pki, n, renewals, relists, k) for n in _sizes(quick) for k in _processes(quick)]
    load_after = os.getloadavg()[1]
    size_rows = [
        [
            r["label"],
            f"{r['ready_s']:.1f}",
            f"{r['syncs'] / r['ready_s']:.0f}",
            f"{r['ready_cpu']:.0f}",
            f"{r['idle']:.1f}",
            f"{r['rss']:.1f}" + (f" (sum {r['rss_sum']:.0f})" if r["processes"] > 1 else ""),
            f"{r['hwm']:.1f}",
            "met" if r["rss"] * MIB < TARGET_MB else "MISSED",
        ]
        for r in results
    ]
    body = [
        "One operator process (rows `K shards`: K processes, `--shard i`, appliance n in shard n % K),",
        f"{APPLIANCES} simulated appliances (one SNI vserver each), the emulated Kubernetes API and the",
        "simulators in the benchmark's process, all on the same 2 shared cores. Each CertificateSync:",
        f"its own TLS Secret, one certificate, one SNI binding, on appliance `i % {APPLIANCES}`; created",
        f"in batches of {BATCH} after the operators were Ready. With shards, memory is the largest",
        "process's (and the sum), CPU the sum, and the renewals' CPU that of shard 0 (appliance 0).",
        "With shards the TLS Secrets carry their sync's shard label"
        + (" (rows marked unlabelled: they do not)." if not _secrets_labelled() else "."),
        f"Machine load (5-min average): {load_before:.1f} at the start, {load_after:.1f} at the end.",
        "",
        table(
            [
                "CertificateSyncs",
                "all Ready s",
                "syncs/s",
                "operator CPU s (all processes)",
                "idle VmRSS MiB",
                "VmRSS MiB (all Ready; largest process)",
                "VmHWM MiB (largest)",
                f"< {TARGET_MB:.0f} MB",
            ],
            size_rows,
        ),
        "",
        f"Renewals (target p99 < {TARGET_P99:.0f} s at every size; right after a relist p50 < 0.5 s):",
        "",
        table(HEADERS, [row for r in results for row in r["rows"]]),
        "",
        "`target` in the renewal table is `operator_renewals`' (p50 < 1 s, p99 < 3 s); the issue's",
        "stricter targets are read off the p50 and p99 columns.",
    ]
    headline = "; ".join(
        f"{r['label']} syncs Ready in {r['ready_s']:.0f} s, {r['rss']:.0f} MiB" for r in results
    )
    return f"Scale: thousands of CertificateSyncs over {APPLIANCES} appliances", "\n".join(body), headline


if __name__ == "__main__":
    print(run(quick=bool(os.environ.get("BENCH_QUICK")))[1])
