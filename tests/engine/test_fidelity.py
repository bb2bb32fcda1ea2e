"""The engine against answers real appliances give and the simulator once did not (issue 16).

Each test sets up what a real NetScaler shows — a serial printed in whole bytes, a duplicate
detected by serial and issuer, a platform that refuses ECDSA, an update refused while bound to VPN
global — and asserts what a user would see: writes, saves, certkeys, the reason in the result.
"""

from __future__ import annotations

import dataclasses
from collections.abc import AsyncIterator

import pytest
from cryptography.hazmat.primitives.asymmetric import ec

from certsync_devkit.pki import TestPKI, make_ca, make_leaf
from netscaler_certsync.domain import reasons
from netscaler_certsync.engine import BindingSpec, CertState
from netscaler_certsync.nitro.wire import Call
from netscaler_certsync.simulator import FaultRule, Quirks, Simulator, run_simulator
from tests.support.engine import SIM_CONFIG, Harness, appliance, bindings, certkeys, desired, orphans


def _vpn_bind(certkey: str) -> Call:
    body = {"vpnglobal_sslcertkey_binding": {"certkeyname": certkey}}
    return Call("PUT", "vpnglobal_sslcertkey_binding", "bind", body=body)


LEADING_ZERO_SERIAL = 0x0A0141420000015385736A0B85ECA708  # the Let's Encrypt X3 intermediate's


@pytest.fixture
async def h(sim: Simulator) -> AsyncIterator[Harness]:
    yield Harness(sim)
    assert sim.check_invariants() == []


async def test_foreign_ca_with_a_leading_zero_serial_is_found_and_nothing_is_saved_again(
    h: Harness, pki: TestPKI
) -> None:
    ca = make_ca("Leading Zero CA", issuer=pki.root, path_length=0, serial=LEADING_ZERO_SERIAL)
    async with h.client() as c:  # someone installed that CA under their own name
        await c.upload_file("x3.crt", ca.cert_pem)
        await c.add_certkey("LE-X3", "x3.crt")
    assert certkeys(h.sim)["LE-X3"]["serial"] == "0A0141420000015385736A0B85ECA708"
    d = desired(make_leaf(ca, "zero.example.com"), [ca])
    first = await h.apply([d])
    assert first.certificates[0].state == CertState.SYNCED
    assert appliance(h.sim)["links"] == {d.name: "LE-X3"}
    saves, writes = appliance(h.sim)["saves"], len(h.writes())
    for _ in range(2):  # every later reconcile is a no-op: no re-upload, no alias, no save
        again = await h.apply([d])
        assert again.certificates[0].state == CertState.SYNCED
        assert not again.saved
    assert len(h.writes()) == writes
    assert appliance(h.sim)["saves"] == saves
    assert set(certkeys(h.sim)) == {"LE-X3", d.name}
    assert orphans(h.sim) == set()


@pytest.mark.parametrize("status,body", [(401, "html"), (200, "json")], ids=["html-401", "444-with-200"])
async def test_a_dead_session_mid_apply_logs_in_once_and_the_apply_completes(
    h: Harness, pki: TestPKI, status: int, body: str
) -> None:
    # After a failover the first write meets a dead session (issue 16 #2).
    h.sim.faults.add(
        FaultRule(resource="systemfile", method="POST", status=status, errorcode=444, body=body, times=1)
    )  # type: ignore[arg-type]
    d = desired(pki.leaf(), [pki.intermediate])
    result = await h.apply([d])
    assert result.certificates[0].state == CertState.SYNCED
    assert [r.resource for r in h.sim.requests].count("login") == 2
    assert d.name in certkeys(h.sim)


async def test_a_different_ca_with_the_same_serial_and_issuer_is_never_used_as_ours(
    h: Harness, pki: TestPKI
) -> None:
    # CTX206045: NetScaler holds one certificate per (serial, issuer). Someone holds a re-signed
    # twin of our intermediate (same subject, serial and issuer; another key and validity).
    serial = 0x1234567890
    ours = make_ca("Twin CA", issuer=pki.root, path_length=0, serial=serial)
    twin = make_ca("Twin CA", issuer=pki.root, path_length=0, serial=serial, days=400)
    async with h.client() as c:
        await c.upload_file("twin.crt", twin.cert_pem)
        await c.add_certkey("THEIR-TWIN", "twin.crt")
    d = desired(make_leaf(ours, "twin.example.com"), [ours])
    result = await h.apply([d])
    [cert] = result.certificates
    assert cert.state == CertState.FAILED and cert.reason == reasons.DuplicateCertificate
    assert "THEIR-TWIN" in cert.message and "same serial and issuer" in cert.message
    assert appliance(h.sim)["links"].get(d.name) != "THEIR-TWIN"
    assert certkeys(h.sim)["THEIR-TWIN"]["serial"] == twin.serial_hex  # theirs untouched


@pytest.mark.parametrize(
    "platform", [{"ecdsa": False}, {"ecdsa_curves": ("secp256r1",)}], ids=["rsa-only", "p256-only"]
)
async def test_a_platform_without_ecdsa_gets_a_named_reason(
    pki: TestPKI, platform: dict[str, object]
) -> None:
    # 1675 "ECDSA certificates are not supported for this entity/platform", 1676 for the curve (NRD).
    config = dataclasses.replace(SIM_CONFIG, **platform)  # type: ignore[arg-type]
    key = ec.generate_private_key(ec.SECP384R1())  # an ECDSA P-384 leaf: refused either way
    async with run_simulator(config) as sim:
        h = Harness(sim)
        result = await h.apply([desired(make_leaf(pki.intermediate, "p384.example.com", key=key))])
        [cert] = result.certificates
        assert cert.state == CertState.FAILED and cert.reason == reasons.KeyTypeNotSupported
        assert "RSA" in cert.message
        assert certkeys(sim) == {}
        assert sim.check_invariants() == []


async def test_renewal_of_a_certkey_bound_to_vpn_global_says_what_to_do(h: Harness, pki: TestPKI) -> None:
    # 1541 while bound to VPN global (NetScalerToolkit docs): a named reason, never a generic error.
    old, new = pki.leaf(), pki.leaf()
    first = await h.apply([desired(old, [pki.intermediate])])
    name = first.certificates[0].certkey
    async with h.client() as c:  # an administrator uses our certificate for the gateway too
        await c._call(_vpn_bind(name))
    result = await h.apply([desired(new, [pki.intermediate])])
    [cert] = result.certificates
    assert cert.state == CertState.FAILED and cert.reason == reasons.CertificateInUse
    assert "VPN global" in cert.message and f"unbind vpn global -certkeyName {name}" in cert.message
    assert certkeys(h.sim)[name]["serial"] == old.serial_hex  # the appliance still holds the old one


async def test_a_121_build_that_wants_a_passplain_for_plain_keys_deploys_and_renews(pki: TestPKI) -> None:
    # ryancbutler/ns-letsencrypt #5 (12.1): an unencrypted key refused with 1537 until a passplain
    # was sent; the client sends Keyfactor's dummy one with every plain key (issue 16 #9).
    config = dataclasses.replace(SIM_CONFIG, quirks=Quirks(require_passplain=True))
    async with run_simulator(config) as sim:
        h = Harness(sim)
        first = await h.apply([desired(pki.leaf(), [pki.intermediate])])
        assert first.certificates[0].state == CertState.SYNCED
        renewed = await h.apply([desired(pki.leaf(), [pki.intermediate])])
        assert renewed.certificates[0].state == CertState.SYNCED
        assert renewed.certificates[0].reason == reasons.Renewed
        assert [r.errorcode for r in sim.requests if r.errorcode == 1537] == []
        assert sim.check_invariants() == []


async def test_an_rsa_and_an_ecdsa_default_certificate_stay_bound_side_by_side(
    h: Harness, pki: TestPKI
) -> None:
    # CTX224272 (issue 16 #11): one vserver serves an RSA and an ECDSA default certificate. Both
    # bound once, later applies change nothing and the appliance keeps both bindings.
    vs = (BindingSpec("vs_https"),)
    ec_cert = desired(pki.leaf("dual.example.com"), [pki.intermediate], secret="dual-ec", bindings=vs)
    rsa_leaf = pki.leaf("dual.example.com", key_type="rsa")
    rsa_cert = desired(rsa_leaf, [pki.intermediate], secret="dual-rsa", bindings=vs)
    first = await h.apply([ec_cert, rsa_cert])
    assert [c.state for c in first.certificates] == [CertState.SYNCED, CertState.SYNCED]
    expected = {("vs_https", ec_cert.name, False), ("vs_https", rsa_cert.name, False)}
    assert bindings(h.sim) == expected
    writes = len(h.writes())
    again = await h.apply([ec_cert, rsa_cert])
    assert [c.state for c in again.certificates] == [CertState.SYNCED, CertState.SYNCED]
    assert len(h.writes()) == writes and not again.saved
    assert bindings(h.sim) == expected
    async with h.client() as c:  # what the client reads tells which slot each certkey fills
        assert (await c.get_certkey(ec_cert.name)).key_type == "EC"  # type: ignore[union-attr]
        assert (await c.get_certkey(rsa_cert.name)).key_type == "RSA"  # type: ignore[union-attr]


@pytest.mark.parametrize("max_age", [0.0, 3600.0], ids=["list-every-apply", "snapshot-reuse"])
async def test_a_reboot_before_the_save_is_noticed_and_the_renewal_applied_again(
    harness: object, sim: Simulator, pki: TestPKI, max_age: float
) -> None:
    # Issue 16 #12: a renewal is live but its save failed; the appliance restarts and comes back
    # with the saved configuration (the old certificate), files kept, every session dead.
    h = harness(snapshot_max_age=max_age)  # type: ignore[operator]
    vs = (BindingSpec("vs_https"),)
    old, new = pki.leaf("boot.example.com"), pki.leaf("boot.example.com")
    first = await h.apply([desired(old, [pki.intermediate], bindings=vs)])
    assert first.saved and first.certificates[0].state == CertState.SYNCED
    sim.faults.add(
        FaultRule(kind="error", resource="nsconfig", method="POST", status=599, errorcode=3000, times=1)
    )
    renewed = await h.apply([desired(new, [pki.intermediate], bindings=vs)])
    assert renewed.not_saved is not None  # the operator knows a reboot would lose it
    name = renewed.certificates[0].certkey
    assert certkeys(sim)[name]["serial"] == new.serial_hex
    sim.reboot()
    # The renewal is gone from the box (and, as its old files were deleted before the save, so is
    # the certkey: ns.conf cannot load it at boot).
    assert certkeys(sim).get(name, {}).get("serial") != new.serial_hex
    again = await h.apply([desired(new, [pki.intermediate], bindings=vs)])
    assert again.certificates[0].state == CertState.SYNCED and again.saved
    assert certkeys(sim)[name]["serial"] == new.serial_hex
    assert appliance(sim)["saved"]["certkeys"][name]["serial"] == new.serial_hex
    assert ("vs_https", name, False) in bindings(sim)


@pytest.mark.parametrize("uploads", ["refuse", "accept"])
async def test_a_sync_into_an_admin_partition_uses_the_partitions_own_directory(
    pki: TestPKI, uploads: str
) -> None:
    # Issue 16 #10: a partition loads certkey files only from /nsconfig/partitions/<name>/ssl; an
    # upload elsewhere is refused (1645) or, where accepted, cannot be loaded (1647).
    config = dataclasses.replace(SIM_CONFIG, partitions=("p1",), quirks=Quirks(partition_uploads=uploads))  # type: ignore[arg-type]
    async with run_simulator(config) as sim:
        h = Harness(sim)
        make = h.client
        h.client = lambda **kw: make(**{"partition": "p1", **kw})  # type: ignore[method-assign]
        d = desired(pki.leaf("p1.example.com"), [pki.intermediate], bindings=(BindingSpec("vs_https"),))
        first = await h.apply([d])
        assert first.certificates[0].state == CertState.SYNCED and first.saved
        p1 = sim.state.dump()["partitions"]["p1"]
        assert d.name in p1["certkeys"] and d.name not in certkeys(sim)
        assert all(path.startswith("/nsconfig/partitions/p1/ssl/") for path in p1["files"])
        again = await h.apply([d])
        assert again.certificates[0].state == CertState.SYNCED and not again.saved
        assert sim.check_invariants() == []
