"""`netscaler-certsync plan` as a user runs it (a subprocess): manifests in, the operator's own plan
out, exit 2 on changes and 0 when none, and never a write (the simulator's request log)."""

from __future__ import annotations

import asyncio
import base64
import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest
import yaml

from certsync_devkit import k8s_builders as build
from netscaler_certsync.domain import ca_certkey_name, ca_file_name, cluster_tag, parse_material
from netscaler_certsync.engine import Records, SyncOptions, sync_appliance
from netscaler_certsync.engine.appliances import Appliances
from netscaler_certsync.engine.model import BindingSpec, DesiredCertificate
from netscaler_certsync.nitro import Credentials, NitroClient, TLSConfig
from netscaler_certsync.simulator import SimulatorConfig, SimulatorThread
from netscaler_certsync.simulator.pki import make_ca, make_leaf

CLUSTER = "cluster-a"
TAG = cluster_tag(CLUSTER)  # in the names of the files this cluster writes


@pytest.fixture()
def appliance() -> Iterator[SimulatorThread]:
    with SimulatorThread(SimulatorConfig(ssl_vservers=("vs_https",))) as sim:
        yield sim


def manifests(sim: SimulatorThread, where: Path) -> Path:
    ca = make_ca("Plan Root")
    leaf = make_leaf(ca, "www.example.com")
    objects = [
        build.credentials_secret("adc-login", "nsroot", "nsroot"),
        build.opaque_secret("adc-ca", {"ca.crt": sim.ca_pem}),
        build.netscaler_connection("adc", {
            "endpoint": sim.url, "credentialsSecretRef": {"name": "adc-login"},
            "tls": {"caSecretRef": {"name": "adc-ca"}},
        }),
        build.tls_secret("www", leaf.cert_pem, leaf.key_pem),
        build.certificate_sync("www", {
            "connectionRefs": [{"name": "adc"}], "certificates": [{"secretName": "www"}],
            "bindings": [{"vserver": "vs_https"}],
        }),
    ]  # fmt: skip
    where.mkdir(parents=True, exist_ok=True)
    (where / "connection.yaml").write_text(yaml.safe_dump_all(objects[:3]))
    (where / "sync.yaml").write_text(yaml.safe_dump_all(objects[3:]))
    return where


def cli(*argv: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "netscaler_certsync", *argv],
        capture_output=True, text=True, timeout=60, env=dict(os.environ), check=False,
    )  # fmt: skip


def writes(sim: SimulatorThread) -> list[tuple[str, str]]:
    return [
        (r.method, r.resource)
        for r in sim.requests
        if r.method != "GET" and r.resource not in ("login", "logout")
    ]


def test_new_sync_plans_additions_exits_2_and_writes_nothing(
    appliance: SimulatorThread, tmp_path: Path
) -> None:
    before = appliance.state.dump()
    appliance.clear_requests()
    done = cli("plan", "-f", str(manifests(appliance, tmp_path / "m")), "--cluster-id", CLUSTER)
    assert done.returncode == 2, done.stderr
    lines = done.stdout.splitlines()
    assert lines[0] == f"CertificateSync default/www -> adc ({appliance.url}):"
    assert any(line.startswith("  + ") and "default-www" in line and "add" in line for line in lines), lines
    assert any(line.startswith("  + ") and "vs_https" in line for line in lines), lines
    assert (
        lines[-1] == "Plan: 1 to add, 0 to update, 0 to remove."
    )  # the leaf certkey (its files, its binding)
    assert writes(appliance) == []
    assert appliance.state.dump() == before


def apply_as_the_operator(appliance: SimulatorThread, where: Path) -> None:
    """Deploy the manifests' certificate with the operator's engine (same owner and cluster)."""
    secret = next(yaml.safe_load_all((where / "sync.yaml").read_text()))["data"]
    material = parse_material(base64.b64decode(secret["tls.crt"]), base64.b64decode(secret["tls.key"]))
    www = DesiredCertificate("default/www", "default-www", material, (BindingSpec("vs_https"),))

    async def apply() -> None:
        async with NitroClient(
            appliance.url, Credentials("nsroot", "nsroot"), tls=TLSConfig(ca_pem=appliance.ca_pem)
        ) as client:
            await sync_appliance(
                client,
                [www],
                Records(),
                SyncOptions(owner="default/www", cluster=CLUSTER),
                appliances=Appliances(),
            )

    asyncio.run(apply())


def test_nothing_to_do_exits_0(appliance: SimulatorThread, tmp_path: Path) -> None:
    where = manifests(appliance, tmp_path / "m")
    first = cli("plan", "-f", str(where), "--cluster-id", CLUSTER)
    assert first.returncode == 2
    # The operator applies the same manifests (its engine, with the same owner and cluster) ...
    apply_as_the_operator(appliance, where)
    assert "default-www" in appliance.state.dump()["certkeys"]
    # ... and the plan now finds nothing to do.
    appliance.clear_requests()
    done = cli("plan", "-f", str(where), "--cluster-id", CLUSTER)
    assert done.returncode == 0, done.stdout + done.stderr
    assert done.stdout.splitlines()[-1] == "Plan: 0 to add, 0 to update, 0 to remove."
    assert writes(appliance) == []


@pytest.mark.parametrize(
    ("content", "expected"),
    [
        (None, "cannot read"),
        ("apiVersion: apps/v1\nkind: Deployment\nmetadata: {name: x}\n", "unsupported kind 'Deployment'"),
        ("kind: [unclosed\n", "not YAML or JSON"),
    ],
)
def test_bad_manifest_is_one_line(tmp_path: Path, content: str | None, expected: str) -> None:
    path = tmp_path / "bad.yaml"
    if content is not None:
        path.write_text(content)
    done = cli("plan", "-f", str(path), "--cluster-id", CLUSTER)
    assert done.returncode == 1 and done.stdout == ""
    lines = done.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("error: ") and expected in lines[0], done.stderr


@pytest.mark.parametrize("source", ["ConfigMap", "Secret"])
def test_client_auth_bundle_plans_the_ca_upload_add_and_bind(
    appliance: SimulatorThread, tmp_path: Path, source: str
) -> None:
    """A binding with `clientAuth` from a trust-manager ConfigMap (or a Secret): the CA the
    operator would upload, add and bind with -CA is in the plan and its count; nothing is written."""
    where = manifests(appliance, tmp_path / "m")
    client_ca = make_ca("Plan Client CA")
    pem = {"trust-bundle.pem": client_ca.cert_pem}
    docs = list(yaml.safe_load_all((where / "sync.yaml").read_text()))
    if source == "ConfigMap":
        ref = {"configMapKeyRef": {"name": "trust", "key": "trust-bundle.pem"}}
        meta = {"name": "trust", "namespace": "default"}
        data = {k: v.decode() for k, v in pem.items()}  # text, as trust-manager writes it
        docs.append({"apiVersion": "v1", "kind": "ConfigMap", "metadata": meta, "data": data})
    else:
        ref = {"secretKeyRef": {"name": "trust", "key": "trust-bundle.pem"}}
        docs.append(build.opaque_secret("trust", pem))
    auth = {"caFrom": ref, "crlCheck": "Mandatory"}
    docs[1]["spec"]["bindings"] = [{"vserver": "vs_https", "clientAuth": auth}]
    (where / "sync.yaml").write_text(yaml.safe_dump_all(docs))
    before = appliance.state.dump()
    appliance.clear_requests()

    done = cli("plan", "-f", str(where), "--cluster-id", CLUSTER)

    assert done.returncode == 2, done.stdout + done.stderr
    lines = done.stdout.splitlines()
    ca, file = ca_certkey_name(client_ca.fingerprint_sha256), ca_file_name(client_ca.fingerprint_sha256, TAG)
    upload = next((i for i, line in enumerate(lines) if line.startswith(f"  + upload file {file} ")), None)
    assert upload is not None, done.stdout
    assert lines[upload + 1 : upload + 3] == [
        f"  + add CA certkey {ca} from {file}",
        f"  + bind CA certkey {ca} to vserver vs_https for client authentication (crlCheck Mandatory)",
    ], lines
    assert lines[-1] == "Plan: 2 to add, 0 to update, 0 to remove.", lines  # the leaf and the client CA
    assert writes(appliance) == [] and appliance.state.dump() == before


def test_unreachable_appliance_is_one_line(tmp_path: Path) -> None:
    with SimulatorThread(SimulatorConfig(ssl_vservers=("vs_https",))) as sim:
        where = manifests(sim, tmp_path / "m")
    # The simulator is gone: its address refuses connections.
    done = cli("plan", "-f", str(where), "--cluster-id", CLUSTER)
    assert done.returncode == 1 and done.stdout == ""
    lines = done.stderr.strip().splitlines()
    assert len(lines) == 1 and "cannot reach" in lines[0] and "Traceback" not in done.stderr, done.stderr


def test_help_describes_the_command() -> None:
    done = cli("plan", "--help")
    assert done.returncode == 0
    assert "-f" in done.stdout and "2 changes are planned" in " ".join(done.stdout.split())


def test_a_renewed_secret_plans_an_update_and_leaves_others_alone(
    appliance: SimulatorThread, tmp_path: Path
) -> None:
    where = manifests(appliance, tmp_path / "m")
    apply_as_the_operator(appliance, where)
    docs = list(yaml.safe_load_all((where / "sync.yaml").read_text()))
    # cert-manager renews the Secret: the manifests now hold a new certificate.
    renewed = make_leaf(make_ca("Plan Root 2"), "www.example.com")
    docs[0] = build.tls_secret("www", renewed.cert_pem, renewed.key_pem)
    (where / "sync.yaml").write_text(yaml.safe_dump_all(docs))
    before = appliance.state.dump()
    appliance.clear_requests()
    done = cli("plan", "-f", str(where), "--cluster-id", CLUSTER)
    assert done.returncode == 2, done.stdout + done.stderr
    lines = done.stdout.splitlines()
    assert "  ~ update certkey default-www in place" in "\n".join(lines), lines
    assert lines[-1] == "Plan: 0 to add, 1 to update, 0 to remove.", lines
    # Not this cluster's: the same manifests under another identity may not touch default-www.
    other = cli("plan", "-f", str(where), "--cluster-id", "cluster-b")
    assert "update certkey default-www" not in other.stdout
    assert writes(appliance) == [] and appliance.state.dump() == before
