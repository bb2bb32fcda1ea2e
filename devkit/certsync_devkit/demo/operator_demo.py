"""The operator demo: a certificate deployed, renewed in place and removed, end to end.

Kubernetes is the embedded emulated API by default (nothing to install), or the current kube
context with `--real-cluster` (CRDs are applied there, everything else goes into a throw-away
namespace that is deleted at the end; the demo first checks, with a probe object, that no other
netscaler-certsync operator reconciles that cluster, and refuses to run if one does).
The appliance is the bundled NITRO simulator, reached over verified HTTPS by a user restricted
to the command policy of docs/netscaler-setup.md.
The operator itself runs in this process.
"""

from __future__ import annotations

import base64
import contextlib
import os
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import yaml
from kubernetes import client, config
from kubernetes.client.rest import ApiException

from certsync_devkit import k8s_builders as build
from certsync_devkit.demo.columns import table
from certsync_devkit.demo.show import appliance_state
from certsync_devkit.k8s_thread import EmulatorThread
from certsync_devkit.operator_thread import OperatorThread
from certsync_devkit.pki import TestPKI
from certsync_devkit.policy import command_policy
from netscaler_certsync.k8s import ClusterAccess, keys
from netscaler_certsync.reconcile.context import OperatorOptions
from netscaler_certsync.simulator import RestrictedUser, SimulatorConfig, SimulatorThread

ROOT = Path(__file__).resolve().parents[3]
EXAMPLE = ROOT / "examples" / "simulator" / "sync.yaml"
G, V = keys.GROUP, keys.VERSION


def say(text: str = "") -> None:
    print(text, flush=True)


def wait(what: str, check: Callable[[], Any], timeout: float = 30) -> Any:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        result = check()
        if result:
            return result
        time.sleep(0.05)
    raise TimeoutError(f"timed out waiting for {what}")


@contextlib.contextmanager
def kubernetes(real_cluster: bool, workdir: Path) -> Iterator[tuple[client.ApiClient, ClusterAccess, str]]:
    """(API client, the operator's access, namespace) for the emulated API or the current context."""
    if not real_cluster:
        with EmulatorThread() as emulator:
            kubeconfig = emulator.write_kubeconfig(workdir / "kubeconfig")
            say(f"   Kubernetes: the embedded emulated API at {emulator.url} (pass --real-cluster for yours)")
            api = config.new_client_from_config(config_file=str(kubeconfig))
            yield api, ClusterAccess.from_kubeconfig(kubeconfig), "default"
        return
    api = config.new_client_from_config(config_file=os.environ.get("KUBECONFIG"))  # read now, not at import
    access = ClusterAccess.from_kubeconfig()
    say(f"   Kubernetes: your current kube context at {access.server}")
    ext = client.ApiextensionsV1Api(api)
    for path in sorted((ROOT / "crds").glob("*.yaml")):
        crd = yaml.safe_load(path.read_text())
        with contextlib.suppress(ApiException):
            ext.create_custom_resource_definition(crd)
    namespace = f"certsync-demo-{int(time.time()) % 100000}"
    client.CoreV1Api(api).create_namespace({"metadata": {"name": namespace}})
    try:
        say(f"   checking for another netscaler-certsync operator in that cluster ({PROBE_SECONDS:.0f} s)")
        other = another_operator(api, namespace)
        if other is not None:
            raise OtherOperator(
                f"another netscaler-certsync operator is running in this cluster: within seconds it {other} "
                f"on a probe object in {namespace}. Both would reconcile the demo and its results "
                "would not be this operator's: stop that operator (e.g. scale its Deployment to 0), "
                "or run `make demo` without --real-cluster"
            )
        yield api, access, namespace
    finally:
        client.CoreV1Api(api).delete_namespace(namespace)


class OtherOperator(RuntimeError):
    """Another netscaler-certsync operator reconciles this cluster: the demo's results would be
    its results too (both reconcile the demo namespace), so the demo does not run."""


#: How long the probe waits for another operator to touch it; kopf reacts in well under a second.
PROBE_SECONDS = 5.0


def another_operator(api: client.ApiClient, namespace: str, timeout: float = PROBE_SECONDS) -> str | None:
    """Create a probe NetScalerConnection before the demo's operator starts: anything that adds a
    finalizer, kopf state or status to it within `timeout` is another operator; what it did."""
    crs = client.CustomObjectsApi(api)
    probe = build.netscaler_connection(
        "certsync-demo-probe",
        {"endpoint": "https://127.0.0.1:9", "credentialsSecretRef": {"name": "none"}},
        namespace=namespace,
    )
    crs.create_namespaced_custom_object(G, V, namespace, keys.CONNECTION_PLURAL, probe)

    def touched() -> str | None:
        obj = crs.get_namespaced_custom_object(G, V, namespace, keys.CONNECTION_PLURAL, "certsync-demo-probe")
        meta = obj.get("metadata") or {}
        if meta.get("finalizers"):
            return f"added the finalizer {meta['finalizers'][0]}"
        if any(k.startswith(keys.STATE_PREFIX) for k in meta.get("annotations") or {}):
            return "stored kopf state on it"
        if obj.get("status"):
            return "wrote its status"
        return None

    deadline = time.monotonic() + timeout
    found = touched()
    while found is None and time.monotonic() < deadline:
        time.sleep(0.1)
        found = touched()
    with contextlib.suppress(ApiException):
        crs.delete_namespaced_custom_object(G, V, namespace, keys.CONNECTION_PLURAL, "certsync-demo-probe")
        crs.patch_namespaced_custom_object(
            G, V, namespace, keys.CONNECTION_PLURAL, "certsync-demo-probe", {"metadata": {"finalizers": []}}
        )
    return found


def example_objects(sim: SimulatorThread, namespace: str) -> list[dict[str, Any]]:
    """examples/simulator/sync.yaml, pointed at this process's simulator over verified HTTPS."""
    objects = [o for o in yaml.safe_load_all(EXAMPLE.read_text()) if o]
    for obj in objects:
        obj["metadata"]["namespace"] = namespace
        if obj["kind"] == "NetScalerConnection":
            obj["spec"].pop("allowInsecureHTTP", None)
            obj["spec"]["endpoint"] = sim.url
            obj["spec"]["tls"] = {"caSecretRef": {"name": "simulator-ca"}}
    ca = build.opaque_secret("simulator-ca", {"ca.crt": sim.ca_pem}, namespace=namespace)
    return [ca, *objects]


def apply(api: client.ApiClient, obj: dict[str, Any]) -> None:
    if obj["kind"] == "Secret":
        client.CoreV1Api(api).create_namespaced_secret(obj["metadata"]["namespace"], obj)
    else:
        plural = {"NetScalerConnection": keys.CONNECTION_PLURAL, "CertificateSync": keys.SYNC_PLURAL}[
            obj["kind"]
        ]
        client.CustomObjectsApi(api).create_namespaced_custom_object(
            G, V, obj["metadata"]["namespace"], plural, obj
        )


def show_resources(api: client.ApiClient, namespace: str) -> None:
    crs = client.CustomObjectsApi(api)
    for kind, plural in (
        ("NetScalerConnection", keys.CONNECTION_PLURAL),
        ("CertificateSync", keys.SYNC_PLURAL),
    ):
        items = crs.list_namespaced_custom_object(G, V, namespace, plural)["items"]
        say(f"$ kubectl get {plural}")
        say(table(kind, items))
    say()


def ready(obj: dict[str, Any] | None) -> bool:
    conditions = (obj or {}).get("status", {}).get("conditions") or []
    return any(c["type"] == "Ready" and c["status"] == "True" for c in conditions)


def operator_demo(real_cluster: bool = False, workdir: Path | None = None) -> int:
    say("== netscaler-certsync demo: the operator syncing a certificate to a NetScaler")
    policy = command_policy()
    sim_config = SimulatorConfig(restricted_users=(RestrictedUser("certsync", "certsync-demo", policy),))
    workdir = workdir or Path(__import__("tempfile").mkdtemp(prefix="certsync-demo-"))
    try:
        return _run(sim_config, real_cluster, workdir)
    except OtherOperator as exc:
        say(f"\nnot run: {exc}")
        return 2


def _run(sim_config: SimulatorConfig, real_cluster: bool, workdir: Path) -> int:
    with SimulatorThread(sim_config) as sim, kubernetes(real_cluster, workdir) as (api, access, ns):
        say(f"   appliance: the bundled NITRO simulator at {sim.url} (HTTPS, verified with its CA)")
        say("   login: user 'certsync', limited to the command policy in docs/netscaler-setup.md")
        options = OperatorOptions(health_check_tick_seconds=5, drift_check_tick_seconds=5)
        with OperatorThread(access, options, namespaces=[ns] if real_cluster else ()):
            core, crs = client.CoreV1Api(api), client.CustomObjectsApi(api)
            pki = TestPKI.create("Demo")
            leaf = pki.leaf("demo.example.com", sans=["demo.example.com"])
            say("\n1. apply examples/simulator/sync.yaml and the Secret demo-tls (leaf + intermediate)")
            for obj in example_objects(sim, ns):
                apply(api, obj)
            crt = leaf.cert_pem + pki.intermediate.cert_pem
            core.create_namespaced_secret(ns, build.tls_secret("demo-tls", crt, leaf.key_pem, namespace=ns))
            wait(
                "the sync to be Ready",
                lambda: ready(crs.get_namespaced_custom_object(G, V, ns, keys.SYNC_PLURAL, "demo")),
            )
            show_resources(api, ns)
            say(appliance_state(sim.state.dump()))

            renewed = pki.leaf("demo.example.com", sans=["demo.example.com"])
            say(f"\n2. renew: the Secret gets a new certificate (serial {renewed.serial_hex[:16]}…)")
            started = time.monotonic()
            patch = {
                "data": {
                    "tls.crt": base64.b64encode(renewed.cert_pem + pki.intermediate.cert_pem).decode(),
                    "tls.key": base64.b64encode(renewed.key_pem).decode(),
                }
            }
            core.patch_namespaced_secret("demo-tls", ns, patch)
            wait(
                "the new serial on the appliance",
                lambda: (
                    (sim.state.dump()["certkeys"].get(f"{ns}-demo-tls") or {}).get("serial")
                    == renewed.serial_hex
                ),
            )
            took = time.monotonic() - started
            say(f"   on the appliance {took:.2f} s later: same certkey, same binding, new serial")
            wait(
                "status to show it",
                lambda: ready(crs.get_namespaced_custom_object(G, V, ns, keys.SYNC_PLURAL, "demo")),
            )
            show_resources(api, ns)
            say(appliance_state(sim.state.dump()))

            say("\n3. delete the CertificateSync (deletionPolicy Delete): what it deployed is removed")
            crs.delete_namespaced_custom_object(G, V, ns, keys.SYNC_PLURAL, "demo")
            wait(
                "the finalizer to finish",
                lambda: not crs.list_namespaced_custom_object(G, V, ns, keys.SYNC_PLURAL)["items"],
            )
            say(appliance_state(sim.state.dump()))
            problems = sim.check_invariants()
            say("\n   appliance invariants: " + ("consistent" if not problems else "; ".join(problems)))
            return 1 if problems else 0
