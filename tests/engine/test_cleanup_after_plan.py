"""Clean-up judged against the appliance as the plan leaves it, and records that keep what is bound.

Each scenario is one a user meets with ordinary settings: a renewal that keeps its key while the
issuer changes, an issuer-change renewal that fails on a transient error, a renewal beside the
old certkey (`preserveOnRenewal: false`) combined with a binding change, and the removal of a sync
whose certkeys share one key file. The simulator's invariants (no certkey without its files, no
binding to a missing certkey...) are checked after each test by the `sim` fixture.
"""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest

from certsync_devkit.pki import TestPKI
from netscaler_certsync.domain import reasons
from netscaler_certsync.engine import BindingSpec, CertState
from netscaler_certsync.simulator import FaultRule, Simulator
from tests.support.engine import Harness, bindings, certkeys, desired, files, orphans

HTTPS = BindingSpec("vs_https")
SNI = BindingSpec("vs_sni", sni=True)


@pytest.fixture
async def h(sim: Simulator) -> AsyncIterator[Harness]:
    yield Harness(sim)
    assert sim.check_invariants() == []


@pytest.fixture(scope="module")
def other() -> TestPKI:
    return TestPKI.create("Cleanup Rotated")


def missing_files(sim: Simulator) -> set[str]:
    """Files some certkey loads that are not on the appliance (served from memory until a reload)."""
    used = set()
    for ck in certkeys(sim).values():
        used |= {f.rsplit("/", 1)[-1] for f in (ck["cert"], ck["key"]) if f}
    return used - files(sim)


async def test_issuer_change_keeping_the_key_keeps_the_key_file(
    h: Harness, pki: TestPKI, other: TestPKI
) -> None:
    first = pki.leaf()
    await h.apply([desired(first, [pki.intermediate], bindings=[HTTPS])])
    # The same key, certified by another issuer (certbot --reuse-key across R10/R11).
    rotated = other.leaf(key=first.key)
    res = await h.apply([desired(rotated, [other.intermediate], bindings=[HTTPS])])
    [cert] = res.certificates
    assert (cert.state, cert.reason) == (CertState.SYNCED, reasons.Renewed)
    assert missing_files(h.sim) == set()
    assert orphans(h.sim) == set()
    # The next apply finds nothing to repair.
    h.sim.clear_requests()
    await h.apply([desired(rotated, [other.intermediate], bindings=[HTTPS])])
    assert h.writes() == []


async def test_a_failed_issuer_change_keeps_the_bound_predecessor_as_the_certificate(
    h: Harness, pki: TestPKI, other: TestPKI
) -> None:
    first = desired(pki.leaf(), [pki.intermediate], bindings=[HTTPS])
    await h.apply([first])
    # Two applies in a row meet a transient refusal (of the new CA's add): the certificate fails,
    # the predecessor goes on serving and stays the certificate's deployment in the records.
    rotated = desired(other.leaf(), [other.intermediate], bindings=[HTTPS])
    for _ in range(2):
        h.sim.faults.add(
            FaultRule(kind="error", resource="sslcertkey", method="POST", action="", times=1, status=599)
        )
        [cert] = (await h.apply([rotated])).certificates
        assert cert.state == CertState.FAILED
        [record] = h.records.certificates
        assert (record.certkey, record.superseded, record.bindings) == (first.name, False, (HTTPS,))
    # Faults gone: the next apply renews, instead of claiming the name is someone else's.
    [cert] = (await h.apply([rotated])).certificates
    assert (cert.state, cert.reason) == (CertState.SYNCED, reasons.Renewed), cert.message
    assert bindings(h.sim) == {("vs_https", cert.certkey, False)}
    assert set(certkeys(h.sim)) - {first.name} >= {cert.certkey}
    await h.apply([])
    assert certkeys(h.sim) == {} and orphans(h.sim) == set()


async def test_renewal_beside_and_a_dropped_sni_binding_in_one_apply(sim: Simulator, pki: TestPKI) -> None:
    h = Harness(sim, preserve_on_renewal=False)
    first = await h.apply([desired(pki.leaf(), bindings=[HTTPS, SNI])])
    old = first.certificates[0].certkey
    # Renewal and binding removal reach the operator together (a restart, a retry).
    renewed = pki.leaf()
    res = await h.apply([desired(renewed, bindings=[HTTPS])])
    new = res.certificates[0].certkey
    assert new != old
    assert bindings(sim) == {("vs_https", new, False)}  # the predecessor serves nothing any more
    # Adding the SNI binding back binds the current certificate (no 1674 "Duplicate domain cert").
    [cert] = (await h.apply([desired(renewed, bindings=[HTTPS, SNI])])).certificates
    assert cert.state == CertState.SYNCED, cert.message
    assert ("vs_sni", cert.certkey, True) in bindings(sim)
    # Deleting the sync leaves nothing behind.
    await h.apply([])
    assert certkeys(sim) == {} and orphans(sim) == set() and bindings(sim) == set()


async def test_removing_certkeys_that_share_a_key_file_removes_it(sim: Simulator, pki: TestPKI) -> None:
    h = Harness(sim, preserve_on_renewal=False)
    first = pki.leaf()
    await h.apply([desired(first, bindings=[HTTPS])])
    await h.apply([desired(pki.leaf(key=first.key), bindings=[HTTPS])])  # renewed beside, same key
    assert len(certkeys(sim)) == 2
    res = await h.apply([])
    assert res.warnings == ()
    assert certkeys(sim) == {} and files(sim) == set()


async def test_a_predecessor_kept_beside_is_reported_as_superseded(sim: Simulator, pki: TestPKI) -> None:
    h = Harness(sim, preserve_on_renewal=False)
    first = pki.leaf()
    old = (await h.apply([desired(first, bindings=[HTTPS])])).certificates[0].certkey
    res = await h.apply([desired(pki.leaf(), bindings=[HTTPS])])
    [current] = res.certificates
    [kept] = res.superseded
    assert (kept.state, kept.certkey, kept.serial, kept.bound) == (
        CertState.SUPERSEDED,
        old,
        first.serial_hex,
        (),
    )
    assert current.certkey in kept.message and old in certkeys(sim)
    # Removed with its certificate: no longer reported.
    assert (await h.apply([])).superseded == []
