"""`netscaler-certsync run`: the operator, as kopf with our defaults.

Standalone (one replica, no peering), watching all namespaces or the ones named, with kopf's
liveness endpoint and our metrics port.
"""

from __future__ import annotations

import argparse
import sys
from typing import Any


def register(subparsers: Any) -> None:
    parser: argparse.ArgumentParser = subparsers.add_parser(
        "run",
        help="run the operator against the current Kubernetes context or in-cluster",
        description=__doc__,
        formatter_class=argparse.ArgumentDefaultsHelpFormatter,  # every flag shows its default
    )
    scope = parser.add_mutually_exclusive_group()
    scope.add_argument(
        "-n",
        "--namespace",
        action="append",
        default=[],
        metavar="NS",
        help="watch this namespace (repeatable; kopf globs allowed); none given: all namespaces",
    )
    scope.add_argument(
        "-A", "--all-namespaces", action="store_true", help="watch all namespaces (what no -n means)"
    )
    parser.add_argument(
        "--liveness", default="http://0.0.0.0:8080/healthz", help="kopf liveness endpoint ('' disables it)"
    )
    parser.add_argument("--metrics-port", type=int, default=9090, help="Prometheus metrics port (0 disables)")
    parser.add_argument(
        "--log-format",
        choices=["plain", "json"],
        default="plain",
        help="log line format (one object per line for json)",
    )
    parser.add_argument("--verbose", "-v", action="store_true", help="DEBUG logging: every NITRO call")
    parser.add_argument(
        "--health-check-tick", type=float, default=15.0, help="seconds between connection health ticks"
    )
    parser.add_argument("--drift-check-tick", type=float, default=30.0, help="seconds between drift ticks")
    parser.add_argument(
        "--drift-concurrency", type=int, default=2, help="drift re-checks running at once (at least 1)"
    )
    parser.add_argument(
        "--change-concurrency",
        type=int,
        default=32,
        help="reconciles of created or changed CertificateSyncs running at once (at least 1)",
    )
    parser.add_argument(
        "--snapshot-max-age",
        type=float,
        default=10.0,
        help="seconds reconciles on one appliance may reuse a full listing of its certkeys (0: never)",
    )
    parser.add_argument(
        "--cluster-id",
        default=None,
        help="the cluster identity tagged into every object on the appliance "
        "(default: the UID of the kube-system Namespace); keep it when the cluster is rebuilt",
    )
    parser.set_defaults(handler=run)


def run(args: argparse.Namespace) -> int:
    from netscaler_certsync.runtime import OperatorOptions, StartupError, run_operator

    # logs.configure() (in run_operator) sets up kopf's log handler and format; a basicConfig
    # here as well would print every line twice.
    options = OperatorOptions(
        health_check_tick_seconds=args.health_check_tick,
        drift_check_tick_seconds=args.drift_check_tick,
        snapshot_max_age_seconds=args.snapshot_max_age,
        drift_concurrency=args.drift_concurrency,
        change_concurrency=args.change_concurrency,
        cluster_id=args.cluster_id or None,
    )
    try:
        run_operator(
            options,
            namespaces=args.namespace,
            liveness=args.liveness or None,
            metrics_port=args.metrics_port or None,
            log_format=args.log_format,
            verbose=args.verbose,
        )
    except StartupError as e:  # one line the user can act on, not a traceback
        print(f"netscaler-certsync run: {e}", file=sys.stderr)
        return 1
    return 0
