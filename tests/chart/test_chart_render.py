"""The chart lints and renders in each supported shape, and its values are validated."""

from __future__ import annotations

from pathlib import Path

import pytest

from .chart_helpers import CHART, NAMESPACE, RELEASE, Render, of_kind, one, run_helm

CI_VALUES = sorted(p.name for p in (CHART / "ci").glob("*-values.yaml"))


def test_ci_values_files_exist() -> None:
    assert {"default-values.yaml", "namespaced-values.yaml", "full-values.yaml"} <= set(CI_VALUES)


@pytest.mark.parametrize("values", [None, *CI_VALUES])
def test_helm_lint_strict(helm: Path, values: str | None) -> None:
    args = ["lint", "--strict", str(CHART)]
    if values:
        args += ["-f", str(CHART / "ci" / values)]
    result = run_helm(helm, *args)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "0 chart(s) failed" in result.stdout


def test_default_render(render: Render) -> None:
    docs = render()
    kinds = sorted(d["kind"] for d in docs)
    assert kinds == sorted(
        [
            "ClusterRole",  # the operator's
            "ClusterRole",  # aggregated view
            "ClusterRole",  # aggregated edit
            "ClusterRoleBinding",
            "CustomResourceDefinition",
            "CustomResourceDefinition",
            "Deployment",
            "Pod",  # helm test hook
            "PodDisruptionBudget",
            "Role",  # leader election
            "RoleBinding",
            "Service",
            "ServiceAccount",
        ]
    )
    deployment = one(docs, "Deployment")
    assert deployment["spec"]["replicas"] == 2
    assert deployment["spec"]["strategy"] == {
        "type": "RollingUpdate",
        "rollingUpdate": {"maxSurge": 1, "maxUnavailable": 0},
    }
    (container,) = deployment["spec"]["template"]["spec"]["containers"]
    # No image is published: the default names no registry (the user pushes and sets it).
    assert container["image"] == "netscaler-certsync:0.1.0"
    assert container["args"] == [
        "run",
        "--liveness=http://0.0.0.0:8080/healthz",
        "--metrics-port=9090",
        "--log-format=plain",
        "--snapshot-max-age=10",
        "--drift-check-tick=30",
        "--leader-election-name=certsync-netscaler-certsync",
        "--leader-election-lease-duration=15",
        "--leader-election-renew-deadline=10",
        "--leader-election-retry-period=2",
        "--all-namespaces",
    ]
    probe = container["livenessProbe"]
    assert probe["httpGet"] == {"path": "/healthz", "port": "health"}
    assert {"name": "health", "containerPort": 8080, "protocol": "TCP"} in container["ports"]
    assert container["resources"]["limits"]["memory"]
    assert container["resources"]["requests"]["cpu"]
    for doc in docs:
        if doc["kind"] not in {"ClusterRole", "ClusterRoleBinding", "CustomResourceDefinition"}:
            assert doc["metadata"]["namespace"] == NAMESPACE, doc["kind"]


def test_metrics_service_targets_the_pod(render: Render) -> None:
    docs = render()
    service = one(docs, "Service")
    pod_labels = one(docs, "Deployment")["spec"]["template"]["metadata"]["labels"]
    assert service["spec"]["selector"].items() <= pod_labels.items()
    assert service["spec"]["ports"] == [
        {"name": "metrics", "port": 9090, "targetPort": "metrics", "protocol": "TCP"}
    ]


def test_watch_namespaces_render_flags_and_roles(render: Render) -> None:
    docs = render(watchNamespaces=["team-a", "team-b"])
    (container,) = one(docs, "Deployment")["spec"]["template"]["spec"]["containers"]
    assert "--namespace=team-a" in container["args"] and "--namespace=team-b" in container["args"]
    assert "--all-namespaces" not in container["args"]
    # One per watched namespace, plus the leader election's in the release namespace.
    expected = sorted(["team-a", "team-b", NAMESPACE])
    assert sorted(r["metadata"]["namespace"] for r in of_kind(docs, "Role")) == expected
    assert sorted(r["metadata"]["namespace"] for r in of_kind(docs, "RoleBinding")) == expected


def test_service_monitor(render: Render) -> None:
    assert of_kind(render(), "ServiceMonitor") == []
    docs = render(metrics__serviceMonitor__enabled=True, metrics__serviceMonitor__labels={"release": "prom"})
    monitor = one(docs, "ServiceMonitor")
    assert monitor["apiVersion"] == "monitoring.coreos.com/v1"
    assert monitor["metadata"]["labels"]["release"] == "prom"
    assert monitor["spec"]["endpoints"][0]["port"] == "metrics"
    assert (
        monitor["spec"]["selector"]["matchLabels"].items()
        <= one(docs, "Service")["metadata"]["labels"].items()
    )


def test_network_policy(render: Render) -> None:
    assert of_kind(render(), "NetworkPolicy") == []
    docs = render(networkPolicy__enabled=True, networkPolicy__netscalerCIDRs=["10.0.10.0/24"])
    policy = one(docs, "NetworkPolicy")
    assert policy["spec"]["policyTypes"] == ["Ingress", "Egress"]
    pod_labels = one(docs, "Deployment")["spec"]["template"]["metadata"]["labels"]
    assert policy["spec"]["podSelector"]["matchLabels"].items() <= pod_labels.items()
    (ingress,) = policy["spec"]["ingress"]
    assert ingress["ports"] == [{"port": "metrics", "protocol": "TCP"}]
    egress_ports = [p["port"] for rule in policy["spec"]["egress"] for p in rule["ports"]]
    assert 53 in egress_ports and 6443 in egress_ports and 443 in egress_ports
    netscaler = policy["spec"]["egress"][-1]
    assert netscaler["to"] == [{"ipBlock": {"cidr": "10.0.10.0/24"}}]


def test_pdb_keeps_one_replica_and_can_be_turned_off(render: Render) -> None:
    # With 2 replicas, minAvailable 1 still lets a drain evict one pod at a time.
    assert one(render(), "PodDisruptionBudget")["spec"] == {
        "minAvailable": 1,
        "selector": one(render(), "Deployment")["spec"]["selector"],
    }
    assert of_kind(render(podDisruptionBudget__enabled=False), "PodDisruptionBudget") == []


def test_helm_test_hook(render: Render) -> None:
    pod = one(render(), "Pod")
    assert pod["metadata"]["annotations"]["helm.sh/hook"] == "test"
    script = pod["spec"]["containers"][0]["command"][-1]
    assert f"http://{RELEASE}-netscaler-certsync-metrics.{NAMESPACE}.svc:9090/metrics" in script
    assert of_kind(render(tests__enabled=False), "Pod") == []


def test_metrics_off_removes_port_service_and_test(render: Render) -> None:
    docs = render(metrics__enabled=False)
    assert of_kind(docs, "Service") == [] and of_kind(docs, "Pod") == []
    (container,) = one(docs, "Deployment")["spec"]["template"]["spec"]["containers"]
    assert not any(a.startswith("--metrics-port") for a in container["args"])


@pytest.mark.parametrize(
    ("values", "complaint"),
    [
        (["--set", "watchNamespace[0]=a"], "watchNamespace"),  # typo of watchNamespaces
        (["--set", "watchNamespaces[0]=team-*"], "watchNamespaces"),  # globs would need a ClusterRole
        (["--set", "image.pullPolicy=Sometimes"], "pullPolicy"),
        (["--set", "networkPolicy.netscalerCIDRs[0]=10.0.0.1"], "netscalerCIDRs"),
    ],
)
def test_values_schema_refuses(helm: Path, values: list[str], complaint: str) -> None:
    result = run_helm(helm, "template", RELEASE, str(CHART), *values)
    assert result.returncode != 0
    assert complaint in result.stderr


def test_existing_service_account_must_be_named(helm: Path, render: Render) -> None:
    result = run_helm(helm, "template", RELEASE, str(CHART), "--set", "serviceAccount.create=false")
    assert result.returncode != 0 and "serviceAccount.name is required" in result.stderr
    docs = render(serviceAccount__create=False, serviceAccount__name="existing")
    assert of_kind(docs, "ServiceAccount") == []
    assert one(docs, "Deployment")["spec"]["template"]["spec"]["serviceAccountName"] == "existing"
    assert one(docs, "ClusterRoleBinding")["subjects"][0]["name"] == "existing"


def test_network_policy_without_metrics_allows_no_ingress(render: Render) -> None:
    policy = one(render(networkPolicy__enabled=True, metrics__enabled=False), "NetworkPolicy")
    assert policy["spec"]["ingress"] == []
    assert "Ingress" in policy["spec"]["policyTypes"]


def test_two_replicas_spread_over_nodes_with_a_pdb_and_the_pod_name_for_the_lease(render: Render) -> None:
    docs = render()
    spec = one(docs, "Deployment")["spec"]["template"]["spec"]
    anti = spec["affinity"]["podAntiAffinity"]["preferredDuringSchedulingIgnoredDuringExecution"]
    assert anti[0]["podAffinityTerm"]["topologyKey"] == "kubernetes.io/hostname"
    assert one(docs, "PodDisruptionBudget")["spec"]["minAvailable"] == 1
    env = {e["name"]: e for e in spec["containers"][0]["env"]}
    assert env["POD_NAME"]["valueFrom"]["fieldRef"]["fieldPath"] == "metadata.name"
    assert "readinessProbe" not in spec["containers"][0]  # a standby is as ready as the leader
    assert spec["terminationGracePeriodSeconds"] == 60


def test_leader_election_off_runs_kopf_standalone(render: Render) -> None:
    (container,) = one(render(leaderElection__enabled=False), "Deployment")["spec"]["template"]["spec"][
        "containers"
    ]
    assert "--no-leader-elect" in container["args"]


def test_shards_render_one_elected_deployment_and_pdb_per_shard(render: Render) -> None:
    docs = render(shards=3)
    shard = "netscaler.certsync.dev/shard"
    deployments = of_kind(docs, "Deployment")
    assert [d["metadata"]["name"] for d in deployments] == [
        f"{RELEASE}-netscaler-certsync-shard-{i}" for i in range(3)
    ]
    for i, deployment in enumerate(deployments):
        spec = deployment["spec"]
        assert spec["replicas"] == 2  # a standby per shard
        assert spec["selector"]["matchLabels"][shard] == str(i)  # selectors of two shards never overlap
        assert spec["template"]["metadata"]["labels"][shard] == str(i)
        args = spec["template"]["spec"]["containers"][0]["args"]
        assert f"--shard={i}" in args
        assert f"--leader-election-name={RELEASE}-netscaler-certsync" in args  # run appends -shard-i
    pdbs = of_kind(docs, "PodDisruptionBudget")
    assert sorted(p["spec"]["selector"]["matchLabels"][shard] for p in pdbs) == ["0", "1", "2"]
    # Unsharded by default: one Deployment, no --shard.
    (default,) = of_kind(render(), "Deployment")
    assert not [a for a in default["spec"]["template"]["spec"]["containers"][0]["args"] if "--shard" in a]
