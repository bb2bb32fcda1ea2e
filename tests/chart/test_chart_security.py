"""Every pod the chart renders passes Pod Security "restricted", with a read-only root filesystem.

The checks follow the Pod Security Standards page (restricted profile, v1.30): no host
namespaces, ports or hostPath volumes, no privileged containers or added capabilities besides
NET_BIND_SERVICE, capabilities drop ALL, allowPrivilegeEscalation false, runAsNonRoot, no
runAsUser 0, seccomp RuntimeDefault or Localhost, only the allowed volume types. We add
readOnlyRootFilesystem, which the profile does not require but the operator promises.
"""

from __future__ import annotations

import copy
from typing import Any

import pytest

from .chart_helpers import Render

ALLOWED_VOLUMES = {
    "configMap",
    "csi",
    "downwardAPI",
    "emptyDir",
    "ephemeral",
    "persistentVolumeClaim",
    "projected",
    "secret",
}


def _pod_specs(docs: list[dict[str, Any]]) -> list[tuple[str, dict[str, Any]]]:
    specs = []
    for doc in docs:
        if doc["kind"] == "Pod":
            specs.append((f"Pod/{doc['metadata']['name']}", doc["spec"]))
        elif doc["kind"] in {"Deployment", "StatefulSet", "DaemonSet", "Job"}:
            specs.append((f"{doc['kind']}/{doc['metadata']['name']}", doc["spec"]["template"]["spec"]))
    return specs


def restricted_violations(spec: dict[str, Any]) -> list[str]:
    problems = []
    pod_sc = spec.get("securityContext", {})
    for flag in ("hostNetwork", "hostPID", "hostIPC"):
        if spec.get(flag):
            problems.append(f"{flag} is set")
    for volume in spec.get("volumes", []):
        kinds = set(volume) - {"name"}
        if not kinds <= ALLOWED_VOLUMES:
            problems.append(f"volume {volume['name']} uses {kinds - ALLOWED_VOLUMES}")
    for container in spec.get("initContainers", []) + spec["containers"]:
        sc = container.get("securityContext", {})
        name = container["name"]
        if sc.get("privileged"):
            problems.append(f"{name}: privileged")
        if sc.get("allowPrivilegeEscalation") is not False:
            problems.append(f"{name}: allowPrivilegeEscalation is not false")
        if "ALL" not in sc.get("capabilities", {}).get("drop", []):
            problems.append(f"{name}: capabilities do not drop ALL")
        added = set(sc.get("capabilities", {}).get("add", [])) - {"NET_BIND_SERVICE"}
        if added:
            problems.append(f"{name}: adds capabilities {added}")
        if not (sc.get("runAsNonRoot") or pod_sc.get("runAsNonRoot")) or sc.get("runAsNonRoot") is False:
            problems.append(f"{name}: runAsNonRoot is not true")
        if sc.get("runAsUser", pod_sc.get("runAsUser")) == 0:
            problems.append(f"{name}: runs as UID 0")
        seccomp = sc.get("seccompProfile", pod_sc.get("seccompProfile", {})).get("type")
        if seccomp not in {"RuntimeDefault", "Localhost"}:
            problems.append(f"{name}: seccomp profile is {seccomp}")
        for port in container.get("ports", []):
            if port.get("hostPort"):
                problems.append(f"{name}: hostPort {port['hostPort']}")
        if sc.get("readOnlyRootFilesystem") is not True:
            problems.append(f"{name}: root filesystem is writable")
    return problems


@pytest.mark.parametrize("values", [(), ("ci/full-values.yaml",), ("ci/namespaced-values.yaml",)])
def test_every_pod_is_restricted(render: Render, values: tuple[str, ...]) -> None:
    specs = _pod_specs(render(*values))
    assert len(specs) == 2  # the operator and the helm test pod
    for where, spec in specs:
        assert restricted_violations(spec) == [], where


def test_the_checker_catches_each_violation() -> None:
    # The checks above must be able to fail: each broken spec yields its own complaint.
    good = {
        "securityContext": {"runAsNonRoot": True, "seccompProfile": {"type": "RuntimeDefault"}},
        "containers": [
            {
                "name": "c",
                "securityContext": {
                    "allowPrivilegeEscalation": False,
                    "readOnlyRootFilesystem": True,
                    "capabilities": {"drop": ["ALL"]},
                },
            }
        ],
    }
    assert restricted_violations(good) == []
    breakages = {
        "hostNetwork": lambda s: s.update(hostNetwork=True),
        "volume": lambda s: s.update(volumes=[{"name": "h", "hostPath": {"path": "/"}}]),
        "allowPrivilegeEscalation": lambda s: s["containers"][0]["securityContext"].pop(
            "allowPrivilegeEscalation"
        ),
        "drop ALL": lambda s: s["containers"][0]["securityContext"].update(capabilities={}),
        "runAsNonRoot": lambda s: s["securityContext"].pop("runAsNonRoot"),
        "seccomp": lambda s: s["securityContext"].pop("seccompProfile"),
        "writable": lambda s: s["containers"][0]["securityContext"].pop("readOnlyRootFilesystem"),
        "UID 0": lambda s: s["securityContext"].update(runAsUser=0),
    }
    for name, breaks in breakages.items():
        spec = copy.deepcopy(good)
        breaks(spec)
        assert restricted_violations(spec), name


def test_operator_pod_has_writable_tmp_and_non_root_uid(render: Render) -> None:
    deployment = next(d for d in render() if d["kind"] == "Deployment")
    spec = deployment["spec"]["template"]["spec"]
    assert {"name": "tmp", "emptyDir": {"sizeLimit": "64Mi"}} in spec["volumes"]
    (container,) = spec["containers"]
    assert {"name": "tmp", "mountPath": "/tmp"} in container["volumeMounts"]
    assert spec["securityContext"]["runAsUser"] == 65532
