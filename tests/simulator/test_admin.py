"""The /_simulator admin endpoint and SimulatorThread, for tests and scripts outside the loop."""

from __future__ import annotations

import asyncio
import ssl

import httpx

from certsync_devkit.pki import TestPKI
from netscaler_certsync.simulator import Simulator, SimulatorConfig, SimulatorThread
from tests.simulator.helpers import Nitro, assert_done, assert_error


async def test_state_requests_invariants_reset(
    client: httpx.AsyncClient, nitro: Nitro, sim: Simulator, pki: TestPKI
) -> None:
    await nitro.install("www", pki.leaf())
    state = (await client.get("/_simulator/state")).json()
    assert state["certkeys"]["www"]["cert"] == "www.crt" and state["sessions"] == 1
    assert state["configchanged"] is True and "www" not in state["saved"]["certkeys"]
    logged = (await client.get("/_simulator/requests")).json()
    assert [r["resource"] for r in logged] == ["login", "systemfile", "systemfile", "sslcertkey"]
    assert logged[-1]["is_write"] is True
    assert (await client.delete("/_simulator/requests")).status_code == 200
    assert sim.requests == []
    assert (await client.get("/_simulator/invariants")).json() == {"ok": True, "problems": []}
    assert (await client.post("/_simulator/expire-sessions")).json() == {"expired": 1}
    assert (await nitro.get("sslcertkey")).status_code == 401
    assert (await client.post("/_simulator/reset")).status_code == 200
    assert "www" not in sim.state.dump()["certkeys"] and sim.state.dump()["files"]


def test_simulator_thread_serves_sync_code(pki: TestPKI) -> None:
    with SimulatorThread(SimulatorConfig()) as sim:
        assert sim.url.startswith("https://127.0.0.1:") and sim.ca_pem and sim.ca_file.exists()
        context = ssl.create_default_context(cafile=str(sim.ca_file))
        with httpx.Client(base_url=sim.url, verify=context) as http:
            response = http.post(
                "/nitro/v1/config/login", json={"login": {"username": "nsroot", "password": "nsroot"}}
            )
            assert response.status_code == 201
            headers = {"Cookie": f"NITRO_AUTH_TOKEN={response.json()['sessionid']}"}
            assert_done(http.get("/nitro/v1/config/nsversion", headers=headers))
        assert [r.resource for r in sim.requests] == ["login", "nsversion"]
        assert sim.check_invariants() == []
    assert not sim._thread.is_alive()


def test_http_mode_has_no_ca() -> None:
    thread = SimulatorThread(SimulatorConfig(https=False)).start()
    try:
        assert thread.url.startswith("http://") and thread.ca_pem is None and thread.ca_file is None
    finally:
        thread.stop()


async def test_failover_through_the_admin_endpoint(
    client: httpx.AsyncClient, nitro: Nitro, sim: Simulator
) -> None:
    assert (await client.post("/_simulator/ha", json={"state": "secondary"})).json() == {
        "hanode": "secondary"
    }
    assert (await nitro.get("hanode")).json()["hanode"][0]["state"] == "Secondary"
    assert (await client.post("/_simulator/ha", json={"state": "sideways"})).status_code == 400
    sim.set_ha_state("primary")
    assert (await nitro.get("hanode")).json()["hanode"][0]["state"] == "Primary"


async def test_ca_served_and_extra_names_in_the_certificate() -> None:
    from cryptography import x509

    from netscaler_certsync.simulator import run_simulator

    config = SimulatorConfig(tls_hosts=("netscaler-sim.demo.svc",))
    async with run_simulator(config) as sim:
        context = ssl.create_default_context(cafile=str(sim.ca_file))
        async with httpx.AsyncClient(base_url=sim.url, verify=context) as http:
            response = await http.get("/_simulator/ca.pem")
            assert response.content == sim.ca_pem
            served = await asyncio.get_running_loop().run_in_executor(
                None, ssl.get_server_certificate, ("127.0.0.1", int(sim.url.rsplit(":", 1)[1]))
            )
        san = x509.load_pem_x509_certificate(served.encode()).extensions.get_extension_for_class(
            x509.SubjectAlternativeName
        )
        assert "netscaler-sim.demo.svc" in san.value.get_values_for_type(x509.DNSName)


async def test_request_log_cap() -> None:
    from netscaler_certsync.simulator import run_simulator

    async with run_simulator(SimulatorConfig(https=False, request_log_max=5)) as sim:
        async with httpx.AsyncClient(base_url=sim.url) as http:
            for _ in range(23):
                await http.get("/nitro/v1/config/nsversion")
        assert 5 <= len(sim.requests) <= 10
        assert all(r.resource == "nsversion" for r in sim.requests)


async def test_reboot_brings_back_the_saved_configuration(
    client: httpx.AsyncClient, nitro: Nitro, sim: Simulator, pki: TestPKI
) -> None:
    """A restart (issue 16 #12): what was saved runs again, what was applied after the save is gone,
    files stay, and a session from before is answered 401/444."""
    old, new = pki.leaf("boot.example.com"), pki.leaf("boot.example.com")
    await nitro.install("inter", pki.intermediate, with_key=False)
    await nitro.install("www", old)
    assert_done(
        await nitro.post(
            "sslcertkey?action=link", {"sslcertkey": {"certkey": "www", "linkcertkeyname": "inter"}}
        )
    )
    assert_done(await nitro.bind("vs_https", "www"))
    assert_done(await nitro.post("nsconfig?action=save", {"nsconfig": {}}))
    # after the save: an update in place, an unbind and a new certkey, never saved
    await nitro.upload("new.crt", new.cert_pem)
    await nitro.upload("new.key", new.key_pem)
    body = {"sslcertkey": {"certkey": "www", "cert": "new.crt", "key": "new.key"}}
    assert_done(await nitro.post("sslcertkey?action=update", body))
    assert_done(await nitro.delete("sslvserver_sslcertkey_binding/vs_https?args=certkeyname:www"))
    await nitro.install("extra", pki.leaf("extra.example.com"))
    assert (await client.post("/_simulator/reboot")).json() == {"rebooted": True}
    assert_error(await nitro.get("sslcertkey"), 401, 444)
    await nitro.login()
    state = sim.state.dump()
    assert set(state["certkeys"]) == {"ns-server-certificate", "inter", "www"}
    assert (
        state["certkeys"]["www"]["serial"] == old.serial_hex and state["certkeys"]["www"]["cert"] == "www.crt"
    )
    assert state["links"] == {"www": "inter"}
    assert state["bindings"] == [{"vserver": "vs_https", "certkey": "www", "snicert": False, "ca": False}]
    assert {"/nsconfig/ssl/new.crt", "/nsconfig/ssl/extra.crt"} <= set(state["files"])  # files survive
    assert state["configchanged"] is False
    # the restored objects are live: the duplicate index knows www again, a second reboot agrees
    await nitro.upload("old.crt", old.cert_pem)
    assert_error(await nitro.add_certkey("dup", "old.crt"), 409, 273)
    assert sim.check_invariants() == []
    await nitro.upload("extra2.crt", pki.leaf("extra2.example.com").cert_pem)
    assert_done(await nitro.add_certkey("extra", "extra2.crt"), 201)
    sim.reboot()
    await nitro.login()
    assert "extra" not in sim.state.dump()["certkeys"]


def test_the_request_log_tells_sessions_and_clients_apart_without_holding_a_token() -> None:
    """Two clients' requests carry their own session label and User-Agent (the HA tier tells the
    writes of two operator processes apart with them); the log never holds the token itself."""
    from netscaler_certsync.nitro import Credentials, NitroClient, TLSConfig
    from netscaler_certsync.simulator.sessions import session_label

    sim = SimulatorThread().start()
    try:

        async def one(agent: str) -> str | None:
            async with NitroClient(
                sim.url, Credentials("nsroot", "nsroot"), tls=TLSConfig(ca_pem=sim.ca_pem), user_agent=agent
            ) as client:
                await client.version()
                return client._token

        tokens = [asyncio.run(one("op-a")), asyncio.run(one("op-b"))]
        records = [r for r in sim.requests if r.resource != "logout"]
        by_client = {c: {r.session for r in records if r.client == c} for c in ("op-a", "op-b")}
        assert by_client == {"op-a": {session_label(tokens[0])}, "op-b": {session_label(tokens[1])}}
        assert not [r for r in sim.requests if any(t and t in repr(r) for t in tokens)]
    finally:
        sim.stop()
