"""engine.client_ca against the simulator: the exact NITRO writes of a bundle change, and what
is never touched (CA bindings someone else made, a CA certkey a chain still links to)."""

from __future__ import annotations

from collections.abc import Callable, Sequence

from certsync_devkit.pki import Issued, TestPKI, make_ca, pem_bundle
from netscaler_certsync.domain import ca_certkey_name, cluster_tag
from netscaler_certsync.domain.client_ca import parse_ca_bundle
from netscaler_certsync.engine import SyncOptions
from netscaler_certsync.engine.client_ca import ClientCAResult, sync_client_cas
from netscaler_certsync.simulator import Simulator
from tests.support.dataplane import desired
from tests.support.engine import Harness

#: The cluster the harness's applies run as: its CA certkeys and ours are one cluster's
CLUSTER = cluster_tag(SyncOptions(owner="shop/web").cluster)


def name_of(ca: Issued) -> str:
    return ca_certkey_name(parse_ca_bundle(ca.cert_pem)[0].fingerprint)


async def bundle(h: Harness, cas: Sequence[Issued], owned: frozenset[str] = frozenset()) -> ClientCAResult:
    async with h.client() as client:
        return await sync_client_cas(
            client, "vs_https", parse_ca_bundle(pem_bundle(cas)) if cas else (), owned=owned, cluster=CLUSTER
        )


def writes(sim: Simulator) -> list[tuple[str, str, str | None]]:
    return [
        (r.method, r.resource, r.name)
        for r in sim.requests
        if r.method != "GET" and r.resource not in ("login", "logout")
    ]


async def test_rotation_adds_and_binds_before_it_unbinds_and_deletes(
    sim: Simulator, harness: Callable[..., Harness]
) -> None:
    h = harness()
    old, new = make_ca("Client CA 2025"), make_ca("Client CA 2026")
    first = await bundle(h, [old])
    assert first.bound == (name_of(old),)
    sim.clear_requests()

    second = await bundle(h, [new], first.owned)

    binding = "sslvserver_sslcertkey_binding"
    assert [(m, r) for m, r, _ in writes(sim)] == [
        ("POST", "systemfile"),
        ("POST", "sslcertkey"),
        ("PUT", binding),
        ("DELETE", binding),
        ("DELETE", "sslcertkey"),
        ("DELETE", "systemfile"),
    ]
    assert second.bound == (name_of(new),) and second.owned == {name_of(new)}
    assert second.removed == (name_of(old),)
    sim.clear_requests()
    assert (await bundle(h, [new], second.owned)).added == ()  # unchanged bundle: no write at all
    assert writes(sim) == []


async def test_a_ca_binding_someone_else_made_is_never_ours(
    sim: Simulator, harness: Callable[..., Harness]
) -> None:
    h = harness()
    ca = make_ca("Shared Client CA")
    ours = await bundle(h, [ca])
    # A CA someone bound before the bundle asked for it stays theirs: emptying the bundle keeps it.
    hand = make_ca("Hand CA")
    async with h.client() as client:
        await client.upload_file("hand.crt", hand.cert_pem)
        await client.add_certkey(name_of(hand), "hand.crt")
        await client.bind_certkey("vs_https", name_of(hand), ca=True)
    joined = await bundle(h, [ca, hand], ours.owned)
    assert joined.owned == {name_of(ca)} and set(joined.bound) == {name_of(ca), name_of(hand)}
    emptied = await bundle(h, [], joined.owned)
    assert emptied.removed == (name_of(ca),)
    assert sim.state.default.vservers["vs_https"].client_cas() == [name_of(hand)]


async def test_a_ca_a_chain_links_to_is_unbound_but_kept(
    sim: Simulator, harness: Callable[..., Harness], pki: TestPKI
) -> None:
    h = harness()
    # The chain's intermediate is also the client CA: one certkey, shared (fingerprint-named).
    await h.apply([desired(pki.leaf("www.example.com"), [pki.intermediate], ca=pki.root)])
    shared = name_of(pki.intermediate)
    assert shared in sim.state.default.certkeys
    added = await bundle(h, [pki.intermediate])
    assert added.added == (shared,)  # bound, not added again

    removed = await bundle(h, [], added.owned)

    assert removed.removed == (shared,)
    assert shared in sim.state.default.certkeys  # the leaf still links to it
    assert sim.state.default.vservers["vs_https"].client_cas() == []


async def test_a_sync_of_server_certificates_leaves_a_bound_client_ca_alone(
    sim: Simulator, harness: Callable[..., Harness], pki: TestPKI
) -> None:
    """Chain CA clean-up deletes our CA certkeys nothing links to; a client CA is bound, not linked."""
    h = harness()
    client_ca = make_ca("Client CA")
    await bundle(h, [client_ca])
    sim.clear_requests()

    result = await h.apply([desired(pki.leaf("www.example.com"), [pki.intermediate], ca=pki.root)])

    assert not result.failed, result.failed
    assert name_of(client_ca) in sim.state.default.certkeys
    assert sim.state.default.vservers["vs_https"].client_cas() == [name_of(client_ca)]
    assert not [r for r in sim.requests if r.method == "DELETE" and r.name == name_of(client_ca)]
