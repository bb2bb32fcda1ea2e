"""Where the operator's time goes while N new CertificateSyncs become Ready (cProfile).

Not a `bench_*` module (`make bench` does not run it): a tool for finding the cost, whose
findings are written up by hand in docs/benchmarks.md. The operator runs under cProfile in its
own process (`OperatorStack.start_operator(profile=...)`), about twice as slow as without.

Usage: python -m bench.profile_operator [--syncs 1000] [--out operator.prof] [--top 40] [--relists N]
       python -m bench.profile_operator --syncs 1000 --no-profile   (wall time only)
"""

from __future__ import annotations

import argparse
import pstats
import re
import time
from collections import Counter
from pathlib import Path

from bench.bench_operator import add_syncs, start
from bench.operator_stack import OperatorStack, cpu_seconds
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
    args = parser.parse_args()
    pki = TestPKI.create("Bench")
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
