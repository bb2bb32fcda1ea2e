"""What the chart and the examples run is accepted by the real command line.

The Deployment's args, the simulator example's args and the `helm test` script are parsed or
compiled here, so a renamed flag fails this test instead of a pod in a cluster.
"""

from __future__ import annotations

import argparse
from pathlib import Path

import pytest
import yaml

from netscaler_certsync.cli import build_parser

from .chart_helpers import ROOT, Render, one, policy_regex, run_helm


def _parse(args: list[str]) -> argparse.Namespace:
    parser = build_parser(only=args[0])
    try:
        return parser.parse_args(args)
    except SystemExit as exc:  # argparse reports bad arguments by exiting
        raise AssertionError(f"netscaler-certsync rejects {args}") from exc


@pytest.mark.parametrize(
    "values",
    [
        {},
        {"watchNamespaces": ["team-a", "team-b"]},
        {"metrics__enabled": False},
        {"logging__format": "json", "logging__verbose": True, "sync__snapshotMaxAgeSeconds": 0},
    ],
    ids=["all-namespaces", "namespaced", "no-metrics", "json-verbose-no-snapshot"],
)
def test_operator_args_parse(render: Render, values: dict[str, object]) -> None:
    (container,) = one(render(**values), "Deployment")["spec"]["template"]["spec"]["containers"]
    args = _parse(container["args"])
    assert args.command == "run"
    assert args.namespace == values.get("watchNamespaces", [])
    port = next(p["containerPort"] for p in container["ports"] if p["name"] == "health")
    assert args.liveness == f"http://0.0.0.0:{port}/healthz"
    assert args.log_format == values.get("logging__format", "plain")
    assert args.verbose == values.get("logging__verbose", False)
    assert args.snapshot_max_age == values.get("sync__snapshotMaxAgeSeconds", 10)
    assert args.drift_check_tick == 30


def test_simulator_example_args_parse() -> None:
    docs = list(yaml.safe_load_all((ROOT / "examples" / "simulator" / "simulator.yaml").read_text()))
    deployment = next(d for d in docs if d["kind"] == "Deployment")
    (container,) = deployment["spec"]["template"]["spec"]["containers"]
    args = _parse(container["args"])
    # In a pod it must listen beyond loopback, over plain HTTP (the example connection says so).
    assert args.http and args.host not in {"127.0.0.1", "localhost"}
    assert args.port == container["ports"][0]["containerPort"]
    # The demo user is restricted by exactly the documented command policy.
    (restricted,) = args.restricted_user
    assert restricted.split(":", 2)[2] == policy_regex()
    sync = (ROOT / "examples" / "simulator" / "sync.yaml").read_text()
    secret = next(d for d in yaml.safe_load_all(sync) if d["kind"] == "Secret")
    assert restricted.split(":", 2)[:2] == [
        secret["stringData"]["username"],
        secret["stringData"]["password"],
    ]
    for binding in yaml.safe_load_all(sync):
        if binding["kind"] == "CertificateSync":
            vservers = {v.split(":")[0] for v in args.vserver}
            assert {b["vserver"] for b in binding["spec"]["bindings"]} <= vservers


def test_helm_test_script_compiles(render: Render) -> None:
    pod = one(render(), "Pod")
    command = pod["spec"]["containers"][0]["command"]
    assert command[:2] == ["python", "-c"]
    compile(command[2], "helm-test", "exec")


def test_kube_version_floor(helm: Path) -> None:
    chart = str(ROOT / "charts" / "netscaler-certsync")
    assert run_helm(helm, "template", "x", chart, "--kube-version", "1.30.0").returncode == 0
    too_old = run_helm(helm, "template", "x", chart, "--kube-version", "1.29.9")
    assert too_old.returncode != 0 and "kubeVersion" in too_old.stderr
