"""Renewals across an issuer change (`preserveOnRenewal: true`) against the simulator.

A certkey links to one CA at a time and `update` cannot carry a link, so renewing in place would
serve the new leaf without its chain between `update` and `link`. Bound only as default
certificate and only by us, the certkey is replaced by a new one, linked first and then bound in
its place; with an SNI binding or someone else's binding it stays in place (update, then link).
"""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest

from certsync_devkit.pki import TestPKI, make_ca
from netscaler_certsync.domain import reasons, successor_name
from netscaler_certsync.engine import BindingSpec, CertState
from netscaler_certsync.simulator import FaultRule, Simulator
from tests.support.engine import Harness, appliance, bindings, certkeys, desired, orphans

HTTPS = BindingSpec("vs_https")
SNI = BindingSpec("vs_sni", sni=True)


@pytest.fixture
async def h(sim: Simulator) -> AsyncIterator[Harness]:
    yield Harness(sim)
    assert sim.check_invariants() == []


@pytest.fixture(scope="module")
def other() -> TestPKI:
    return TestPKI.create("Rotated")


def leaves(h: Harness) -> dict[str, dict]:  # type: ignore[type-arg]
    return {n: ck for n, ck in certkeys(h.sim).items() if ck["key"]}


def cas(h: Harness) -> set[str]:
    return {n for n, ck in certkeys(h.sim).items() if not ck["key"]}


def certkey_writes(h: Harness) -> list[tuple[str, str | None, str | None]]:
    return [(r.method, r.action, r.name) for r in h.writes() if r.resource == "sslcertkey"]


async def test_issuer_change_replaces_the_certkey_and_later_renewals_keep_its_name(
    h: Harness, pki: TestPKI, other: TestPKI
) -> None:
    first = desired(pki.leaf(), [pki.intermediate], bindings=[HTTPS])
    await h.apply([first])
    h.sim.clear_requests()

    rotated = desired(other.leaf(), [other.intermediate], bindings=[HTTPS])
    res = await h.apply([rotated])
    [cert] = res.certificates
    assert rotated.material is not None
    succ = successor_name(first.name, rotated.material.fingerprint)
    assert (cert.state, cert.reason, cert.certkey) == (CertState.SYNCED, reasons.Renewed, succ)
    assert "issuer changed" in cert.message and f"replaces {first.name}" in cert.message
    assert res.warnings == ()
    # On the appliance: only the new certkey, bound as default and linked; the old one, its files
    # and its CA are gone.
    assert set(leaves(h)) == {succ}
    assert bindings(h.sim) == {("vs_https", succ, False)}
    assert appliance(h.sim)["links"] == {succ: next(iter(cas(h)))}
    assert orphans(h.sim) == set()
    # Linked before bound, bound before the old one goes; never an update.
    writes = certkey_writes(h)
    assert ("POST", "update", first.name) not in writes
    link = writes.index(("POST", "link", None))
    assert writes.index(("POST", None, None)) < link < writes.index(("DELETE", None, first.name))
    [record] = h.records.certificates
    assert (record.certkey, record.base) == (succ, first.name)

    # The next renewal by the same issuer: in place, under the successor's name.
    h.sim.clear_requests()
    again = desired(other.leaf(), [other.intermediate], bindings=[HTTPS])
    [cert] = (await h.apply([again])).certificates
    assert cert.certkey == succ and cert.reason == reasons.Renewed and "becomes" not in cert.message
    assert [a for _, a, _ in certkey_writes(h)] == ["update"]
    assert set(leaves(h)) == {succ} and bindings(h.sim) == {("vs_https", succ, False)}

    # A steady state costs nothing and does not announce a rename.
    h.sim.clear_requests()
    [cert] = (await h.apply([again])).certificates
    assert h.writes() == [] and "becomes" not in cert.message

    # Back to the first issuer: a new certkey again, under the rendered name, which is free now.
    back = desired(pki.leaf(), [pki.intermediate], bindings=[HTTPS])
    [cert] = (await h.apply([back])).certificates
    assert cert.certkey == first.name and set(leaves(h)) == {first.name}
    assert bindings(h.sim) == {("vs_https", first.name, False)} and orphans(h.sim) == set()


async def test_issuer_change_with_an_sni_binding_is_updated_in_place_then_linked(
    h: Harness, pki: TestPKI, other: TestPKI
) -> None:
    first = desired(pki.leaf(), [pki.intermediate], bindings=[SNI])
    await h.apply([first])
    h.sim.clear_requests()
    res = await h.apply([desired(other.leaf(), [other.intermediate], bindings=[SNI])])
    [cert] = res.certificates
    assert cert.state == CertState.SYNCED and cert.certkey == first.name
    assert "SNI binding" in cert.message and "between update and link" in cert.message
    leaf_writes = [a for _, a, n in certkey_writes(h) if n == first.name or a in ("update", "link")]
    # No unlink before the update (the appliance drops the incompatible link itself, 1587).
    assert leaf_writes[:2] == ["update", "link"] and "unlink" not in leaf_writes
    assert bindings(h.sim) == {("vs_sni", first.name, True)}
    [ca] = cas(h)
    assert appliance(h.sim)["links"] == {first.name: ca} and orphans(h.sim) == set()


async def test_issuer_change_with_a_binding_made_by_someone_else_stays_in_place(
    h: Harness, pki: TestPKI, other: TestPKI
) -> None:
    first = desired(pki.leaf(), [pki.intermediate], bindings=[HTTPS])
    await h.apply([first])
    async with h.client() as c:
        await c.bind_certkey("vs_two", first.name)  # by hand: not ours to move
    [cert] = (await h.apply([desired(other.leaf(), [other.intermediate], bindings=[HTTPS])])).certificates
    assert cert.certkey == first.name and "someone else bound it" in cert.message
    assert set(leaves(h)) == {first.name}
    assert bindings(h.sim) == {("vs_https", first.name, False), ("vs_two", first.name, False)}


async def test_old_certkey_still_referenced_is_kept_and_the_certificate_is_synced(
    h: Harness, pki: TestPKI, other: TestPKI
) -> None:
    first = desired(pki.leaf(), [pki.intermediate], bindings=[HTTPS])
    await h.apply([first])
    h.sim.faults.add(
        FaultRule(
            kind="error",
            resource="sslcertkey",
            method="DELETE",
            name=first.name,
            times=1,
            status=599,
            errorcode=1541,
            message="Certificate is referenced by other entities",
        )
    )
    rotated = desired(other.leaf(), [other.intermediate], bindings=[HTTPS])
    res = await h.apply([rotated])
    [cert] = res.certificates
    assert cert.state == CertState.SYNCED and cert.reason == reasons.Renewed
    [warning] = res.warnings
    assert first.name in warning and "kept until it expires" in warning
    succ = cert.certkey
    assert set(leaves(h)) == {succ, first.name}
    assert bindings(h.sim) == {("vs_https", succ, False)}
    by_name = {r.certkey: r for r in h.records.certificates}
    assert set(by_name) == {succ, first.name} and by_name[first.name].superseded
    # The next apply keeps it (superseded, until it expires) and writes nothing.
    h.sim.clear_requests()
    again = await h.apply([rotated])
    assert h.writes() == [] and again.warnings == () and first.name in leaves(h)
    # Removed with the certificate.
    await h.apply([])
    assert certkeys(h.sim) == {} and orphans(h.sim) == set()


async def test_an_old_link_the_update_kept_is_replaced(h: Harness, pki: TestPKI) -> None:
    # The intermediate re-issued under the same name with a new key: NetScaler matches a link by
    # issuer name, so the update keeps the old link and the planned link is refused (already
    # linked, 273); the apply unlinks and links again.
    reissued = make_ca(pki.intermediate.common_name, issuer=pki.root)
    first = desired(pki.leaf(), [pki.intermediate], bindings=[SNI])
    await h.apply([first])
    h.sim.clear_requests()
    renewed = desired(TestPKI(pki.root, reissued).leaf(), [reissued], bindings=[SNI])
    [cert] = (await h.apply([renewed])).certificates
    assert cert.state == CertState.SYNCED and cert.certkey == first.name
    actions = [r.action for r in h.writes() if r.resource == "sslcertkey" and r.action]
    assert actions == ["update", "link", "unlink", "link"]
    ca = next(n for n, ck in certkeys(h.sim).items() if not ck["key"] and ck["serial"] == reissued.serial_hex)
    assert appliance(h.sim)["links"][first.name] == ca
