"""SSL vservers served over TLS (`serve_vservers=True`): the handshake shows what is bound -
default or SNI certificate, the linked chain, the new certificate right after a change."""

from __future__ import annotations

import asyncio
import ssl
from collections.abc import AsyncIterator

import httpx
import pytest
from cryptography import x509

from certsync_devkit.pki import TestPKI
from netscaler_certsync.simulator import Simulator, SimulatorConfig, run_simulator
from tests.simulator.helpers import Nitro, assert_done


@pytest.fixture
async def served() -> AsyncIterator[tuple[Simulator, Nitro]]:
    config = SimulatorConfig(https=False, serve_vservers=True, sni_vservers=("vs_sni",),
                             ssl_vservers=("vs_https", "vs_sni"))  # fmt: skip
    async with run_simulator(config) as sim, httpx.AsyncClient(base_url=sim.url) as http:
        nitro = Nitro(http)
        await nitro.login()
        yield sim, nitro
        assert sim.check_invariants() == []


async def handshake(address: tuple[str, int], server_name: str, trust: bytes | None) -> x509.Certificate:
    """The certificate served for `server_name`; with `trust`, the chain must verify up to it."""
    if trust is not None:
        context = ssl.create_default_context(cadata=trust.decode())
    else:  # only looking at what is served
        context = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
        context.check_hostname = False
        context.verify_mode = ssl.CERT_NONE
    _, writer = await asyncio.open_connection(*address, ssl=context, server_hostname=server_name)
    try:
        der = writer.get_extra_info("ssl_object").getpeercert(binary_form=True)
        return x509.load_der_x509_certificate(der)
    finally:
        writer.close()


async def test_default_certificate_and_change(served: tuple[Simulator, Nitro], pki: TestPKI) -> None:
    sim, nitro = served
    address = sim.vserver_address("vs_https")
    with pytest.raises((ssl.SSLError, ConnectionError)):
        await handshake(address, "www.example.com", None)  # nothing bound: the vserver is down
    old, new = pki.leaf("www.example.com"), pki.leaf("www.example.com")
    await nitro.install("www", old)
    await nitro.bind("vs_https", "www")
    assert (await handshake(address, "www.example.com", None)).serial_number == old.cert.serial_number
    await nitro.upload("new.crt", new.cert_pem)
    await nitro.upload("new.key", new.key_pem)
    body = {"sslcertkey": {"certkey": "www", "cert": "new.crt", "key": "new.key"}}
    assert_done(await nitro.post("sslcertkey?action=update", body))
    assert (await handshake(address, "www.example.com", None)).serial_number == new.cert.serial_number


async def test_linked_chain_is_sent(served: tuple[Simulator, Nitro], pki: TestPKI) -> None:
    sim, nitro = served
    address = sim.vserver_address("vs_https")
    await nitro.install("inter", pki.intermediate, with_key=False)
    await nitro.install("www", pki.leaf("www.example.com"))
    await nitro.bind("vs_https", "www")
    with pytest.raises(ssl.SSLCertVerificationError):
        await handshake(address, "www.example.com", pki.root.cert_pem)  # leaf alone: no path to the root
    link = {"sslcertkey": {"certkey": "www", "linkcertkeyname": "inter"}}
    assert_done(await nitro.post("sslcertkey?action=link", link))
    served_cert = await handshake(address, "www.example.com", pki.root.cert_pem)
    assert served_cert.subject.rfc4514_string() == "CN=www.example.com"


async def test_sni_selects_by_server_name(served: tuple[Simulator, Nitro], pki: TestPKI) -> None:
    sim, nitro = served
    address = sim.vserver_address("vs_sni")
    a, b, fallback = pki.leaf("a.example.com"), pki.leaf("b.example.com"), pki.leaf("default.example.com")
    for name, issued in (("a", a), ("b", b), ("fallback", fallback)):
        await nitro.install(name, issued)
    await nitro.bind("vs_sni", "a", snicert=True)
    await nitro.bind("vs_sni", "b", snicert=True)
    await nitro.bind("vs_sni", "fallback")
    assert (await handshake(address, "a.example.com", None)).serial_number == a.cert.serial_number
    assert (await handshake(address, "B.example.com", None)).serial_number == b.cert.serial_number
    assert (await handshake(address, "other.example.com", None)).serial_number == fallback.cert.serial_number
    state = (await nitro.client.get("/_simulator/state")).json()
    assert state["vserver_addresses"]["vs_sni"] == "{}:{}".format(*address)


async def test_encrypted_key_is_served(served: tuple[Simulator, Nitro], pki: TestPKI) -> None:
    sim, nitro = served
    leaf = pki.leaf("enc.example.com")
    await nitro.upload("enc.crt", leaf.cert_pem)
    await nitro.upload("enc.key", leaf.key_pem_encrypted(b"pw"))
    assert_done(await nitro.add_certkey("enc", "enc.crt", "enc.key", passplain="pw", password=True), 201)
    await nitro.bind("vs_https", "enc")
    served_cert = await handshake(sim.vserver_address("vs_https"), "enc.example.com", None)
    assert served_cert.serial_number == leaf.cert.serial_number


async def test_not_served_unless_asked(sim: Simulator) -> None:
    with pytest.raises(RuntimeError):
        sim.vserver_address("vs_https")


async def handshake_with(address: tuple[str, int], ciphers: str) -> x509.Certificate:
    """TLS 1.2 offering only `ciphers`: the server must pick the certificate whose key can sign."""
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
    context.check_hostname = False
    context.verify_mode = ssl.CERT_NONE
    context.maximum_version = ssl.TLSVersion.TLSv1_2
    context.set_ciphers(ciphers)
    _, writer = await asyncio.open_connection(*address, ssl=context, server_hostname="www.example.com")
    try:
        der = writer.get_extra_info("ssl_object").getpeercert(binary_form=True)
        return x509.load_der_x509_certificate(der)
    finally:
        writer.close()


async def test_rsa_and_ecdsa_defaults_served_by_client_capability(
    served: tuple[Simulator, Nitro], pki: TestPKI
) -> None:
    """One vserver, an RSA and an ECDSA default certificate: an ECDSA-capable client gets the EC
    certificate, an RSA-only client the RSA one (CTX224272)."""
    sim, nitro = served
    address = sim.vserver_address("vs_https")
    ec_leaf = pki.leaf("www.example.com")
    rsa_leaf = pki.leaf("www.example.com", key_type="rsa")
    await nitro.install("www_ec", ec_leaf)
    await nitro.install("www_rsa", rsa_leaf)
    assert_done(await nitro.bind("vs_https", "www_ec"))
    assert_done(await nitro.bind("vs_https", "www_rsa"))
    ecdsa_only = await handshake_with(address, "ECDHE-ECDSA-AES128-GCM-SHA256")
    rsa_only = await handshake_with(address, "ECDHE-RSA-AES128-GCM-SHA256")
    assert ecdsa_only.serial_number == ec_leaf.cert.serial_number
    assert rsa_only.serial_number == rsa_leaf.cert.serial_number
