"""Where the operator's time goes while N new CertificateSyncs become Ready (cProfile).

Not a `bench_*` module (`make bench` does not run it): a tool for finding the cost, whose
findings are written up by hand in docs/benchmarks.md. The operator runs under cProfile in its
own process (`OperatorStack.start_operator(profile=...)`), about twice as slow as without.

Usage: python -m bench.profile_operator [--syncs 1000] [--out operator.prof] [--top 40] [--relists N]
       python -m bench.profile_operator --syncs 1000 --no-profile   (wall time only)
       python -m bench.profile_operator --syncs 1000 --trace-memory DIR [--relists N]
           (no cProfile; tracemalloc in the operator: resident memory and the allocations alive
           idle, with every sync Ready, and after N relists, grouped by file and line;
           BENCH_TRACE_FRAMES=12: also by allocation traceback; BENCH_TRACE_FRAMES=0: resident
           memory only, untraced; BENCH_MALLOC_TRIM=1: malloc_trim(0) before each reading)
"""

from __future__ import annotations

import argparse
import itertools
import os
import pstats
import re
import time
from collections import Counter
from pathlib import Path

from bench.bench_operator import add_syncs, start
from bench.operator_stack import OperatorStack, cpu_seconds, memory_mb, settle
from certsync_devkit.k8s_thread import wait_for
from certsync_devkit.pki import TestPKI


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--syncs", type=int, default=1000)
    parser.add_argument("--out", type=Path, default=Path("operator.prof"))
    parser.add_argument("--top", type=int, default=40)
    parser.add_argument("--no-profile", action="store_true")
    parser.add_argument(
        "--relists", type=int, default=0, help="then end every watch (410 Gone) this many times, 20 s apart"
    )
    parser.add_argument("--trace-memory", type=Path, default=None, help="directory for the snapshots")
    args = parser.parse_args()
    pki = TestPKI.create("Bench")
    if args.trace_memory is not None:
        return trace_memory(pki, args.syncs, args.relists, args.trace_memory.resolve(), args.top)
    with OperatorStack(pki) as stack:
        if args.no_profile:
            start(stack)
        else:
            stack.start_operator(profile=args.out.resolve())
            stack.connection()
            wait_for(stack.connection_ready, 60, "the NetScalerConnection to be Ready", interval=0.1)
        assert stack.process is not None
        cpu0, k8s0, began = (
            cpu_seconds(stack.process.pid),
            len(stack.emulator.requests()),
            time.perf_counter(),
        )
        add_syncs(stack, 0, args.syncs)
        wait_for(lambda: len(stack.ready_syncs()) >= args.syncs, 1800, "all Ready", interval=0.5)
        k8s = Counter(_kind(r.method, r.path, r.is_watch) for r in stack.emulator.requests()[k8s0:])
        nitro = Counter(
            f"{r.method} {r.resource}{'?action=' + r.action if r.action else ''}"
            for r in stack.simulator.requests
        )
        for title, counts in (("Kubernetes API", k8s), ("NITRO", nitro)):
            print(f"{title} requests per new sync:")
            for kind, n in counts.most_common():
                print(f"  {n / args.syncs:6.2f}  {kind}")
        print(
            f"{args.syncs} CertificateSyncs Ready after {time.perf_counter() - began:.1f} s; operator CPU"
            f" {cpu_seconds(stack.process.pid) - cpu0:.1f} s; NITRO requests {len(stack.simulator.requests)};"
            f" Kubernetes API requests {len(stack.emulator.requests()) - k8s0}"
        )
        for _ in range(args.relists):  # what the operator does with a relist of every watch
            cpu0 = cpu_seconds(stack.process.pid)
            stack.expire_watches()
            time.sleep(20)
            print(f"relist: operator CPU {cpu_seconds(stack.process.pid) - cpu0:.1f} s within 20 s")
    if not args.no_profile:  # written when the operator stopped, on leaving the stack
        stats = pstats.Stats(str(args.out))
        stats.sort_stats("cumulative").print_stats("netscaler_certsync", args.top)
        stats.sort_stats("tottime").print_stats(args.top)


def trace_memory(pki: TestPKI, syncs: int, relists: int, where: Path, top: int) -> None:
    """Resident memory and tracemalloc snapshots of the operator: idle, all Ready, relisted."""
    import tracemalloc

    with OperatorStack(pki) as stack:
        stack.start_operator(trace_memory=where)
        stack.connection()
        wait_for(stack.connection_ready, 120, "the NetScalerConnection to be Ready", interval=0.1)
        assert stack.process is not None
        pid = stack.process.pid
        points: list[tuple[str, float, Path]] = []

        def point(label: str) -> None:
            settle(pid, timeout=60)
            snap = stack.memory_snapshot()
            points.append((label, memory_mb(pid)[0], snap))
            print(f"{label}: VmRSS {points[-1][1]:.1f} MiB, load {os.getloadavg()[1]:.1f}", flush=True)

        point("idle")
        add_syncs(stack, 0, syncs)
        wait_for(lambda: len(stack.ready_syncs()) >= syncs, 3600, "all Ready", interval=0.5)
        point(f"{syncs} Ready")
        for n in range(relists):  # the same objects processed again: what grows is a leak
            stack.expire_watches()
            time.sleep(5)
            point(f"after relist {n + 1}")
    if not all(path.exists() for _, _, path in points):  # BENCH_TRACE_FRAMES=0: no tracemalloc
        return
    snaps = [(label, rss, tracemalloc.Snapshot.load(str(path))) for label, rss, path in points]
    for (before, rss0, old), (after, rss1, new) in itertools.pairwise(snaps):
        per = syncs if before == "idle" else 1
        total = sum(s.size_diff for s in new.compare_to(old, "filename"))
        print(
            f"\n== {before} -> {after}: VmRSS {rss1 - rss0:+.1f} MiB, traced {total / 2**20:+.1f} MiB"
            + (f" ({total / per / 1024:.1f} KiB per sync)" if per > 1 else "")
        )
        for key in ("filename", "lineno"):
            for stat in new.compare_to(old, key)[:top]:
                frame = stat.traceback[0]
                where_ = frame.filename.split("site-packages/")[-1].split("/src/")[-1]
                line = f":{frame.lineno}" if key == "lineno" else ""
                print(f"  {stat.size_diff / 2**10:10.1f} KiB {stat.count_diff:+8d}  {where_}{line}")
        if new.traces and len(new.traces[0].traceback) > 1:  # BENCH_TRACE_FRAMES > 1
            for stat in new.compare_to(old, "traceback")[:top]:
                print(f"  --- {stat.size_diff / 2**10:10.1f} KiB {stat.count_diff:+8d}")
                for frame in stat.traceback:
                    print(f"        {frame.filename.split('site-packages/')[-1]}:{frame.lineno}")


def _kind(method: str, path: str, watch: bool) -> str:
    """A request's method and resource, without names: `PATCH certificatesyncs/status`."""
    parts = [p for p in path.split("/") if p]
    resource = ""
    for at, part in enumerate(parts):
        if part in ("certificatesyncs", "netscalerconnections", "secrets", "events", "leases"):
            resource = part + ("/status" if parts[-1] == "status" and len(parts) > at + 2 else "")
    resource = resource or re.sub(r"/[a-z0-9.-]+$", "/NAME", path)
    return f"{'WATCH' if watch else method} {resource}"


if __name__ == "__main__":
    main()
