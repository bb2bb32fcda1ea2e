"""`netscaler-certsync run`: the operator, as kopf with our defaults.

Watching all namespaces or the ones named, with kopf's liveness endpoint and our metrics port.
With leader election (the default) any number of replicas may run: only the holder of the Lease
runs the handlers and writes to appliances; `--no-leader-elect` runs kopf standalone at once
(one replica only).
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
    parser.add_argument(
        "--shard",
        default=None,
        help="handle only NetScalerConnections and CertificateSyncs labelled "
        "netscaler.certsync.dev/shard=SHARD, under the Lease <name>-shard-SHARD",
    )
    parser.add_argument(
        "--drift-check-tick",
        type=float,
        default=30.0,
        help="longest sleep of the re-check schedule, and least time between two re-checks of one sync",
    )
    parser.add_argument(
        "--drift-concurrency",
        type=int,
        default=2,
        help="re-checks running at once, renewals found by the Secret watcher included (at least 1)",
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
    election = parser.add_argument_group("leader election (coordination.k8s.io/v1 Lease)")
    election.add_argument(
        "--leader-elect",
        action=argparse.BooleanOptionalAction,
        default=True,
        help="run the handlers only while holding the Lease (default: on)",
    )
    election.add_argument("--leader-election-name", default="netscaler-certsync", help="the Lease's name")
    election.add_argument(
        "--leader-election-namespace",
        default=None,
        help="the Lease's namespace (default: $POD_NAMESPACE, else the kubeconfig context's)",
    )
    election.add_argument(
        "--leader-election-identity",
        default=None,
        help="this process's holder identity (default: $POD_NAME or the host name, plus a random suffix)",
    )
    for flag, default, what in (
        ("lease-duration", 15.0, "how long a standby waits for a silent leader before taking over"),
        ("renew-deadline", 10.0, "the leader stops writing when it could not renew for this long"),
        ("retry-period", 2.0, "seconds between renewals, and between a standby's tries"),
        ("takeover-grace", 2.0, "after taking over an expired Lease, wait this long before writing"),
    ):
        election.add_argument(
            f"--leader-election-{flag}", type=float, default=default, metavar="SECONDS", help=what
        )
    parser.set_defaults(handler=run)


def _election(args: argparse.Namespace) -> Any:
    import os

    from netscaler_certsync.k8s.lease import LeaseSettings, default_identity

    if not args.leader_elect:
        return None
    return LeaseSettings(
        name=args.leader_election_name
        if args.shard is None
        else f"{args.leader_election_name}-shard-{args.shard}",
        namespace=args.leader_election_namespace or os.environ.get("POD_NAMESPACE") or "",
        identity=args.leader_election_identity or default_identity(),
        lease_duration=args.leader_election_lease_duration,
        renew_deadline=args.leader_election_renew_deadline,
        retry_period=args.leader_election_retry_period,
        takeover_grace=args.leader_election_takeover_grace,
        claims=None if args.shard is None else args.leader_election_name,
    )


def import_kopf_without_the_kubernetes_client() -> None:
    """Import kopf without letting it load the `kubernetes` package.

    kopf imports the `kubernetes` client, when installed, only to recognise its model objects,
    which the operator never hands to kopf; the import alone costs about 23 MiB resident (its
    generated models). Hidden while kopf loads, the package stays importable afterwards: a
    kubeconfig (k8s/access.py) still loads through it; in a pod it is never imported.
    """
    if "kopf" in sys.modules or "kubernetes" in sys.modules:
        return
    sys.modules["kubernetes"] = None  # type: ignore[assignment]  # import kubernetes -> ImportError
    try:
        import kopf  # noqa: F401
    finally:
        del sys.modules["kubernetes"]


def run(args: argparse.Namespace) -> int:
    import_kopf_without_the_kubernetes_client()
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
        shard=args.shard,
    )
    try:
        return run_operator(
            options,
            namespaces=args.namespace,
            liveness=args.liveness or None,
            metrics_port=args.metrics_port or None,
            log_format=args.log_format,
            verbose=args.verbose,
            election=_election(args),
        )
    except StartupError as e:  # one line the user can act on, not a traceback
        print(f"netscaler-certsync run: {e}", file=sys.stderr)
        return 1
