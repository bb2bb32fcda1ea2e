"""Two clusters, one appliance: two `netscaler-certsync run` processes, each against its own
emulated Kubernetes API (so each has its own kube-system UID, the default identity, no flag), and
one simulator where each cluster logs in as its own NetScaler user.

Each scenario asserts from the simulator's request log that no write of one cluster addressed an
object the other created, and that both clusters' statuses say what the appliance shows.
"""

from __future__ import annotations

import signal
import ssl
import subprocess
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest
from kubernetes import client, config

from certsync_devkit.k8s_thread import EmulatorThread, wait_for
from certsync_devkit.pki import TestPKI
from netscaler_certsync.domain import cluster_tag, reasons
from netscaler_certsync.simulator import RestrictedUser, SimulatorConfig, SimulatorThread
from tests.operator.harness import Cluster, start_operator_process

USERS = (RestrictedUser("cluster-a", "pw-a", ".*"), RestrictedUser("cluster-b", "pw-b", ".*"))
SNI = [{"vserver": "cs_sni", "sni": True}]


@dataclass
class Side:
    cluster: Cluster
    user: str
    proc: subprocess.Popen[bytes]
    log: Path

    @property
    def uid(self) -> str:
        ns = client.CoreV1Api(self.cluster.api).read_namespace("kube-system")
        return str(ns.metadata.uid)


@pytest.fixture()
def shared_simulator() -> Iterator[SimulatorThread]:
    cfg = SimulatorConfig(
        ssl_vservers=("vs_https", "cs_sni:cs"), sni_vservers=("cs_sni",), restricted_users=USERS
    )
    sim = SimulatorThread(cfg).start()
    yield sim
    sim.stop()


@pytest.fixture()
def sides(shared_simulator: SimulatorThread, tmp_path: Path) -> Iterator[tuple[Side, Side]]:
    pki = TestPKI.create("Two Clusters")  # one issuer for both: the intermediate is shared
    started: list[tuple[Side, EmulatorThread, Any]] = []
    try:
        for user in ("cluster-a", "cluster-b"):
            emu = EmulatorThread().start()
            home = tmp_path / user
            home.mkdir()
            api = config.new_client_from_config(config_file=emu.write_kubeconfig(home / "kubeconfig"))
            c = Cluster(api, emu, shared_simulator, pki)
            log = home / "operator.log"
            with log.open("w") as out:
                proc = start_operator_process(c, home, out, "--liveness", "", "--metrics-port", "0")
            started.append((Side(c, user, proc, log), emu, api))
            c.connection(user=(user, f"pw-{user[-1]}"))
        a, b = (s for s, _, _ in started)
        yield a, b
    finally:
        for side, emu, api in started:
            side.proc.send_signal(signal.SIGTERM)
            code = side.proc.wait(timeout=30)
            api.close()
            emu.stop()
            assert code == 0, side.log.read_text()[-2000:]
    for side, _, _ in started:
        text = side.log.read_text()
        assert "Traceback" not in text, text[-3000:]


def requests(sim: SimulatorThread) -> list[dict[str, Any]]:
    ctx = ssl.create_default_context(cadata=sim.ca_pem.decode())
    return list(httpx.get(f"{sim.url}/_simulator/requests", verify=ctx, timeout=10).json())


def _creates(r: dict[str, Any]) -> bool:
    """A successful add of a certkey or upload of a file."""
    return (
        r["method"] == "POST"
        and not r["action"]
        and r["status"] < 300
        and r["resource"]
        in (
            "sslcertkey",
            "systemfile",
        )
    )


def assert_apart(sim: SimulatorThread) -> None:
    """No write of one cluster addressed an object the other had created and not yet removed (a
    shared CA certkey the other removed may be added again under its fingerprint name)."""
    live: dict[str, str] = {}  # object -> the user who created it, while it exists
    crossed: list[str] = []
    for r in requests(sim):
        for t in r["targets"]:
            owner = live.get(t)
            if r["is_write"] and owner is not None and owner != r["user"]:
                crossed.append(f"{r['user']}: {r['method']} {r['resource']} {r['action'] or ''} {t}")
            if _creates(r):
                live[t] = r["user"]
            elif r["method"] == "DELETE" and r["status"] < 300 and owner == r["user"]:
                del live[t]
    assert crossed == [], f"writes to objects of the other cluster: {crossed}"


def assert_status_is_the_appliance(side: Side, sync: str) -> None:
    """Every certificate the status calls Synced is on the appliance with that serial and binding."""
    obj = side.cluster.get_sync(sync)
    state = side.cluster.appliance()
    for entry in obj["status"].get("certificates", []):
        if entry.get("state") != "Synced":
            continue
        ck = state["certkeys"].get(entry["certKeyName"])
        assert ck is not None, entry
        assert ck["serial"].replace(":", "").upper().lstrip("0") == entry["serial"].upper().lstrip("0")
        for b in entry.get("boundVServers", []):
            assert {
                "vserver": b["vserver"],
                "certkey": entry["certKeyName"],
                "snicert": b.get("sni", False),
            } in [{k: x[k] for k in ("vserver", "certkey", "snicert")} for x in state["bindings"]]


def wait_identity(side: Side) -> dict[str, Any]:
    def shown() -> dict[str, Any] | None:
        obj = side.cluster.get("netscalerconnections", "adc") or {}
        return (obj.get("status") or {}).get("clusterIdentity")

    return wait_for(shown, timeout=30, what="the cluster identity in the connection status")


def test_same_manifests_then_b_deletes_its_sync(
    sides: tuple[Side, Side], shared_simulator: SimulatorThread
) -> None:
    """Defect 1 of issue 13 (fleet): both clusters apply `shop` with their own certificate."""
    a, b = sides
    ida, idb = wait_identity(a), wait_identity(b)
    assert (
        ida == {"id": a.uid, "tag": cluster_tag(a.uid), "source": "kube-system"} and ida["tag"] != idb["tag"]
    )
    assert f"cluster identity {a.uid}" in a.log.read_text()
    leaf_a = a.cluster.tls_secret("shop")
    a.cluster.sync("shop", certificates=[{"secretName": "shop"}], bindings=SNI)
    a.cluster.wait_ready("shop", timeout=30)
    b.cluster.tls_secret("shop")
    b.cluster.sync("shop", certificates=[{"secretName": "shop"}], bindings=SNI)
    obj = b.cluster.wait_reason("shop", reasons.NameCollision, timeout=30)
    (entry,) = obj["status"]["certificates"]
    assert "another cluster" in entry["message"] and ida["tag"] in entry["message"]
    assert a.cluster.certkey("default-shop")["serial"].replace(":", "").upper().lstrip(
        "0"
    ) == leaf_a.serial_hex.upper().lstrip("0")
    assert a.cluster.bound("cs_sni") == [("default-shop", True)]

    b.cluster.crs.delete_namespaced_custom_object(
        "netscaler.certsync.dev", "v1alpha1", "default", "certificatesyncs", "shop"
    )
    wait_for(lambda: b.cluster.get("certificatesyncs", "shop") is None, timeout=30, what="B's sync deleted")
    assert a.cluster.certkey("default-shop") is not None and a.cluster.bound("cs_sni") == [
        ("default-shop", True)
    ]
    assert_apart(shared_simulator)
    assert_status_is_the_appliance(a, "shop")
    assert a.cluster.invariants() == []


def test_same_sync_name_with_another_secret_and_concurrent_renewals(
    sides: tuple[Side, Side], shared_simulator: SimulatorThread
) -> None:
    """Defect 2 of issue 13: B's `shop` selects another Secret and takes A's certkey for its own
    leftover. Then both renew at once, sharing the intermediate's CA certkey."""
    a, b = sides
    a.cluster.tls_secret("shop")
    a.cluster.sync("shop", certificates=[{"secretName": "shop"}], bindings=SNI)
    a.cluster.wait_ready("shop", timeout=30)
    b.cluster.tls_secret("other")
    b.cluster.sync("shop", certificates=[{"secretName": "other"}])
    b.cluster.wait_ready("shop", timeout=30)
    assert a.cluster.certkey("default-shop") is not None and a.cluster.bound("cs_sni") == [
        ("default-shop", True)
    ]
    assert a.cluster.certkey("default-other") is not None

    new_a, new_b = a.cluster.renew("shop"), b.cluster.renew("other")
    for side, name, leaf in ((a, "default-shop", new_a), (b, "default-other", new_b)):
        wait_for(
            lambda side=side, name=name, leaf=leaf: (
                (side.cluster.certkey(name) or {}).get("serial", "").replace(":", "").upper().lstrip("0")
                == leaf.serial_hex.upper().lstrip("0")
            ),
            timeout=30,
            what=f"{name} renewed",
        )
    # The appliance shows the renewal before the status patch lands; Ready alone may still be the
    # status of before the renewal, so wait for the status to report the new serial.
    for side, leaf in ((a, new_a), (b, new_b)):
        wait_for(
            lambda side=side, leaf=leaf: any(
                e.get("state") == "Synced"
                and e.get("serial", "").upper().lstrip("0") == leaf.serial_hex.upper().lstrip("0")
                for e in (side.cluster.get_sync("shop").get("status") or {}).get("certificates", [])
            ),
            timeout=30,
            what="the renewed serial in the status",
        )
    a.cluster.wait_ready("shop", timeout=30)
    b.cluster.wait_ready("shop", timeout=30)
    assert_apart(shared_simulator)
    assert_status_is_the_appliance(a, "shop")
    assert_status_is_the_appliance(b, "shop")
    assert a.cluster.invariants() == []


def test_blue_green_the_new_cluster_takes_the_default_only_after_the_old_one_let_go(
    sides: tuple[Side, Side], shared_simulator: SimulatorThread
) -> None:
    """Blue/green: cluster B's sync asks for vs_https's default under another name while cluster
    A's still holds it. Binding it would swap A's certificate out (NetScaler keeps one default per
    key type), so B waits with BindingConflict; once A's sync is deleted, a manual sync binds B's."""
    a, b = sides
    ida = wait_identity(a)
    a.cluster.tls_secret("shop")
    a.cluster.sync("shop", certificates=[{"secretName": "shop"}], bindings=[{"vserver": "vs_https"}])
    a.cluster.wait_ready("shop", timeout=30)
    b.cluster.tls_secret("shop")
    b.cluster.sync(
        "shop-green",
        certificates=[{"secretName": "shop", "certKeyName": "shop-green"}],
        bindings=[{"vserver": "vs_https"}],
    )
    obj = b.cluster.wait_reason("shop-green", reasons.BindingConflict, timeout=30)
    message = obj["status"]["certificates"][0]["message"]
    assert "default-shop" in message and ida["tag"] in message
    assert a.cluster.bound("vs_https") == [("default-shop", False)]
    assert b.cluster.certkey("shop-green") is None  # nothing written for it

    a.cluster.crs.delete_namespaced_custom_object(
        "netscaler.certsync.dev", "v1alpha1", "default", "certificatesyncs", "shop"
    )
    wait_for(lambda: a.cluster.get("certificatesyncs", "shop") is None, timeout=30, what="A's sync deleted")
    b.cluster.crs.patch_namespaced_custom_object(
        "netscaler.certsync.dev", "v1alpha1", "default", "certificatesyncs", "shop-green",
        {"metadata": {"annotations": {"netscaler.certsync.dev/sync-requested-at": "cutover"}}},
    )  # fmt: skip
    b.cluster.wait_ready("shop-green", timeout=30)
    assert b.cluster.bound("vs_https") == [("shop-green", False)]
    assert_apart(shared_simulator)
    assert_status_is_the_appliance(b, "shop-green")
    assert b.cluster.invariants() == []
