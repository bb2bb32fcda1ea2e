"""Every Kubernetes API permission the operator needs, in one list the code and the chart share.

The Helm chart's RBAC is checked against this list by tests/chart (covers everything here and
nothing wider), and the operator's own API calls are made through helpers that name their entry
here. Add a row before adding a call; the chart test will then demand the RBAC rule.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

GROUP = "netscaler.certsync.dev"
VERSION = "v1alpha1"

#: "release": only in the namespace the operator is installed in (its Lease).
Scope = Literal["namespaced", "cluster", "release"]


@dataclass(frozen=True)
class Permission:
    group: str  # "" is the core API group
    resource: str  # plural, with "/subresource" where relevant
    verbs: frozenset[str]
    scope: Scope
    why: str


def _p(group: str, resource: str, verbs: str, scope: Scope, why: str) -> Permission:
    return Permission(group, resource, frozenset(verbs.split()), scope, why)


REQUIRED_PERMISSIONS: tuple[Permission, ...] = (
    _p(
        GROUP,
        "netscalerconnections",
        "get list watch patch",
        "namespaced",
        "kopf watches the kind and patches finalizers and its annotations",
    ),
    _p(GROUP, "netscalerconnections/status", "patch", "namespaced", "conditions and health"),
    _p(
        GROUP,
        "certificatesyncs",
        "get list watch patch",
        "namespaced",
        "kopf watches the kind; the Secret watcher patches the sync-requested annotation",
    ),
    _p(GROUP, "certificatesyncs/status", "patch", "namespaced", "conditions and per-certificate status"),
    _p(
        "",
        "secrets",
        "get list watch",
        "namespaced",
        "read TLS and credential Secrets; watch TLS Secrets with server-side selectors",
    ),
    _p(
        "",
        "configmaps",
        "get list watch",
        "namespaced",
        "read and watch by name the ConfigMaps with client-auth CA bundles (trust-manager)",
    ),
    _p("", "events", "create", "namespaced", "kopf and the operator post Events"),
    _p(
        "apiextensions.k8s.io",
        "customresourcedefinitions",
        "list watch",
        "cluster",
        "kopf discovers the CRDs it serves",
    ),
    _p(
        "",
        "namespaces",
        "list watch",
        "cluster",
        "kopf's namespace observer lists namespaces when it serves named namespaces or globs",
    ),
    _p(
        "",
        "namespaces",
        "get",
        "cluster",
        "the cluster identity is the UID of the kube-system Namespace (only that one is read)",
    ),
    _p("coordination.k8s.io", "leases", "get create update", "release", "leader election (k8s/lease.py)"),
    _p("", "events", "create", "release", "an Event on the Lease at each leadership change"),
)
