"""Where a renewal right after a relist of every watch waits, at thousands of CertificateSyncs.

Not a `bench_*` module (`make bench` does not run it): a tool whose findings are written up by
hand in docs/benchmarks.md. The scale benchmark's setup (bench_scale: N syncs over 10 appliances,
one operator process), then R renewals of one sync on appliance 0, each right after every watch
ended with 410 Gone. Polled every 10 ms from this process: the `secret-changed` annotation on
the CertificateSync (the Secret watcher's relist, diff and PATCH), the first NITRO request on the
appliance naming its certkey (kopf delivered the annotation's event and the reconcile reached
the appliance), the new serial on the appliance; and the CPU over the renewal of the operator
and of this process (the emulated API, the simulators and the polling share it).

Usage: python -m bench.relist_waits [N] [R]   (default 5,000 syncs, 5 renewals)
"""

from __future__ import annotations

import statistics
import sys
import time
from collections.abc import Callable
from typing import Any

from bench import bench_scale
from bench.operator_stack import NS, VSERVER, OperatorStack, cpu_seconds, freeze_harness
from certsync_devkit.k8s_thread import wait_for
from certsync_devkit.pki import TestPKI
from netscaler_certsync.reconcile.triggers import SECRET_CHANGED
from netscaler_certsync.simulator import SimulatorConfig, SimulatorThread

POLL = 0.01


def _annotation_reader(stack: OperatorStack, name: str) -> Callable[[], str | None]:
    """Reads the sync's `secret-changed` annotation by its key in the emulator (one dict lookup
    per poll, so the polling costs the emulator's thread next to nothing)."""

    def find() -> Any:
        for key, obj in stack.emulator.k.objects.items():
            res, namespace, obj_name = key
            if res.plural == "certificatesyncs" and namespace == NS and obj_name == name and not obj.deleted:
                return key
        raise LookupError(name)

    key = stack.emulator.call(find, timeout=60)

    def read() -> str | None:
        obj = stack.emulator.k.objects._objects.get(key)  # kmock is pinned: one lookup, not a scan
        return None if obj is None else (obj.raw["metadata"].get("annotations") or {}).get(SECRET_CHANGED)

    return lambda: stack.emulator.call(read, timeout=60)


def main(syncs: int, renewals: int) -> None:
    pki = TestPKI.create("Relist")
    leaves = [pki.leaf(f"s{i}.example.com") for i in range(syncs)]
    config = SimulatorConfig(ssl_vservers=(VSERVER,), sni_vservers=(VSERVER,), log_requests=False)
    extra = [SimulatorThread(config) for _ in range(bench_scale.APPLIANCES - 1)]
    with OperatorStack(pki) as stack:
        for sim in extra:
            sim.start()
        try:
            stack.start_operator(args=bench_scale.LEASE)
            bench_scale.add_connections(stack, [stack.simulator, *extra])
            wait_for(lambda: bench_scale.ready_connections(stack) == bench_scale.APPLIANCES, 120, "Ready")
            for first in range(0, syncs, bench_scale.BATCH):
                part = range(first, min(syncs, first + bench_scale.BATCH))
                stack.create(bench_scale.secret_object(stack, i, leaves[i], 1) for i in part)
                stack.create(bench_scale.sync_object(i, 1) for i in part)
            wait_for(lambda: bench_scale.all_ready(stack, syncs), 3600, "all Ready", interval=1.0)
            name = f"s{(syncs // 2) // bench_scale.APPLIANCES * bench_scale.APPLIANCES}"
            certkey = stack.ready_syncs()[name]["status"]["certificates"][0]["certKeyName"]
            assert stack.process is not None
            annotation = _annotation_reader(stack, name)
            rows: list[tuple[float, float, float, float, float]] = []
            freeze_harness()
            for _ in range(renewals):
                time.sleep(5)  # the previous renewal's status and Events land; kopf's workers idle
                leaf = pki.leaf(f"{name}.example.com")
                before, mark = annotation(), len(stack.simulator.requests)
                cpu, here = cpu_seconds(stack.process.pid), time.process_time()
                stack.expire_watches()
                stack.patch_secret(name, leaf)
                began = time.perf_counter()
                wait_for(lambda b=before: annotation() != b, 120, "annotation", interval=POLL)
                marked = time.perf_counter() - began
                wait_for(
                    lambda: any(certkey in r.targets for r in stack.simulator.requests[mark:]),  # noqa: B023
                    120,
                    "a request naming the certkey",
                    interval=POLL,
                )
                reached = time.perf_counter() - began
                want = leaf.serial_hex
                wait_for(lambda w=want: stack.appliance_serial(certkey) == w, 120, "serial", interval=POLL)
                took = time.perf_counter() - began
                rows.append(
                    (marked, reached, took, cpu_seconds(stack.process.pid) - cpu, time.process_time() - here)
                )
            for label, index in (
                ("annotation set", 0),
                ("first NITRO request", 1),
                ("serial on the appliance", 2),
            ):
                values = [r[index] for r in rows]
                print(f"{label}: median {statistics.median(values):.2f} s, max {max(values):.2f} s")
            for label, index in (
                ("operator CPU", 3),
                ("this process's CPU (emulator, simulators, polling)", 4),
            ):
                cpus = [r[index] for r in rows]
                print(f"{label} per renewal: median {statistics.median(cpus):.2f} s, max {max(cpus):.2f} s")
        finally:
            for sim in extra:
                sim.stop()


if __name__ == "__main__":
    main(int(sys.argv[1]) if len(sys.argv) > 1 else 5000, int(sys.argv[2]) if len(sys.argv) > 2 else 5)
