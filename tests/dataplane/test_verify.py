"""Post-deploy verification (engine.verify) against vservers the simulator really serves over TLS:
what a handshake sees after an apply, and how a broken appliance is told apart from a good one."""

from __future__ import annotations

import socket

from certsync_devkit.pki import TestPKI, make_ca, make_leaf
from netscaler_certsync.engine.verify import (
    ChainIncomplete,
    ServedCertificateMismatch,
    Unreachable,
    VerifyTarget,
    check_chain,
    served_chain,
    verify_handshake,
    verify_readback,
)
from netscaler_certsync.simulator import FaultRule, Simulator
from tests.support.dataplane import Deployer, desired


def target(sim: Simulator, vserver: str = "vs_https", server_name: str | None = None) -> VerifyTarget:
    host, port = sim.vserver_address(vserver)
    return VerifyTarget(host, port, server_name)


async def test_deployed_certificate_and_chain_verify(
    sim: Simulator, deployer: Deployer, pki: TestPKI
) -> None:
    leaf = pki.leaf("www.example.com")
    cert = desired(leaf, [pki.intermediate], ca=pki.root)
    await deployer.apply(cert)
    assert cert.material is not None
    result = await verify_handshake(cert.material, target(sim))
    assert result.verified, result.message
    assert result.observed_serial == leaf.serial_hex
    assert result.chain_depth == 2  # leaf + intermediate; the root is not served
    served = await served_chain(*sim.vserver_address("vs_https"), "www.example.com")
    assert [c.serial_number for c in served] == [leaf.cert.serial_number, pki.intermediate.cert.serial_number]


async def test_stale_serving_is_a_served_certificate_mismatch(
    sim: Simulator, deployer: Deployer, pki: TestPKI
) -> None:
    old, new = pki.leaf("www.example.com"), pki.leaf("www.example.com")
    await deployer.apply(desired(old, [pki.intermediate]))
    assert (await verify_handshake(desired(old, [pki.intermediate]).material, target(sim))).verified  # type: ignore[arg-type]
    sim.faults.add(FaultRule(kind="stale_serving", name="vs_https"))
    renewed = desired(new, [pki.intermediate])
    await deployer.apply(renewed)
    assert sim.state.default.certkeys["web"].info.serial == new.serial_hex  # NITRO has the new one
    assert renewed.material is not None
    result = await verify_handshake(renewed.material, target(sim))
    assert not result.verified
    assert result.reason == ServedCertificateMismatch
    assert result.observed_serial == old.serial_hex
    assert new.serial_hex in result.message and old.serial_hex in result.message
    # NITRO itself reports the new serial: only the handshake can see this fault.
    async with deployer.client() as client:
        listed = {c.name: c for c in await client.list_certkeys()}
    assert verify_readback(renewed.material, "web", listed).verified
    sim.faults.clear()
    assert (await verify_handshake(renewed.material, target(sim))).verified


async def test_dropped_link_is_an_incomplete_chain(sim: Simulator, deployer: Deployer, pki: TestPKI) -> None:
    cert = desired(pki.leaf("www.example.com"), [pki.intermediate])
    await deployer.apply(cert)
    assert cert.material is not None
    sim.faults.add(FaultRule(kind="drop_link", name="vs_other"))  # another vserver: no effect here
    assert (await verify_handshake(cert.material, target(sim))).verified
    sim.faults.add(FaultRule(kind="drop_link", name="vs_https"))
    result = await verify_handshake(cert.material, target(sim))
    assert (result.verified, result.reason, result.chain_depth) == (False, ChainIncomplete, 1)
    assert "CN=Dataplane Test Intermediate CA" in result.message and "is not sent" in result.message


async def test_readback_sees_an_unlinked_chain(sim: Simulator, deployer: Deployer, pki: TestPKI) -> None:
    cert = desired(pki.leaf("www.example.com"), [pki.intermediate])
    await deployer.apply(cert)
    assert cert.material is not None
    async with deployer.client() as client:
        assert verify_readback(
            cert.material, "web", {c.name: c for c in await client.list_certkeys()}
        ).verified
        await client.unlink_certkey("web")
        listed = {c.name: c for c in await client.list_certkeys()}
    result = verify_readback(cert.material, "web", listed)
    assert (result.verified, result.reason, result.method) == (False, ChainIncomplete, "nitro")
    # The handshake agrees: what is not linked is not sent.
    handshake = await verify_handshake(cert.material, target(sim))
    assert (handshake.reason, handshake.chain_depth) == (ChainIncomplete, 1)
    other = desired(pki.leaf("www.example.com"), [pki.intermediate])
    assert other.material is not None
    assert verify_readback(other.material, "web", listed).reason == ServedCertificateMismatch


async def test_unreachable_when_nothing_is_bound_or_nothing_listens(sim: Simulator, pki: TestPKI) -> None:
    cert = desired(pki.leaf("www.example.com"), [pki.intermediate])
    assert cert.material is not None
    down = await verify_handshake(cert.material, target(sim))  # nothing bound: handshake refused
    assert (down.verified, down.reason) == (False, Unreachable)
    with socket.socket() as free:
        free.bind(("127.0.0.1", 0))
        port = free.getsockname()[1]
    closed = await verify_handshake(cert.material, VerifyTarget("127.0.0.1", port))
    assert (closed.reason, closed.observed_serial) == (Unreachable, None)
    assert f"127.0.0.1:{port}" in closed.message


def test_a_mixed_chain_is_never_complete(pki: TestPKI) -> None:
    """New leaf (new issuer) with the old intermediate: complete by name count, broken by signature."""
    new_inter = make_ca("Dataplane Test Intermediate", issuer=pki.root)  # same name, new key
    leaf = make_leaf(new_inter, "www.example.com")
    material = desired(leaf, [new_inter], ca=pki.root).material
    assert material is not None
    assert check_chain(material, [leaf.cert, new_inter.cert]).verified
    mixed = check_chain(material, [leaf.cert, pki.intermediate.cert])
    assert (mixed.verified, mixed.reason) == (False, ChainIncomplete)
    assert check_chain(material, []).reason == ChainIncomplete
    other = check_chain(material, [pki.leaf("www.example.com").cert, pki.intermediate.cert])
    assert other.reason == ServedCertificateMismatch


async def test_sni_name_picks_the_certificate(sim: Simulator, deployer: Deployer, pki: TestPKI) -> None:
    cert = desired(
        pki.leaf("shop.example.com", sans=["shop.example.com"]),
        [pki.intermediate],
        vserver="vs_sni",
        sni=True,
    )
    await deployer.apply(cert)
    assert cert.material is not None
    # The default name is the certificate's; an SNI name no binding holds finds nothing to serve.
    assert (await verify_handshake(cert.material, target(sim, "vs_sni"))).verified
    wrong = await verify_handshake(cert.material, target(sim, "vs_sni", "nobody.example.com"))
    assert (wrong.verified, wrong.reason) == (False, Unreachable)


def test_chain_must_reach_the_configured_ca_not_one_of_the_same_name(pki: TestPKI) -> None:
    """With ca.crt, the top of the served chain must be signed by that root, not by a look-alike."""
    leaf = pki.leaf("www.example.com")
    material = desired(leaf, [pki.intermediate], ca=pki.root).material
    assert material is not None
    assert check_chain(material, [leaf.cert, pki.intermediate.cert]).verified
    impostor_root = make_ca("Dataplane Test Root CA")  # same name as the real root, other key
    impostor_inter = make_ca("Dataplane Test Intermediate CA", issuer=impostor_root, key=pki.intermediate.key)
    forged = check_chain(material, [leaf.cert, impostor_inter.cert])
    assert (forged.verified, forged.reason) == (False, ChainIncomplete)


def test_chain_order_and_extra_certificates_do_not_matter(pki: TestPKI) -> None:
    upper = make_ca("Dataplane Upper", issuer=pki.root)
    lower = make_ca("Dataplane Lower", issuer=upper)
    leaf = make_leaf(lower, "www.example.com")
    material = desired(leaf, [lower, upper]).material
    assert material is not None
    served = [leaf.cert, upper.cert, pki.intermediate.cert, lower.cert]  # shuffled, one stranger
    result = check_chain(material, served)
    assert (result.verified, result.chain_depth) == (True, 4)
    assert check_chain(material, [leaf.cert, lower.cert]).reason == ChainIncomplete  # upper missing


async def test_wildcard_certificate_is_asked_for_by_a_name_it_covers(
    sim: Simulator, deployer: Deployer, pki: TestPKI
) -> None:
    cert = desired(pki.leaf("*.shop.example.com", sans=["*.shop.example.com"]), [pki.intermediate])
    await deployer.apply(cert)
    assert cert.material is not None
    result = await verify_handshake(cert.material, target(sim))
    assert result.verified, result.message


async def test_served_keys_do_not_stay_on_disk(sim: Simulator, deployer: Deployer, pki: TestPKI) -> None:
    """The simulator loads each served key into memory; no unencrypted key file is left behind."""
    for _ in range(3):  # three renewals: three contexts built
        cert = desired(pki.leaf("www.example.com"), [pki.intermediate])
        await deployer.apply(cert)
        assert cert.material is not None
        assert (await verify_handshake(cert.material, target(sim))).verified
    listeners = sim.app.vserver_listeners
    assert listeners is not None
    assert list(listeners.workdir.iterdir()) == []
