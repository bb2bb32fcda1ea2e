"""Two clusters on one appliance: the same CertificateSync in both never touches the other's objects.

Each cluster is a `Harness` with its own cluster identity, engine state, records and NetScaler
user, against one simulator. The proof is the simulator's request log: no write made as cluster
B's user addresses an object cluster A created (and the other way round), and what each says it
has deployed is what the appliance holds.
"""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest

from certsync_devkit.pki import TestPKI
from netscaler_certsync.domain import cluster_tag, leaf_file_names, owner_id, reasons
from netscaler_certsync.engine import BindingSpec, CertRecord, CertState, Records
from netscaler_certsync.nitro import Credentials
from netscaler_certsync.simulator import RestrictedUser, Simulator, run_simulator
from tests.support.engine import OWNER, SIM_CONFIG, Harness, bindings, certkeys, desired, files

USERS = (RestrictedUser("cluster-a", "pw-a", ".*"), RestrictedUser("cluster-b", "pw-b", ".*"))
SNI = BindingSpec("vs_sni", sni=True)


@pytest.fixture
async def shared_sim() -> AsyncIterator[Simulator]:
    async with run_simulator(
        SIM_CONFIG.__class__(**{**SIM_CONFIG.__dict__, "restricted_users": USERS})
    ) as sim:
        yield sim
        assert sim.check_invariants() == []


def cluster(sim: Simulator, user: str, identity: str) -> Harness:
    return Harness(sim, credentials=Credentials(user, f"pw-{user[-1]}"), cluster=identity)


def created_by(sim: Simulator, user: str) -> set[str]:
    """Certkeys and files the user added (POST without an action: add)."""
    return {
        t
        for r in sim.requests
        if r.user == user and r.method == "POST" and r.action is None and r.status < 300
        for t in r.targets
        if r.resource in ("sslcertkey", "systemfile")
    }


def writes_to(sim: Simulator, user: str, objects: set[str]) -> list[str]:
    return [
        f"{r.method} {r.resource} {r.action or ''} {t}"
        for r in sim.requests
        if r.user == user and r.is_write
        for t in r.targets
        if t in objects
    ]


def assert_apart(sim: Simulator) -> None:
    """Neither cluster wrote to an object the other created."""
    assert writes_to(sim, "cluster-b", created_by(sim, "cluster-a")) == []
    assert writes_to(sim, "cluster-a", created_by(sim, "cluster-b")) == []


async def test_same_manifests_in_two_clusters(shared_sim: Simulator, pki: TestPKI) -> None:
    """Defect 1 of issue 13: B applied the same CertificateSync with its own certificate, overwrote
    A's certkey and said Synced; deleting B's sync then deleted A's certkey and binding."""
    a, b = cluster(shared_sim, "cluster-a", "uid-a"), cluster(shared_sim, "cluster-b", "uid-b")
    leaf_a, leaf_b = pki.leaf("shop.example.com"), pki.leaf("shop.example.com")
    name = "web-shop-tls"
    ra = await a.apply([desired(leaf_a, [pki.intermediate], name=name, bindings=[SNI])])
    assert ra.certificates[0].state is CertState.SYNCED

    rb = await b.apply([desired(leaf_b, [pki.intermediate], name=name, bindings=[SNI])])
    (cert,) = rb.certificates
    assert cert.reason == reasons.NameCollision and cert.state is CertState.FAILED
    assert "another cluster" in cert.message and cluster_tag("uid-a") in cert.message
    assert certkeys(shared_sim)[name]["serial"].replace(":", "").upper().lstrip(
        "0"
    ) == leaf_a.serial_hex.upper().lstrip("0")
    assert ("vs_sni", name, True) in bindings(shared_sim)
    assert not b.records.certificates  # B claims nothing

    await b.apply([])  # B deletes its CertificateSync
    assert ("vs_sni", name, True) in bindings(shared_sim) and name in certkeys(shared_sim)
    assert set(ra.records.certificates[0].files) <= files(shared_sim)
    assert all(f.startswith(f"cs-{_tag('uid-a')}-") for f in ra.records.certificates[0].files)
    assert_apart(shared_sim)
    again = await a.apply([desired(leaf_a, [pki.intermediate], name=name, bindings=[SNI])])
    assert again.writes == 0 and again.certificates[0].reason == reasons.Unchanged


def _tag(identity: str) -> str:
    return f"{cluster_tag(identity)}-{owner_id(OWNER)}"


async def test_same_sync_name_with_another_secret(shared_sim: Simulator, pki: TestPKI) -> None:
    """Defect 2 of issue 13: B's sync of the same name selecting another Secret took A's certkey
    for its own leftover and planned to unbind and delete it."""
    a, b = cluster(shared_sim, "cluster-a", "uid-a"), cluster(shared_sim, "cluster-b", "uid-b")
    await a.apply(
        [desired(pki.leaf("shop.example.com"), [pki.intermediate], secret="shop-tls", bindings=[SNI])]
    )
    before = certkeys(shared_sim)
    rb = await b.apply([desired(pki.leaf("other.example.com"), [pki.intermediate], secret="other-tls")])
    assert [c.state for c in rb.certificates] == [CertState.SYNCED]
    after = certkeys(shared_sim)
    assert {n: after[n] for n in before} == before  # A's certkeys as they were, links included
    assert_apart(shared_sim)
    await b.apply([])
    assert {n: certkeys(shared_sim)[n] for n in before} == before
    assert_apart(shared_sim)


async def test_shared_ca_certkey_outlives_the_cluster_that_added_it(
    shared_sim: Simulator, pki: TestPKI
) -> None:
    """The intermediate A added is linked by B's certificate too: A removing all of its own keeps
    it (B links to it); B never unlinks or deletes A's CA certkey."""
    a, b = cluster(shared_sim, "cluster-a", "uid-a"), cluster(shared_sim, "cluster-b", "uid-b")
    await a.apply([desired(pki.leaf("a.example.com"), [pki.intermediate], secret="a-tls")])
    rb = await b.apply([desired(pki.leaf("b.example.com"), [pki.intermediate], secret="b-tls")])
    b_leaf = rb.certificates[0].certkey
    ca = certkeys(shared_sim)[b_leaf]["linkcertkeyname"]
    assert ca and ca in created_by(shared_sim, "cluster-a")
    await a.apply([])
    assert certkeys(shared_sim)[b_leaf]["linkcertkeyname"] == ca and ca in certkeys(shared_sim)
    await b.apply([])
    assert_apart(shared_sim)


async def test_untagged_objects_of_an_earlier_version(shared_sim: Simulator, pki: TestPKI) -> None:
    """Upgrade: the certkey an earlier version deployed (owner tag without a cluster, files and
    records as it wrote them) stays managed by the cluster whose records list it, and is foreign
    to a cluster without such records."""
    a, b = cluster(shared_sim, "cluster-a", "uid-a"), cluster(shared_sim, "cluster-b", "uid-b")
    old = pki.leaf("shop.example.com")
    d = desired(old, secret="shop-tls", name="web-shop-tls", bindings=[SNI])
    assert d.material is not None
    legacy = leaf_file_names(
        owner_id(OWNER), d.material.fingerprint, d.material.key_id
    )  # the release's names
    async with a.client() as client:
        await client.upload_file(legacy.cert, d.material.leaf.pem.encode())
        await client.upload_file(legacy.key, d.material.key_pem.encode())
        await client.add_certkey("web-shop-tls", legacy.cert, legacy.key)
        await client.bind_certkey("vs_sni", "web-shop-tls", sni=True)
    a.records = Records(
        (
            CertRecord(
                id=d.id,
                certkey="web-shop-tls",
                fingerprint=d.material.fingerprint,
                serial=d.material.leaf.serial,
                not_after=d.material.leaf.not_after.isoformat(),
                files=(legacy.cert, legacy.key),
                bindings=(SNI,),
            ),
        )
    )
    shared_sim.requests.clear()
    # B has no records: the earlier version's certkey is not B's, whatever its scope hash says.
    rb = await b.apply(
        [desired(pki.leaf("shop.example.com"), secret="shop-tls", name="web-shop-tls", bindings=[SNI])]
    )
    assert (
        rb.certificates[0].reason == reasons.NameCollision and "earlier version" in rb.certificates[0].message
    )
    await b.apply([])
    assert [r for r in shared_sim.requests if r.user == "cluster-b" and "web-shop-tls" in r.targets] == []
    assert ("vs_sni", "web-shop-tls", True) in bindings(shared_sim)
    # A's records list it: A renews it in place and its old files go.
    new = pki.leaf("shop.example.com")
    ra = await a.apply([desired(new, secret="shop-tls", name="web-shop-tls", bindings=[SNI])])
    assert ra.certificates[0].state is CertState.SYNCED and ra.certificates[0].certkey == "web-shop-tls"
    assert not {legacy.cert, legacy.key} & files(shared_sim)
    assert ("vs_sni", "web-shop-tls", True) in bindings(shared_sim)
