"""Adoption of existing certkeys (`certificates[].adopt`) against the simulator (issue 19).

A certkey installed by hand — bound as default and SNI certificate, linked to a CA, referenced
from places the operator cannot see — is updated in place with the Secret's material, keeps its
name and every reference, is renewed like any other afterwards, and is left in place when the
certificate is deselected or the sync deleted. Refusals name the reason.
"""

from __future__ import annotations

import dataclasses
from collections.abc import AsyncIterator

import pytest

from certsync_devkit.pki import Issued, TestPKI, make_ca, make_leaf, pem_bundle
from netscaler_certsync.domain import parse_material, reasons
from netscaler_certsync.engine import Adoption, BindingSpec, CertState, DesiredCertificate
from netscaler_certsync.nitro import NitroClient, TLSConfig
from netscaler_certsync.nitro.errors import TLSVerificationError
from netscaler_certsync.nitro.wire import Call
from netscaler_certsync.simulator import Simulator, run_simulator
from tests.support.engine import SIM_CONFIG, Harness, appliance, bindings, certkeys, desired

HAND = "www_example_com"
HTTPS = BindingSpec("vs_https")
SNI = BindingSpec("vs_sni", sni=True)


@pytest.fixture
async def h(sim: Simulator) -> AsyncIterator[Harness]:
    yield Harness(sim)
    assert sim.check_invariants() == []


async def install_by_hand(
    h: Harness, leaf: Issued, ca: Issued, name: str = HAND, *, other: bool = True
) -> None:
    """What an administrator did before the operator: files, certkey, CA link, bindings."""
    async with h.client() as c:
        await c.upload_file("hand_ca.crt", ca.cert_pem)
        await c.add_certkey("hand_ca", "hand_ca.crt")
        await c.upload_file("hand.crt", leaf.cert_pem)
        await c.upload_file("hand.key", leaf.key_pem)
        await c.add_certkey(name, "hand.crt", "hand.key")
        await c.link_certkey(name, "hand_ca")
        await c.bind_certkey("vs_https", name)
        await c.bind_certkey("vs_sni", name, sni=True)
        if other:
            await c.bind_certkey("vs_two", name)  # a reference the spec does not name: never moved


def adopting(
    leaf: Issued, chain: list[Issued], *, delete: bool = False, name: str = HAND
) -> DesiredCertificate:
    d = desired(leaf, chain, name=name, bindings=[HTTPS, SNI])
    return dataclasses.replace(d, adopt=Adoption(name, delete_on_removal=delete))


async def test_adoption_updates_in_place_keeps_references_and_later_renews(h: Harness, pki: TestPKI) -> None:
    old_ca = make_ca("Hand CA", org="Hand")
    old = make_leaf(old_ca, "www.example.com")
    await install_by_hand(h, old, old_ca)
    h.sim.clear_requests()

    new = pki.leaf("www.example.com")
    [cert] = (await h.apply([adopting(new, [pki.intermediate])])).certificates
    assert (cert.state, cert.reason, cert.certkey) == (CertState.SYNCED, reasons.Adopted, HAND)
    assert old.serial_hex in cert.message
    ck = certkeys(h.sim)[HAND]
    assert ck["serial"] == new.serial_hex
    # Same name, same bindings (default and SNI), never deleted nor re-added; linked to the new CA.
    assert bindings(h.sim) == {("vs_https", HAND, False), ("vs_sni", HAND, True), ("vs_two", HAND, False)}
    writes = [(r.method, r.action) for r in h.writes() if r.resource == "sslcertkey"]
    assert ("POST", "update") in writes
    assert not any(m == "DELETE" for m, _ in writes)
    assert not [r for r in h.writes() if "binding" in r.resource]  # bindings untouched
    assert appliance(h.sim)["links"][HAND] != "hand_ca"
    # The hand-made files and CA are left alone (they belong to no one).
    assert {"hand.crt", "hand.key", "hand_ca.crt"} <= {
        p.rsplit("/", 1)[-1] for p in appliance(h.sim)["files"]
    }
    assert "hand_ca" in certkeys(h.sim)
    [record] = h.records.certificates
    assert record.adopted and record.certkey == HAND

    # Renewal after adoption: in place under the same name, recorded as adopted still.
    renewed = pki.leaf("www.example.com")
    h.sim.clear_requests()
    [cert] = (await h.apply([adopting(renewed, [pki.intermediate])])).certificates
    assert (cert.state, cert.reason, cert.certkey) == (CertState.SYNCED, reasons.Renewed, HAND)
    assert certkeys(h.sim)[HAND]["serial"] == renewed.serial_hex
    assert bindings(h.sim) == {("vs_https", HAND, False), ("vs_sni", HAND, True), ("vs_two", HAND, False)}
    assert h.records.certificates[0].adopted
    # A further apply changes nothing.
    h.sim.clear_requests()
    await h.apply([adopting(renewed, [pki.intermediate])])
    assert h.writes() == []


@pytest.mark.parametrize("dry_run_first", [True])
async def test_dry_run_shows_the_adoption_before_it_happens(
    h: Harness, pki: TestPKI, dry_run_first: bool
) -> None:
    old_ca = make_ca("Hand CA", org="Hand")
    old = make_leaf(old_ca, "www.example.com")
    await install_by_hand(h, old, old_ca)
    h.sim.clear_requests()
    [cert] = (await h.apply([adopting(pki.leaf(), [pki.intermediate])], dry_run=dry_run_first)).certificates
    assert h.writes() == []
    assert f"would adopt certkey {HAND}" in cert.message
    assert f"serial {old.serial_hex}" in cert.message
    assert "www.example.com" in cert.message  # its subject
    assert (
        "vs_https" in cert.message and "vs_sni (SNI)" in cert.message and "linked to hand_ca" in cert.message
    )
    assert certkeys(h.sim)[HAND]["serial"] == old.serial_hex


@pytest.mark.parametrize("delete", [False, True])
async def test_deselecting_an_adopted_certkey_leaves_it_unless_told(
    h: Harness, pki: TestPKI, delete: bool
) -> None:
    old_ca = make_ca("Hand CA", org="Hand")
    await install_by_hand(h, make_leaf(old_ca, "www.example.com"), old_ca)
    new = pki.leaf("www.example.com")
    await h.apply([adopting(new, [pki.intermediate], delete=delete)])

    res = await h.apply([])  # deselected (the same plan a deletion with deletionPolicy Delete makes)
    [cert] = res.certificates
    if delete:  # unbound and deleted, as a certkey of ours; kept while someone else's binding remains
        assert (cert.state, cert.reason) == (CertState.KEPT, reasons.Removed)
        assert bindings(h.sim) == {("vs_two", HAND, False)}
        async with h.client() as c:
            await c.unbind_certkey("vs_two", HAND)
        [cert] = (await h.apply([])).certificates
        assert cert.state == CertState.REMOVED
        assert HAND not in certkeys(h.sim)
        return
    assert (cert.state, cert.reason) == (CertState.KEPT, reasons.AdoptedKept)
    assert "deleteOnRemoval" in cert.message
    assert certkeys(h.sim)[HAND]["serial"] == new.serial_hex
    assert bindings(h.sim) == {("vs_https", HAND, False), ("vs_sni", HAND, True), ("vs_two", HAND, False)}
    # Later applies keep leaving it (it is never taken for a leftover of ours).
    h.sim.clear_requests()
    await h.apply([])
    await h.apply([])
    assert h.writes() == []
    assert HAND in certkeys(h.sim)


async def test_an_adopted_certkey_bound_to_vpn_global_says_what_to_do(h: Harness, pki: TestPKI) -> None:
    old_ca = make_ca("Hand CA", org="Hand")
    await install_by_hand(h, make_leaf(old_ca, "www.example.com"), old_ca)
    async with h.client() as c:
        body = {"vpnglobal_sslcertkey_binding": {"certkeyname": HAND}}
        await c._call(Call("PUT", "vpnglobal_sslcertkey_binding", "bind", body=body))
    [cert] = (await h.apply([adopting(pki.leaf(), [pki.intermediate])])).certificates
    assert (cert.state, cert.reason) == (CertState.FAILED, reasons.CertificateInUse)
    assert f"unbind vpn global -certkeyName {HAND}" in cert.message


async def test_refusals_name_the_reason_and_touch_nothing(h: Harness, pki: TestPKI) -> None:
    old_ca = make_ca("Hand CA", org="Hand")
    await install_by_hand(h, make_leaf(old_ca, "www.example.com"), old_ca)
    async with h.client() as c:  # an RSA certkey, bound nowhere
        rsa = make_leaf(old_ca, "rsa.example.com", key_type="rsa")
        await c.upload_file("rsa.crt", rsa.cert_pem)
        await c.upload_file("rsa.key", rsa.key_pem)
        await c.add_certkey("rsa_hand", "rsa.crt", "rsa.key")
    before = appliance(h.sim)
    h.sim.clear_requests()
    cases = {
        "missing": "does not exist",
        "hand_ca": "is a CA certkey",
        "rsa_hand": "holds a RSA certificate and the Secret's key is EC",
    }
    for i, (name, words) in enumerate(cases.items()):
        d = dataclasses.replace(
            desired(pki.leaf(f"c{i}.example.com"), [pki.intermediate], secret=f"s{i}", name=name),
            adopt=Adoption(name),
        )
        [cert] = (await h.apply([d])).certificates
        assert (cert.state, cert.reason) == (CertState.FAILED, reasons.AdoptionRefused), name
        assert words in cert.message, cert.message
    # Nothing of theirs changed (the chain's CA may be installed for later: it is ours).
    after = appliance(h.sim)["certkeys"]
    assert {n: after[n] for n in before["certkeys"]} == before["certkeys"]
    assert not [r for r in h.writes() if r.action == "update" or "binding" in r.resource]


async def test_a_certkey_of_another_cluster_is_not_adopted(sim: Simulator, pki: TestPKI) -> None:
    theirs = Harness(sim, cluster="other-cluster")
    d = desired(pki.leaf(), [pki.intermediate], name="shared_name")
    await theirs.apply([d])
    held = certkeys(sim)["shared_name"]
    ours = Harness(sim, cluster="this-cluster")
    sim.clear_requests()
    [cert] = (await ours.apply([dataclasses.replace(d, adopt=Adoption("shared_name"))])).certificates
    assert (cert.state, cert.reason) == (CertState.FAILED, reasons.AdoptionRefused)
    assert "another cluster" in cert.message
    assert certkeys(sim)["shared_name"] == held
    assert not [r for r in ours.writes() if r.action == "update" or "binding" in r.resource]


class TrustingHarness(Harness):
    """The operator's connection with `tls.caSecretRef` holding `ca_pem` (the old and new issuers)."""

    def __init__(self, sim: Simulator, ca_pem: bytes) -> None:
        super().__init__(sim)
        self.ca_pem = ca_pem

    def client(self, **kwargs: object) -> NitroClient:
        kwargs.setdefault("tls", TLSConfig(ca_pem=self.ca_pem))
        return super().client(**kwargs)  # type: ignore[arg-type]


async def test_adopting_ns_server_certificate_changes_what_the_management_endpoint_serves(
    pki: TestPKI,
) -> None:
    config = dataclasses.replace(SIM_CONFIG, management_follows_builtin=True)
    async with run_simulator(config) as sim:
        h = TrustingHarness(sim, sim.ca_pem + pki.root.cert_pem)  # trusts the new issuer too
        leaf = pki.leaf("adc.example.com", sans=["adc.example.com", "127.0.0.1"])
        d = dataclasses.replace(
            desired(leaf, [pki.intermediate], name="ns-server-certificate"),
            adopt=Adoption("ns-server-certificate"),
        )
        [cert] = (await h.apply([d])).certificates
        assert (cert.state, cert.reason) == (CertState.SYNCED, reasons.Adopted)
        assert appliance(sim)["certkeys"]["ns-server-certificate"]["serial"] == leaf.serial_hex

        # The next login verifies against the new issuer alone (the endpoint serves leaf + chain)...
        async with h.client(tls=TLSConfig(ca_pem=pki.root.cert_pem)) as c:
            assert (await c.get_certkey("ns-server-certificate")).serial == leaf.serial_hex  # type: ignore[union-attr]
        # ...and fails for a client that trusts only the old one: tls.caSecretRef must be updated first.
        with pytest.raises(TLSVerificationError):
            async with h.client(tls=TLSConfig(ca_pem=sim.ca_pem)) as c:
                await c.get_certkey("ns-server-certificate")
        # The operator's own connection goes on verifying: the next apply logs in again, writes nothing.
        h.restart()
        sim.clear_requests()
        [again] = (await h.apply([d])).certificates
        assert again.state == CertState.SYNCED and h.writes() == []
        assert sim.check_invariants() == []


async def test_adopting_with_an_encrypted_key_updates_with_its_passplain(h: Harness, pki: TestPKI) -> None:
    """The adoption's update carries passplain like every other load of an encrypted key (the
    simulator refuses an encrypted key without it, as the appliance does)."""
    old_ca = make_ca("Hand CA", org="Hand")
    await install_by_hand(h, make_leaf(old_ca, "www.example.com"), old_ca, other=False)
    new = pki.leaf("www.example.com")
    plain = adopting(new, [pki.intermediate])
    material = parse_material(
        pem_bundle([new, pki.intermediate]), new.key_pem_encrypted(b"pp-1"), passphrase=b"pp-1"
    )
    [cert] = (await h.apply([dataclasses.replace(plain, material=material)])).certificates
    assert (cert.state, cert.reason) == (CertState.SYNCED, reasons.Adopted)
    assert certkeys(h.sim)[HAND]["serial"] == new.serial_hex
    assert certkeys(h.sim)[HAND]["key_encrypted"] is True
