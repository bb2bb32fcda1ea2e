"""`engine.verify.verify_deployed`, the one call the operator makes after a sync, against the simulator.

What it costs on the appliance is counted exactly (the simulator's request log): a small sync
reads its certkeys by name and follows their links, a large one lists every certkey once. The
handshake path is covered in tests/dataplane (the simulator serving its vservers over TLS).
"""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest

from certsync_devkit.pki import TestPKI
from netscaler_certsync.domain import reasons
from netscaler_certsync.engine import BindingSpec
from netscaler_certsync.engine.verify import SMALL_SYNC, VerifyTarget, verify_deployed
from netscaler_certsync.simulator import FaultRule, Simulator
from tests.support.engine import Harness, desired


@pytest.fixture
async def h(sim: Simulator) -> AsyncIterator[Harness]:
    yield Harness(sim)
    assert sim.check_invariants() == []


def _reads(sim: Simulator) -> list[tuple[str, str | None]]:
    return [(r.resource, r.name) for r in sim.requests if r.method == "GET" and r.resource == "sslcertkey"]


async def test_a_small_sync_reads_its_certkeys_by_name_and_follows_the_links(
    h: Harness, pki: TestPKI
) -> None:
    d = desired(pki.leaf("www.example.com"), [pki.intermediate])
    result = await h.apply([d])
    h.sim.clear_requests()
    async with h.client() as client:
        seen = await verify_deployed(client, result, [d], [])
    assert list(seen.certkeys) == [d.name], "the sync's own certkeys only, not the CA it links to"
    reads = _reads(h.sim)
    assert len(reads) == 2 and reads[0] == ("sslcertkey", d.name), reads  # the leaf, then its CA
    check = seen.verifications[d.id]
    assert (check.verified, check.method, check.chain_depth) == (True, "nitro", 2)


async def test_a_large_sync_lists_every_certkey_once(h: Harness, pki: TestPKI) -> None:
    certs = [desired(pki.leaf(f"host{i}.example.com"), secret=f"s{i}") for i in range(SMALL_SYNC + 1)]
    result = await h.apply(certs)
    h.sim.clear_requests()
    async with h.client() as client:
        seen = await verify_deployed(client, result, certs, [])
    assert _reads(h.sim) == [("sslcertkey", None)]
    assert set(seen.certkeys) == {c.name for c in certs}
    assert all(seen.verifications[c.id].verified for c in certs)


async def test_without_verify_it_only_reads_back(h: Harness, pki: TestPKI) -> None:
    d = desired(pki.leaf())
    result = await h.apply([d])
    async with h.client() as client:
        seen = await verify_deployed(client, result, [d], [VerifyTarget("127.0.0.1", 9)], verify=False)
    assert list(seen.certkeys) == [d.name] and seen.verifications == {}


async def test_a_failed_read_back_leaves_the_certificates_unverified(h: Harness, pki: TestPKI) -> None:
    d = desired(pki.leaf())
    result = await h.apply([d])
    h.sim.faults.add(FaultRule(kind="error", resource="sslcertkey", method="GET", status=500))
    async with h.client() as client:
        seen = await verify_deployed(client, result, [d], [])
    assert (dict(seen.certkeys), dict(seen.verifications)) == ({}, {})


def _binding_reads(sim: Simulator) -> list[tuple[str, str | None]]:
    return [
        (r.resource, r.name)
        for r in sim.requests
        if r.method == "GET" and r.resource == "sslvserver_sslcertkey_binding"
    ]


async def test_the_read_back_checks_the_bindings_one_read_per_vserver(h: Harness, pki: TestPKI) -> None:
    d = desired(pki.leaf("www.example.com"), bindings=[BindingSpec("vs_https")])
    result = await h.apply([d])
    h.sim.clear_requests()
    async with h.client() as client:
        seen = await verify_deployed(client, result, [d], [])
    assert _binding_reads(h.sim) == [("sslvserver_sslcertkey_binding", "vs_https")]
    assert seen.verifications[d.id].verified


async def test_a_binding_removed_by_hand_is_not_claimed(h: Harness, pki: TestPKI) -> None:
    d = desired(pki.leaf("www.example.com"), bindings=[BindingSpec("vs_https")])
    result = await h.apply([d])
    async with h.client() as client:
        await client.unbind_certkey("vs_https", d.name)  # after the apply reported it bound
        seen = await verify_deployed(client, result, [d], [])
    check = seen.verifications[d.id]
    assert (check.verified, check.reason) == (False, reasons.ServedCertificateMismatch)
    assert "not bound to vs_https" in check.message


async def test_a_default_binding_another_owner_took_over_is_reported_not_claimed(
    h: Harness, pki: TestPKI
) -> None:
    d = desired(pki.leaf("www.example.com"), bindings=[BindingSpec("vs_https")])
    result = await h.apply([d])
    theirs = pki.leaf("theirs.example.com")
    async with h.client() as client:
        # Someone else puts their own certificate in as the vserver's default.
        await client.unbind_certkey("vs_https", d.name)
        await client.upload_file("theirs.crt", theirs.cert_pem)
        await client.upload_file("theirs.key", theirs.key_pem)
        await client.add_certkey("theirs", "theirs.crt", "theirs.key")
        await client.bind_certkey("vs_https", "theirs")
        seen = await verify_deployed(client, result, [d], [])
    check = seen.verifications[d.id]
    assert (check.verified, check.reason) == (False, reasons.BindingConflict)
    assert "theirs" in check.message


async def test_a_failed_binding_read_leaves_the_certificates_unverified(h: Harness, pki: TestPKI) -> None:
    d = desired(pki.leaf(), bindings=[BindingSpec("vs_https")])
    result = await h.apply([d])
    h.sim.faults.add(
        FaultRule(kind="error", resource="sslvserver_sslcertkey_binding", method="GET", status=500)
    )
    async with h.client() as client:
        seen = await verify_deployed(client, result, [d], [])
    assert seen.verifications == {}
