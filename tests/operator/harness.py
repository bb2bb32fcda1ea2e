"""What operator tests do to the cluster and read from the appliance, in a user's vocabulary."""

from __future__ import annotations

import datetime as dt
import os
import ssl
import subprocess
import sys
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import IO, Any, TypeVar

import httpx
from kubernetes import client
from kubernetes.client.rest import ApiException

from certsync_devkit import k8s_builders as build
from certsync_devkit.k8s_thread import EmulatorThread, wait_for
from certsync_devkit.pki import Issued, TestPKI
from netscaler_certsync.k8s import keys
from netscaler_certsync.simulator import SimulatorThread

T = TypeVar("T")
G, V = keys.GROUP, keys.VERSION
NS = "default"


def condition(obj: Mapping[str, Any], type_: str) -> Mapping[str, Any]:
    return next((c for c in (obj.get("status") or {}).get("conditions") or () if c["type"] == type_), {})


@dataclass
class Cluster:
    api: client.ApiClient
    emulator: EmulatorThread
    simulator: SimulatorThread
    pki: TestPKI

    @property
    def core(self) -> client.CoreV1Api:
        return client.CoreV1Api(self.api)

    @property
    def crs(self) -> client.CustomObjectsApi:
        return client.CustomObjectsApi(self.api)

    # ------------------------------------------------------------------ Kubernetes side
    def connection(
        self,
        name: str = "adc",
        *,
        user: tuple[str, str] = ("nsroot", "nsroot"),
        labels: Mapping[str, str] | None = None,
        **spec: Any,
    ) -> None:
        self.core.create_namespaced_secret(NS, build.credentials_secret(f"{name}-login", *user))
        self.core.create_namespaced_secret(
            NS, build.opaque_secret(f"{name}-ca", {"ca.crt": self.simulator.ca_pem})
        )
        body = {
            "endpoint": self.simulator.url,
            "credentialsSecretRef": {"name": f"{name}-login"},
            "tls": {"caSecretRef": {"name": f"{name}-ca"}},
            **spec,
        }
        connection = build.netscaler_connection(name, body)
        if labels:
            connection["metadata"]["labels"] = dict(labels)
        self.crs.create_namespaced_custom_object(G, V, NS, keys.CONNECTION_PLURAL, connection)

    def tls_secret(self, name: str, leaf: Issued | None = None, *, chain: bool = True, **kw: Any) -> Issued:
        leaf = leaf or self.pki.leaf(f"{name}.example.com")
        crt = leaf.cert_pem + (self.pki.intermediate.cert_pem if chain else b"")
        self.core.create_namespaced_secret(NS, build.tls_secret(name, crt, leaf.key_pem, **kw))
        return leaf

    def renew(self, name: str, leaf: Issued | None = None, *, chain: bool = True) -> Issued:
        leaf = leaf or self.pki.leaf(f"{name}.example.com")
        crt = leaf.cert_pem + (self.pki.intermediate.cert_pem if chain else b"")
        self.core.patch_namespaced_secret(
            name, NS, {"data": {"tls.crt": build.b64(crt), "tls.key": build.b64(leaf.key_pem)}}
        )
        return leaf

    def sync(self, name: str, **spec: Any) -> None:
        body = {"connectionRefs": [{"name": "adc"}], **spec}
        self.crs.create_namespaced_custom_object(
            G, V, NS, keys.SYNC_PLURAL, build.certificate_sync(name, body)
        )

    def patch_sync(self, name: str, body: Mapping[str, Any]) -> None:
        self.crs.patch_namespaced_custom_object(G, V, NS, keys.SYNC_PLURAL, name, body)

    def request_sync(self, *names: str, value: str, timeout: float = 15) -> None:
        """Ask for a manual sync of each (`sync-requested-at`) and wait until each has handled it."""
        for name in names:
            self.patch_sync(name, {"metadata": {"annotations": {keys.SYNC_REQUESTED_AT: value}}})
        for name in names:
            self.wait_sync(
                name,
                lambda o: o["status"].get("lastHandledSyncRequest") == value,
                f"{name} handled the sync request {value}",
                timeout,
            )

    def get(self, plural: str, name: str) -> dict[str, Any] | None:
        try:
            return self.crs.get_namespaced_custom_object(G, V, NS, plural, name)
        except ApiException as exc:
            if exc.status == 404:
                return None
            raise

    def get_sync(self, name: str) -> dict[str, Any]:
        obj = self.get(keys.SYNC_PLURAL, name)
        assert obj is not None, f"CertificateSync {name} is gone"
        return obj

    def wait_sync(
        self, name: str, pred: Callable[[dict[str, Any]], Any], what: str, timeout: float = 15
    ) -> dict[str, Any]:
        def check() -> dict[str, Any] | None:
            obj = self.get_sync(name)
            return obj if pred(obj) else None

        try:
            return wait_for(check, timeout=timeout, what=what)
        except AssertionError as exc:
            raise AssertionError(f"{exc}; last status: {self.get_sync(name).get('status')}") from None

    def wait_ready(self, name: str, timeout: float = 15) -> dict[str, Any]:
        def ready(obj: dict[str, Any]) -> bool:
            gen = obj["metadata"].get("generation")
            return (
                condition(obj, "Ready").get("status") == "True"
                and obj["status"].get("observedGeneration") == gen
            )

        return self.wait_sync(name, ready, f"CertificateSync {name} Ready=True", timeout)

    def wait_reason(self, name: str, reason: str, timeout: float = 15) -> dict[str, Any]:
        return self.wait_sync(
            name, lambda o: condition(o, "Ready").get("reason") == reason, f"{name} reason {reason}", timeout
        )

    def events(self, name: str) -> list[client.CoreV1Event]:
        return [e for e in self.core.list_namespaced_event(NS).items if e.involved_object.name == name]

    def wait_event(self, name: str, reason: str, timeout: float = 10) -> client.CoreV1Event:
        def find() -> client.CoreV1Event | None:
            return next((e for e in self.events(name) if e.reason == reason), None)

        return wait_for(find, timeout=timeout, what=f"Event {reason} on {name}")

    # ------------------------------------------------------------------ appliance side
    def appliance(self) -> dict[str, Any]:
        """The simulator's state, read over its admin endpoint (thread-safe, like a user would)."""
        ctx = ssl.create_default_context(cadata=self.simulator.ca_pem.decode())
        reply = httpx.get(f"{self.simulator.url}/_simulator/state", verify=ctx, timeout=10)
        reply.raise_for_status()
        return reply.json()

    def certkey(self, name: str) -> dict[str, Any] | None:
        return self.appliance()["certkeys"].get(name)

    def bound(self, vserver: str) -> list[tuple[str, bool]]:
        return sorted(
            (b["certkey"], b["snicert"]) for b in self.appliance()["bindings"] if b["vserver"] == vserver
        )

    def invariants(self) -> list[str]:
        ctx = ssl.create_default_context(cadata=self.simulator.ca_pem.decode())
        return httpx.get(f"{self.simulator.url}/_simulator/invariants", verify=ctx, timeout=10).json()[
            "problems"
        ]


def start_operator_process(
    cluster: Cluster, tmp_path: Path, log: IO[str], *args: str
) -> subprocess.Popen[bytes]:
    """`netscaler-certsync run ARGS` as its own process against the emulated cluster (stop it with
    its handle: SIGTERM to shut down, SIGKILL to crash it)."""
    kubeconfig = cluster.emulator.write_kubeconfig(tmp_path / "kubeconfig")
    return subprocess.Popen(
        [sys.executable, "-m", "netscaler_certsync", "run", *args],
        env={**os.environ, "KUBECONFIG": str(kubeconfig)},
        stdout=log,
        stderr=subprocess.STDOUT,
    )


def now_utc() -> dt.datetime:
    return dt.datetime.now(dt.UTC)


def nitro(simulator: SimulatorThread, coro_fn: Callable[[Any], Any]) -> Any:
    """Run `coro_fn(client)` with a NITRO session of our own, like an admin at the appliance would."""
    import asyncio

    from netscaler_certsync.nitro import Credentials, NitroClient, TLSConfig

    async def go() -> Any:
        async with NitroClient(
            simulator.url, Credentials("nsroot", "nsroot"), tls=TLSConfig(ca_pem=simulator.ca_pem)
        ) as c:
            return await coro_fn(c)

    return asyncio.run(go())


def admin(simulator: SimulatorThread, method: str, path: str, body: Any = None) -> Any:
    """Call the simulator's admin endpoint (faults, session expiry) from the test's thread."""
    ctx = ssl.create_default_context(cadata=simulator.ca_pem.decode())
    reply = httpx.request(method, f"{simulator.url}/_simulator/{path}", json=body, verify=ctx, timeout=10)
    reply.raise_for_status()
    return reply.json()
