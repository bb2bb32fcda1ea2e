"""The /_simulator admin endpoint and SimulatorThread, for tests and scripts outside the loop."""

from __future__ import annotations

import asyncio
import ssl

import httpx

from certsync_devkit.pki import TestPKI
from netscaler_certsync.simulator import Simulator, SimulatorConfig, SimulatorThread
from tests.simulator.helpers import Nitro, assert_done


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
