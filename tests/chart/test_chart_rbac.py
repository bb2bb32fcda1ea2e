"""The chart grants the operator exactly REQUIRED_PERMISSIONS: every entry, nothing wider.

The list comes from netscaler_certsync.k8s.permissions (shared with the code), not from a copy
here. The rules are read the way the API server reads them: the ServiceAccount's (Cluster)Role
bindings, then the rules of the roles they reference.
"""

from __future__ import annotations

from typing import Any

import pytest

from netscaler_certsync.k8s.permissions import REQUIRED_PERMISSIONS

from .chart_helpers import NAMESPACE, RELEASE, Render, of_kind

Grant = tuple[str, str, str, str]  # (where: "*" cluster-wide or a namespace, group, resource, verb)

#: Permissions the operator needs only in some install modes, keyed by (group, resource). kopf
#: lists and watches namespaces only when it is not cluster-wide (kopf/_core/reactor/observation.py,
#: namespace_observer skips it for clusterwide=True), so the all-namespaces install lacks the right.
ONLY_WHEN_WATCHING_SOME = {("", "namespaces", "list"), ("", "namespaces", "watch")}


def _grants(docs: list[dict[str, Any]]) -> set[Grant]:
    roles = {(d["kind"], d["metadata"].get("namespace"), d["metadata"]["name"]): d for d in docs}
    sa = next(d for d in docs if d["kind"] == "ServiceAccount")["metadata"]["name"]
    grants: set[Grant] = set()
    for binding in [*of_kind(docs, "ClusterRoleBinding"), *of_kind(docs, "RoleBinding")]:
        subjects = binding["subjects"]
        if {"kind": "ServiceAccount", "name": sa, "namespace": NAMESPACE} not in subjects:
            continue
        ref = binding["roleRef"]
        where = binding["metadata"].get("namespace", "*")
        role_ns = None if ref["kind"] == "ClusterRole" else where
        role = roles[(ref["kind"], role_ns, ref["name"])]
        for rule in role["rules"]:
            assert "nonResourceURLs" not in rule
            # The one named grant: the cluster identity reads kube-system and no other Namespace.
            assert "resourceNames" not in rule or rule == {
                "apiGroups": [""],
                "resources": ["namespaces"],
                "resourceNames": ["kube-system"],
                "verbs": ["get"],
            }
            for group in rule["apiGroups"]:
                for resource in rule["resources"]:
                    for verb in rule["verbs"]:
                        grants.add((where, group, resource, verb))
    return grants


def _required(namespaces: list[str] | None) -> set[Grant]:
    wanted: set[Grant] = set()
    for perm in REQUIRED_PERMISSIONS:
        if perm.scope == "release":
            places = [NAMESPACE]
        else:
            places = ["*"] if perm.scope == "cluster" or not namespaces else namespaces
        for where in places:
            for verb in perm.verbs:
                if not namespaces and (perm.group, perm.resource, verb) in ONLY_WHEN_WATCHING_SOME:
                    continue
                wanted.add((where, perm.group, perm.resource, verb))
    return wanted


@pytest.mark.parametrize("namespaces", [None, ["team-a"], ["team-a", "team-b"]])
def test_operator_rbac_is_exactly_the_required_permissions(
    render: Render, namespaces: list[str] | None
) -> None:
    docs = render(watchNamespaces=namespaces or [])
    grants = _grants(docs)
    wanted = _required(namespaces)
    assert wanted - grants == set(), "missing"
    assert grants - wanted == set(), "wider than REQUIRED_PERMISSIONS"


def test_no_wildcards_anywhere(render: Render) -> None:
    for doc in render("ci/full-values.yaml") + render():
        for rule in doc.get("rules", []):
            for field in ("apiGroups", "resources", "verbs"):
                assert "*" not in rule.get(field, []), (doc["metadata"]["name"], rule)


def test_namespaced_install_reads_secrets_only_in_watched_namespaces(render: Render) -> None:
    grants = _grants(render(watchNamespaces=["team-a"]))
    secret_places = {where for where, group, resource, _ in grants if (group, resource) == ("", "secrets")}
    assert secret_places == {"team-a"}


def test_ca_bundle_configmaps_are_read_and_watched_only_where_syncs_are(render: Render) -> None:
    """clientAuth reads a trust-manager Bundle ConfigMap: get/list/watch in the watched namespaces."""
    grants = _grants(render(watchNamespaces=["team-a"]))
    configmaps = {
        (where, verb) for where, group, resource, verb in grants if (group, resource) == ("", "configmaps")
    }
    assert configmaps == {("team-a", "get"), ("team-a", "list"), ("team-a", "watch")}


def test_aggregated_roles_are_for_people_and_never_touch_status_or_secrets(render: Render) -> None:
    aggregated = [
        d
        for d in of_kind(render(), "ClusterRole")
        if any(k.startswith("rbac.authorization.k8s.io/aggregate-to-") for k in d["metadata"]["labels"])
    ]
    assert len(aggregated) == 2
    for role in aggregated:
        for rule in role["rules"]:
            assert rule["apiGroups"] == ["netscaler.certsync.dev"]
            assert all("/" not in r for r in rule["resources"])
    assert _grants(render()) == _grants(render(rbac__aggregateToDefaultRoles=False))
    assert [d for d in render(rbac__create=False) if "Role" in d["kind"]] == []


def test_permissions_module_is_not_empty_and_has_reasons() -> None:
    # Guards the test above against passing vacuously on an empty list.
    assert len(REQUIRED_PERMISSIONS) >= 6
    assert all(p.why and p.verbs for p in REQUIRED_PERMISSIONS)


def test_a_fixed_cluster_id_needs_no_namespace_read(render: Render) -> None:
    """With `clusterId` set, the identity is not read from kube-system: no grant for it."""
    grants = _grants(render(clusterId="fleet-eu-1"))
    assert ("*", "", "namespaces", "get") not in grants
    deployment = next(d for d in render(clusterId="fleet-eu-1") if d["kind"] == "Deployment")
    assert "--cluster-id=fleet-eu-1" in deployment["spec"]["template"]["spec"]["containers"][0]["args"]


def test_leases_only_in_the_release_namespace_and_never_delete(render: Render) -> None:
    """The leader election's Role: get, create, update of leases where the operator runs, nothing
    cluster-wide, and no delete (a Lease is released by clearing its holder)."""
    grants = _grants(render())
    leases = {(where, verb) for where, group, resource, verb in grants if resource == "leases"}
    assert leases == {(NAMESPACE, "get"), (NAMESPACE, "create"), (NAMESPACE, "update")}


def test_each_shard_elects_and_claims_under_leases_its_role_grants(
    render: Render, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Sharded, every Deployment runs as the ServiceAccount the lease Role is bound to, in the
    release namespace, under the Lease names the operator derives from its rendered arguments:
    `<fullname>-shard-i` to elect, `<fullname>-appliance-<hash>` to claim an appliance."""
    from netscaler_certsync.cli import build_parser
    from netscaler_certsync.commands.run import _election

    docs = render(shards=3)
    grants = _grants(docs)
    leases = {(where, verb) for where, group, resource, verb in grants if resource == "leases"}
    assert leases == {(NAMESPACE, "get"), (NAMESPACE, "create"), (NAMESPACE, "update")}
    sa = next(d for d in docs if d["kind"] == "ServiceAccount")["metadata"]["name"]
    fullname = f"{RELEASE}-netscaler-certsync"
    monkeypatch.setenv("POD_NAMESPACE", NAMESPACE)  # what the Downward API gives each pod
    for i, deployment in enumerate(of_kind(docs, "Deployment")):
        pod = deployment["spec"]["template"]["spec"]
        assert pod["serviceAccountName"] == sa
        (container,) = pod["containers"]
        namespace_env = next(e for e in container["env"] if e["name"] == "POD_NAMESPACE")
        assert namespace_env["valueFrom"]["fieldRef"]["fieldPath"] == "metadata.namespace"
        args = build_parser().parse_args(container["args"])
        election = _election(args)
        assert (election.name, election.namespace) == (f"{fullname}-shard-{i}", NAMESPACE)
        assert election.claims == fullname  # one claim name per appliance, whichever shard claims
