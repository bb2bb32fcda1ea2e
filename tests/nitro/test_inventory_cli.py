"""`netscaler-certsync inventory` as a user runs it (a subprocess) against a seeded simulator.

The appliance holds a certkey of this cluster, one of another cluster, hand-made ones (a CA, a
leaf linked to it and bound, one forgotten and unbound) and files no certkey uses; every number
the command prints is checked against that seed, and the request log proves it only read.
"""

from __future__ import annotations

import asyncio
import hashlib
import json
import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest
import yaml

from netscaler_certsync.domain import leaf_file_names, owner_tag
from netscaler_certsync.nitro import Credentials, NitroClient, TLSConfig
from netscaler_certsync.simulator import SimulatorConfig, SimulatorThread
from netscaler_certsync.simulator.pki import Issued, make_ca, make_leaf

THIS, OTHER = "cluster-a", "cluster-b"


def _fingerprint(leaf: Issued) -> str:
    return hashlib.sha256(leaf.cert_pem).hexdigest()


async def _seed(sim: SimulatorThread) -> None:
    ca = make_ca("Hand Root")
    leaves = {
        "handmade": make_leaf(ca, "shop.example.com", days=10),
        "forgotten": make_leaf(ca, "old.example.com", days=20),
        "ours": make_leaf(ca, "api.example.com", days=90),
        "theirs": make_leaf(ca, "b.example.com", days=60),
    }
    files = {"handmade": ("handmade.crt", "handmade.key"), "forgotten": ("forgotten.crt", "forgotten.key")}
    for name, cluster in (("ours", THIS), ("theirs", OTHER)):
        names = leaf_file_names(owner_tag(cluster, f"default/{name}"), _fingerprint(leaves[name]))
        files[name] = (names.cert, names.key)
    tls = TLSConfig(ca_file=str(sim.ca_file))
    async with NitroClient(sim.url, Credentials("nsroot", "nsroot"), tls=tls) as client:
        await client.upload_file("hand-root.crt", ca.cert_pem)
        await client.add_certkey("handmade-ca", "hand-root.crt")
        for name, leaf in leaves.items():
            cert, key = files[name]
            await client.upload_file(cert, leaf.cert_pem)
            await client.upload_file(key, leaf.key_pem)
            await client.add_certkey(name, cert, key)
        await client.link_certkey("handmade", "handmade-ca")
        await client.bind_certkey("vs_https", "handmade")
        await client.bind_certkey("vs_sni", "ours", sni=True)
        await client.upload_file("old-2019.crt", leaves["forgotten"].cert_pem)
        await client.upload_file("old-2019.key", leaves["forgotten"].key_pem)


@pytest.fixture(scope="module")
def appliance() -> Iterator[SimulatorThread]:
    config = SimulatorConfig(ssl_vservers=("vs_https", "vs_sni"), sni_vservers=("vs_sni",))
    with SimulatorThread(config) as sim:
        asyncio.run(_seed(sim))
        yield sim


@pytest.fixture(scope="module")
def password_file(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("secret") / "password"
    path.write_text("nsroot\n")
    return path


def cli(*argv: str) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if k != "NS_PASSWORD"}
    return subprocess.run(
        [sys.executable, "-m", "netscaler_certsync", *argv],
        capture_output=True, text=True, timeout=60, env=env, check=False,
    )  # fmt: skip


def login_args(sim: SimulatorThread, password_file: Path) -> list[str]:
    return [
        "--endpoint", sim.url, "--username", "nsroot",
        "--password-file", str(password_file), "--ca-file", str(sim.ca_file),
    ]  # fmt: skip


def test_json_counts_match_the_seeded_appliance_and_only_reads(
    appliance: SimulatorThread, password_file: Path
) -> None:
    appliance.clear_requests()
    done = cli("inventory", *login_args(appliance, password_file), "--cluster-id", THIS, "-o", "json")
    assert done.returncode == 0, done.stderr
    data = json.loads(done.stdout)
    rows = {r["name"]: r for r in data["certKeys"]}
    seeded = {"handmade-ca", "handmade", "forgotten", "ours", "theirs"}
    assert seeded <= set(rows)
    builtin = set(rows) - seeded  # what the appliance ships with (ns-server-certificate): nobody's
    assert all(rows[n]["owner"] == "none" for n in builtin)
    assert {n: rows[n]["owner"] for n in seeded} == {
        "handmade-ca": "none", "handmade": "none", "forgotten": "none", "ours": "this", "theirs": "other",
    }  # fmt: skip
    assert rows["handmade"]["boundTo"] == ["vs_https"] and rows["handmade"]["linkedTo"] == "handmade-ca"
    assert rows["ours"]["boundTo"] == ["vs_sni (SNI)"]
    assert rows["handmade-ca"]["ca"] and rows["handmade-ca"]["linkedFrom"] == ["handmade"]
    assert 8 <= rows["handmade"]["daysLeft"] <= 10 and rows["handmade"]["subject"]
    unused_builtin = sum(1 for n in builtin if not rows[n]["boundTo"] and not rows[n]["linkedFrom"])
    summary = data["summary"]
    assert summary["certKeys"] == 5 + len(builtin)
    assert (summary["managedHere"], summary["managedElsewhere"]) == (1, 1)
    assert summary["unmanaged"] == 3 + len(builtin)
    assert summary["caCertKeys"] == 1 + sum(1 for n in builtin if rows[n]["ca"])
    assert summary["expiringWithin30Days"] == 2
    assert summary["unused"] == 2 + unused_builtin  # theirs, forgotten
    assert data["orphanFiles"] == ["old-2019.crt", "old-2019.key"]
    assert summary["orphanFiles"] == 2
    assert summary["soonestUnmanagedExpiry"]["certKey"] == "handmade"
    # login, three listings, logout: nothing written.
    calls = [(r.method, r.resource) for r in appliance.requests]
    assert [c for c in calls if c[0] != "GET" and c[1] not in ("login", "logout")] == []
    assert sorted(c[1] for c in calls if c[0] == "GET") == sorted(
        ["sslcertkey", "sslvserver_sslcertkey_binding", "systemfile"]
    )


def test_table_and_yaml(appliance: SimulatorThread, password_file: Path) -> None:
    done = cli("inventory", *login_args(appliance, password_file))
    assert done.returncode == 0, done.stderr
    header, *lines = done.stdout.splitlines()
    assert header.split()[:3] == ["NAME", "OWNER", "SUBJECT"]
    theirs = next(line for line in lines if line.startswith("theirs "))
    ours = next(line for line in lines if line.startswith("ours "))
    # Without --cluster-id nothing is claimed as this cluster's.
    assert theirs.split()[1] == "other" and ours.split()[1] == "other"
    assert "files no certkey uses: 2: old-2019.crt, old-2019.key" in done.stdout
    as_yaml = yaml.safe_load(cli("inventory", *login_args(appliance, password_file), "-o", "yaml").stdout)
    assert as_yaml["summary"]["managedHere"] == 0 and as_yaml["summary"]["managedElsewhere"] == 2


def test_unreachable_appliance_is_one_line(password_file: Path) -> None:
    done = cli(
        "inventory", "--endpoint", "https://127.0.0.1:9", "--username", "nsroot",
        "--password-file", str(password_file), "--timeout", "5",
    )  # fmt: skip
    assert done.returncode == 1 and done.stdout == ""
    lines = done.stderr.strip().splitlines()
    assert len(lines) == 1 and "cannot reach the appliance" in lines[0], done.stderr


def test_unreadable_password_file_is_a_usage_error(appliance: SimulatorThread, tmp_path: Path) -> None:
    done = cli("inventory", "--endpoint", appliance.url, "--username", "nsroot",
               "--password-file", str(tmp_path / "missing"))  # fmt: skip
    assert done.returncode == 2
    assert done.stderr.strip().splitlines() == [
        "error: cannot read the password file: No such file or directory"
    ]


def test_help_describes_the_command() -> None:
    done = cli("inventory", "--help")
    assert done.returncode == 0
    assert "every certkey" in done.stdout and "--cluster-id" in done.stdout and "json" in done.stdout
