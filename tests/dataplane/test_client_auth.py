"""Client authentication on a served vserver: the CAs bound with `-CA` (engine.client_ca) decide
which client certificates the simulated appliance accepts, and a bundle change never refuses a
client that the old or the new bundle trusts."""

from __future__ import annotations

import asyncio
import socket
import ssl
from pathlib import Path

import httpx
import pytest
from cryptography.hazmat.primitives import hashes

from certsync_devkit.pki import Issued, TestPKI, make_ca, make_leaf
from netscaler_certsync.domain import ca_certkey_name, cluster_tag
from netscaler_certsync.domain.client_ca import parse_ca_bundle
from netscaler_certsync.engine.client_ca import ClientCAResult, sync_client_cas
from netscaler_certsync.nitro import NitroClient
from netscaler_certsync.simulator import Simulator
from tests.simulator.helpers import Nitro
from tests.support.dataplane import Deployer, desired

CLUSTER = cluster_tag("dataplane")


def fingerprint(ca: Issued) -> str:
    return ca.cert.fingerprint(hashes.SHA256()).hex()


async def enable_client_auth(sim: Simulator, vserver: str = "vs_https", mode: str = "Mandatory") -> None:
    """What the administrator configures: `set ssl vserver <vs> -clientAuth ENABLED -clientCert <mode>`."""
    verify = ssl.create_default_context(cadata=sim.ca_pem.decode()) if sim.ca_pem else False
    async with httpx.AsyncClient(base_url=sim.url, verify=verify) as http:
        nitro = Nitro(http)
        assert (await nitro.login()).status_code == 201
        body = {"sslvserver": {"vservername": vserver, "clientauth": "ENABLED", "clientcert": mode}}
        response = await nitro.put("sslvserver", body)
        assert response.status_code == 200, response.text
        shown = (await nitro.get(f"sslvserver/{vserver}")).json()["sslvserver"][0]
        assert (shown["clientauth"], shown["clientcert"]) == ("ENABLED", mode)


def exchange(address: tuple[str, int], root: Issued, client: Issued | None, workdir: Path) -> bool:
    """One HTTPS request as a client with `client`'s certificate (or none): answered or refused."""
    context = ssl.create_default_context(cadata=root.cert_pem.decode())
    if client is not None:
        cert, key = workdir / "client.crt", workdir / "client.key"
        cert.write_bytes(client.cert_pem)
        key.write_bytes(client.key_pem)
        context.load_cert_chain(cert, key)
    try:
        with (
            socket.create_connection(address, timeout=5) as raw,
            context.wrap_socket(raw, server_hostname="www.example.com") as tls,
        ):
            tls.sendall(b"GET / HTTP/1.1\r\nHost: www.example.com\r\n\r\n")
            return tls.recv(64).startswith(b"HTTP/1.1 200")
    except (ssl.SSLError, OSError):  # TLS 1.3: the refusal arrives as an alert after the handshake
        return False


async def accepted(sim: Simulator, root: Issued, client: Issued | None, workdir: Path) -> bool:
    # In a thread: the simulator answers on this event loop.
    return await asyncio.to_thread(exchange, sim.vserver_address("vs_https"), root, client, workdir)


async def bind_bundle(
    deployer: Deployer, bundle: bytes, owned: frozenset[str] = frozenset()
) -> ClientCAResult:
    async with deployer.client() as client:
        return await sync_client_cas(
            client, "vs_https", parse_ca_bundle(bundle), owned=owned, cluster=CLUSTER, crlcheck="Optional"
        )


@pytest.fixture
async def served(sim: Simulator, deployer: Deployer, pki: TestPKI) -> Simulator:
    await deployer.apply(desired(pki.leaf("www.example.com"), [pki.intermediate], ca=pki.root))
    await enable_client_auth(sim)
    return sim


async def test_a_client_of_the_bound_ca_is_accepted_and_one_of_another_ca_refused(
    served: Simulator, deployer: Deployer, pki: TestPKI, tmp_path: Path
) -> None:
    client_ca, other_ca = make_ca("Client CA"), make_ca("Other Client CA")
    ours = make_leaf(client_ca, "alice", client=True)
    theirs = make_leaf(other_ca, "mallory", client=True)
    # Nothing bound yet: clientCert Mandatory trusts no client at all.
    assert not await accepted(served, pki.root, ours, tmp_path)

    result = await bind_bundle(deployer, client_ca.cert_pem)

    name = ca_certkey_name(fingerprint(client_ca))
    assert result.bound == (name,) and result.owned == {name}
    binding = served.state.default.vservers["vs_https"].bindings[(name, False, True)]
    assert binding.crlcheck == "Optional"
    assert await accepted(served, pki.root, ours, tmp_path)
    assert not await accepted(served, pki.root, theirs, tmp_path)
    assert not await accepted(served, pki.root, None, tmp_path)  # Mandatory: no certificate, no entry


async def test_bundle_rotation_refuses_no_client_at_any_step(
    served: Simulator, deployer: Deployer, pki: TestPKI, tmp_path: Path
) -> None:
    """A client CA renewed with the same key: clients keep their certificates, which verify under
    the old and the new CA certificate. Between any two NITRO requests of the rotation one of them
    must be bound (break-before-make would leave none, and refuse every client for a moment)."""
    old = make_ca("Client CA")
    new = make_ca("Client CA", key=old.key)
    alice = make_leaf(old, "alice", client=True)
    first = await bind_bundle(deployer, old.cert_pem)
    assert await accepted(served, pki.root, alice, tmp_path)

    refused: list[str] = []
    checked = 0
    original = NitroClient._call

    async def call_then_check(self: NitroClient, call, **kw):  # type: ignore[no-untyped-def]
        nonlocal checked
        reply = await original(self, call, **kw)
        if call.method != "GET":
            checked += 1
            if not await accepted(served, pki.root, alice, tmp_path):
                refused.append(f"{call.method} {call.resource}")
        return reply

    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(NitroClient, "_call", call_then_check)
        result = await bind_bundle(deployer, new.cert_pem, first.owned)

    assert refused == []
    assert checked >= 4  # upload, add, bind, unbind (and the old CA's delete): every step was checked
    assert set(result.bound) == result.owned == {ca_certkey_name(fingerprint(new))}
    assert result.removed == tuple(first.owned)
    assert not set(first.owned) & set(served.state.default.certkeys)  # the old CA certkey is gone
    assert await accepted(served, pki.root, alice, tmp_path)


async def test_an_emptied_bundle_removes_only_our_ca_bindings(
    served: Simulator, deployer: Deployer, pki: TestPKI, tmp_path: Path
) -> None:
    client_ca, theirs = make_ca("Client CA"), make_ca("Hand-bound CA")
    ours = await bind_bundle(deployer, client_ca.cert_pem)
    # Someone binds their own CA to the same vserver, by hand.
    async with deployer.client() as client:
        await client.upload_file("hand.crt", theirs.cert_pem)
        await client.add_certkey("hand-ca", "hand.crt")
        await client.bind_certkey("vs_https", "hand-ca", ca=True)

    async with deployer.client() as client:
        result = await sync_client_cas(client, "vs_https", (), owned=ours.owned, cluster=CLUSTER)

    assert result.owned == frozenset() and result.removed == tuple(ours.owned)
    vserver = served.state.default.vservers["vs_https"]
    assert vserver.client_cas() == ["hand-ca"]
    assert "hand-ca" in served.state.default.certkeys
    assert not set(ours.owned) & set(served.state.default.certkeys)
    hand_client = make_leaf(theirs, "bob", client=True)
    assert await accepted(served, pki.root, hand_client, tmp_path)
