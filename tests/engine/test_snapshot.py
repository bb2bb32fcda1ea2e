"""Reusing the appliance's state between applies (engine/snapshot.py), on the simulator.

What a user would notice: many CertificateSyncs on one appliance no longer each list every
certkey, yet the appliance ends exactly as with fresh listings; renewals from a snapshot still
land and are not redone; anything that goes wrong makes the next apply look afresh; a foreign
object that appeared meanwhile is still never touched.
"""

from __future__ import annotations

import asyncio
from collections.abc import Sequence

from certsync_devkit.pki import TestPKI
from netscaler_certsync.domain import reasons
from netscaler_certsync.engine import (
    ApplianceResult,
    Appliances,
    BindingSpec,
    CertState,
    DesiredCertificate,
    Records,
    SyncOptions,
    appliance_key,
    sync_appliance,
)
from netscaler_certsync.nitro import Credentials, NitroClient, TLSConfig
from netscaler_certsync.simulator import Simulator
from netscaler_certsync.simulator.faults import FaultRule
from tests.support.engine import bindings, certkeys, desired, files, orphans
from tests.support.waiting import FakeClock, until

SNI = BindingSpec("vs_sni", sni=True)


class Syncs:
    """Several owners (CertificateSyncs) applying to one appliance, each with its own records."""

    def __init__(self, sim: Simulator, max_age: float, clock: FakeClock | None = None) -> None:
        self.sim = sim
        self.max_age = max_age
        self.records: dict[str, Records] = {}
        self.engine = Appliances(clock) if clock is not None else Appliances()

    async def apply(self, owner: str, certs: Sequence[DesiredCertificate]) -> ApplianceResult:
        options = SyncOptions(owner=owner, snapshot_max_age=self.max_age)
        client = NitroClient(
            self.sim.url, Credentials("nsroot", "nsroot"), tls=TLSConfig(ca_pem=self.sim.ca_pem)
        )
        async with client:
            result = await sync_appliance(
                client,
                certs,
                self.records.get(owner, Records()),
                options,
                appliances=self.engine,
                appliance=appliance_key(self.sim.url),
            )
        self.records[owner] = result.records
        return result

    def listings(self) -> int:
        """Full certkey listings (GET sslcertkey without a name) in the simulator's log."""
        return sum(
            1 for r in self.sim.requests if r.method == "GET" and r.resource == "sslcertkey" and not r.name
        )


def certs_of(pki: TestPKI, i: int) -> list[DesiredCertificate]:
    return [desired(pki.leaf(f"site{i}.example.com"), [pki.intermediate], secret=f"site{i}", bindings=[SNI])]


async def test_many_syncs_list_the_appliance_once_and_end_as_with_fresh_listings(
    sim: Simulator, pki: TestPKI
) -> None:
    cached = Syncs(sim, max_age=60)
    wanted = {i: certs_of(pki, i) for i in range(8)}
    for i, certs in wanted.items():
        result = await cached.apply(f"ns/sync{i}", certs)
        assert result.certificates[0].state == CertState.SYNCED
    assert cached.listings() == 1
    after_cached = (set(certkeys(sim)), bindings(sim), files(sim))
    assert orphans(sim) == set()
    # The same desired state again with fresh listings each time: nothing left to do.
    fresh = Syncs(sim, max_age=0)
    fresh.records = dict(cached.records)
    sim.clear_requests()
    for i, certs in wanted.items():
        assert (await fresh.apply(f"ns/sync{i}", certs)).writes == 0
    assert fresh.listings() == len(wanted)
    assert (set(certkeys(sim)), bindings(sim), files(sim)) == after_cached


async def test_renewal_from_a_snapshot_lands_and_is_not_redone(sim: Simulator, pki: TestPKI) -> None:
    syncs = Syncs(sim, max_age=60)
    for i in range(3):
        await syncs.apply(f"ns/sync{i}", certs_of(pki, i))
    renewed = [desired(pki.leaf("site1.example.com"), [pki.intermediate], secret="site1", bindings=[SNI])]
    sim.clear_requests()
    result = await syncs.apply("ns/sync1", renewed)
    assert result.certificates[0].changed
    assert certkeys(sim)[result.certificates[0].certkey]["serial"] == renewed[0].material.leaf.serial
    # The snapshot holds the appliance's answer after the renewal, so the next apply sees no work.
    again = await syncs.apply("ns/sync1", renewed)
    assert again.writes == 0
    assert syncs.listings() == 0
    assert orphans(sim) == set()


async def test_a_refused_write_makes_the_next_apply_list_afresh(sim: Simulator, pki: TestPKI) -> None:
    syncs = Syncs(sim, max_age=60)
    await syncs.apply("ns/sync0", certs_of(pki, 0))
    sim.faults.add(FaultRule(kind="error", resource="sslcertkey", method="POST", times=1))
    failed = await syncs.apply("ns/sync1", certs_of(pki, 1))
    assert failed.certificates[0].state == CertState.FAILED
    sim.clear_requests()
    retried = await syncs.apply("ns/sync1", certs_of(pki, 1))
    assert retried.certificates[0].state == CertState.SYNCED
    assert syncs.listings() == 1


async def test_a_foreign_certkey_that_appears_meanwhile_is_not_touched(sim: Simulator, pki: TestPKI) -> None:
    syncs = Syncs(sim, max_age=60)
    await syncs.apply("ns/sync0", certs_of(pki, 0))
    mine = certs_of(pki, 1)
    stranger = pki.leaf("stranger.example.com")
    # Someone adds a certkey under the name we are about to use, after our snapshot was taken.
    async with NitroClient(sim.url, Credentials("nsroot", "nsroot"), tls=TLSConfig(ca_pem=sim.ca_pem)) as c:
        await c.upload_file("theirs.crt", stranger.cert_pem)
        await c.upload_file("theirs.key", stranger.key_pem)
        await c.add_certkey(mine[0].name, "theirs.crt", "theirs.key")
    first = await syncs.apply("ns/sync1", mine)
    assert first.certificates[0].state == CertState.FAILED
    second = await syncs.apply("ns/sync1", mine)  # lists afresh, so it knows whose name it is
    assert second.certificates[0].reason == reasons.NameCollision
    assert certkeys(sim)[mine[0].name]["serial"] == stranger.serial_hex
    assert not any(b[1] == mine[0].name for b in bindings(sim))


async def test_an_outside_change_is_seen_once_the_snapshot_is_older_than_max_age(
    sim: Simulator, pki: TestPKI
) -> None:
    clock = FakeClock()
    syncs = Syncs(sim, max_age=10, clock=clock)
    certs = certs_of(pki, 0)
    first = await syncs.apply("ns/sync0", certs)
    name = first.certificates[0].certkey
    async with NitroClient(sim.url, Credentials("nsroot", "nsroot"), tls=TLSConfig(ca_pem=sim.ca_pem)) as c:
        await c.unbind_certkey("vs_sni", name, sni=True)  # someone removes our binding by hand
    clock.advance(9.9)
    assert (await syncs.apply("ns/sync0", certs)).writes == 0  # within max_age: not seen yet
    clock.advance(0.1)
    repaired = await syncs.apply("ns/sync0", certs)
    assert repaired.writes >= 1
    assert ("vs_sni", name, True) in bindings(sim)


async def test_a_cancelled_apply_makes_the_next_one_list_afresh(sim: Simulator, pki: TestPKI) -> None:
    syncs = Syncs(sim, max_age=60)
    await syncs.apply("ns/sync0", certs_of(pki, 0))
    sim.faults.add(FaultRule(kind="latency", resource="systemfile", method="POST", delay=5.0, times=1))
    logins = len([r for r in sim.requests if r.resource == "login"])
    task = asyncio.create_task(syncs.apply("ns/sync1", certs_of(pki, 1)))
    # It starts from the snapshot, so it reads nothing: once logged in, its (slowed) upload is sent.
    await until(lambda: len([r for r in sim.requests if r.resource == "login"]) > logins, "the login")
    task.cancel()
    await asyncio.gather(task, return_exceptions=True)
    sim.clear_requests()
    result = await syncs.apply("ns/sync1", certs_of(pki, 1))
    assert result.certificates[0].state == CertState.SYNCED
    assert syncs.listings() == 1
    assert orphans(sim) == set()


async def test_no_snapshot_no_extra_reads_and_a_large_apply_lists_once(sim: Simulator, pki: TestPKI) -> None:
    """Without reuse nothing is read back; with it, an apply touching many certkeys lists them all
    again (two requests) instead of reading each by name."""
    many = [desired(pki.leaf(f"m{i}.example.com"), secret=f"m{i}", bindings=[SNI]) for i in range(20)]
    off = Syncs(sim, max_age=0)
    await off.apply("ns/off", many[:10])
    by_name = [r for r in sim.requests if r.method == "GET" and r.resource == "sslcertkey" and r.name]
    assert by_name == []
    on = Syncs(sim, max_age=60)
    sim.clear_requests()
    await on.apply("ns/on", many[10:])
    by_name = [r for r in sim.requests if r.method == "GET" and r.resource == "sslcertkey" and r.name]
    assert by_name == [] and on.listings() == 2  # the gather, and the re-listing after the writes
    sim.clear_requests()
    assert (await on.apply("ns/on", many[10:])).writes == 0
    assert on.listings() == 0
