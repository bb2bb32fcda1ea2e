"""A small client for this tier: the Python kubernetes client and kubectl, aimed at one server.

Writes use strict field validation, so an unknown field is an error here as it is for
`kubectl apply` users, instead of being silently dropped.
"""

from __future__ import annotations

import subprocess
from typing import Any

from kubernetes import client, config
from kubernetes.client.rest import ApiException

from tests.apiserver.apiserver_harness import RealAPIServer

GROUP = "netscaler.certsync.dev"
VERSION = "v1alpha1"
PLURALS = {"NetScalerConnection": "netscalerconnections", "CertificateSync": "certificatesyncs"}
CRD_NAMES = [f"{plural}.{GROUP}" for plural in PLURALS.values()]


class Kube:
    """The few client calls these tests need, against one server, with strict field validation."""

    def __init__(self, server: RealAPIServer, kubectl: str) -> None:
        self.server = server
        self.kubectl_path = kubectl
        self.api_client = config.new_client_from_config(config_file=str(server.kubeconfig))
        self.custom = client.CustomObjectsApi(self.api_client)
        self.crds = client.ApiextensionsV1Api(self.api_client)

    def kubectl(
        self, *args: str, check: bool = True, stdin: str | None = None, env: dict[str, str] | None = None
    ) -> subprocess.CompletedProcess[str]:
        """Run kubectl against this server (or what `env`, e.g. another KUBECONFIG, points at)."""
        proc = subprocess.run(
            [self.kubectl_path, *args],
            input=stdin,
            capture_output=True,
            text=True,
            env={**self.server.env, **(env or {})},
            timeout=60,
            check=False,
        )
        if check and proc.returncode != 0:
            raise AssertionError(f"kubectl {' '.join(args)} failed ({proc.returncode}):\n{proc.stderr}")
        return proc

    def create(self, body: dict[str, Any], namespace: str) -> dict[str, Any]:
        plural = PLURALS[body["kind"]]
        return self.custom.create_namespaced_custom_object(
            GROUP, VERSION, namespace, plural, body, field_validation="Strict"
        )

    def get(self, kind: str, name: str, namespace: str) -> dict[str, Any]:
        return self.custom.get_namespaced_custom_object(GROUP, VERSION, namespace, PLURALS[kind], name)

    def patch(self, kind: str, name: str, namespace: str, patch: dict[str, Any]) -> dict[str, Any]:
        return self.custom.patch_namespaced_custom_object(
            GROUP, VERSION, namespace, PLURALS[kind], name, patch, field_validation="Strict"
        )

    def patch_status(self, kind: str, name: str, namespace: str, patch: dict[str, Any]) -> dict[str, Any]:
        return self.custom.patch_namespaced_custom_object_status(
            GROUP, VERSION, namespace, PLURALS[kind], name, patch
        )

    def replace(self, body: dict[str, Any], namespace: str) -> dict[str, Any]:
        return self.custom.replace_namespaced_custom_object(
            GROUP, VERSION, namespace, PLURALS[body["kind"]], body["metadata"]["name"], body
        )

    @staticmethod
    def rejection(call: Any, *args: Any, **kwargs: Any) -> ApiException:
        """Run a call that must be refused; return the refusal (its .status and .body)."""
        try:
            result = call(*args, **kwargs)
        except ApiException as exc:
            return exc
        raise AssertionError(f"the server accepted what it should refuse; it stored:\n{result}")


def connection(name: str = "adc", **spec: Any) -> dict[str, Any]:
    """The smallest valid NetScalerConnection, with `spec` fields added or replaced (None removes)."""
    body: dict[str, Any] = {"endpoint": "https://10.0.0.10", "credentialsSecretRef": {"name": "adc-login"}}
    return _object("NetScalerConnection", name, body, spec)


def certificate_sync(name: str = "web", **spec: Any) -> dict[str, Any]:
    """The smallest valid CertificateSync, with `spec` fields added or replaced (None removes)."""
    body: dict[str, Any] = {"connectionRefs": [{"name": "adc"}], "certificates": [{"secretName": "web-tls"}]}
    return _object("CertificateSync", name, body, spec)


def _object(kind: str, name: str, spec: dict[str, Any], changes: dict[str, Any]) -> dict[str, Any]:
    for key, value in changes.items():
        if value is None:
            spec.pop(key, None)
        else:
            spec[key] = value
    return {"apiVersion": f"{GROUP}/{VERSION}", "kind": kind, "metadata": {"name": name}, "spec": spec}
