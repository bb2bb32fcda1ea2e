"""`engine.verify.verify_deployed`, the one call the operator makes after a sync, against the simulator.

What it costs on the appliance is counted exactly (the simulator's request log): a small sync
reads its certkeys by name and follows their links, a large one lists every certkey once. The
handshake path is covered in tests/dataplane (the simulator serving its vservers over TLS).
"""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest

from certsync_devkit.pki import TestPKI
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
