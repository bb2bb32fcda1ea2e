"""Fault injection: errors per resource/verb, limits, seeded probability, latency, resets, hangs,
forced session expiry, slow saves; in-process and through the admin endpoint."""

from __future__ import annotations

import asyncio

import httpx
import pytest

from certsync_devkit.pki import TestPKI
from netscaler_certsync.simulator import FaultRule, Simulator, SimulatorConfig, parse_fault, run_simulator
from tests.simulator.helpers import Nitro, assert_done, assert_error


async def test_error_rule_limited_to_n_times(nitro: Nitro, sim: Simulator) -> None:
    rule = sim.faults.add(
        FaultRule(resource="systemfile", method="POST", status=503, errorcode=1461, times=1)
    )
    assert_error(await nitro.upload("a", b"x"), 503, 1461, "Simulated fault")
    assert_done(await nitro.upload("a", b"x"), 201)
    assert (rule.matched, rule.fired) == (2, 1)


async def test_rule_matches_action_and_after(nitro: Nitro, sim: Simulator) -> None:
    sim.faults.add(FaultRule(resource="nsconfig", action="save", status=599, errorcode=1461, after=1))
    assert_done(await nitro.get("nsconfig"))  # not the action: no match
    assert_done(await nitro.post("nsconfig?action=save", {"nsconfig": {}}))  # first match skipped
    assert_error(await nitro.post("nsconfig?action=save", {"nsconfig": {}}), 599, 1461)


async def pattern(seed: int) -> list[int]:
    config = SimulatorConfig(https=False, seed=seed)
    config = SimulatorConfig(
        https=False, seed=seed, faults=(FaultRule(resource="nsversion", probability=0.5),)
    )
    async with run_simulator(config) as sim, httpx.AsyncClient(base_url=sim.url) as http:
        nitro = Nitro(http)
        await nitro.login()
        return [(await nitro.get("nsversion")).status_code for _ in range(24)]


async def test_probability_is_seeded_and_deterministic() -> None:
    first, again = await pattern(7), await pattern(7)
    assert first == again
    assert set(first) == {200, 503}  # some fire, some do not


async def test_latency_rule_still_answers(nitro: Nitro, sim: Simulator) -> None:
    rule = sim.faults.add(FaultRule(kind="latency", resource="nsversion", delay=0.02, jitter=0.02))
    assert_done(await nitro.get("nsversion"))
    assert rule.fired == 1


async def test_connection_reset(nitro: Nitro, sim: Simulator) -> None:
    sim.faults.add(FaultRule(kind="reset", resource="nsversion", times=1))
    with pytest.raises(httpx.TransportError):
        await nitro.get("nsversion")
    assert_done(await nitro.get("nsversion"))
    assert sim.requests[-2].status == 0  # recorded as "no answer"


async def test_hang_longer_than_client_timeout(nitro: Nitro, sim: Simulator) -> None:
    sim.faults.add(FaultRule(kind="timeout", resource="nsversion", hang=3, times=1))
    with pytest.raises(httpx.ReadTimeout):
        await nitro.get("nsversion", timeout=0.3)
    assert_done(await nitro.get("nsversion"))


async def test_forced_session_expiry(nitro: Nitro, sim: Simulator) -> None:
    sim.faults.add(FaultRule(kind="expire_session", resource="sslcertkey", times=1))
    assert_error(await nitro.get("sslcertkey"), 401, 444)
    await nitro.login()
    assert_done(await nitro.get("sslcertkey"))


async def test_slow_save_and_concurrent_save_is_1461(pki: TestPKI) -> None:
    async with run_simulator(SimulatorConfig(https=False, save_delay=0.3)) as sim:
        async with httpx.AsyncClient(base_url=sim.url) as http:
            nitro = Nitro(http)
            await nitro.login()
            save = {"nsconfig": {}}
            first, second = await asyncio.gather(
                nitro.post("nsconfig?action=save", save), nitro.post("nsconfig?action=save", save)
            )
        assert sorted([first.status_code, second.status_code]) == [200, 599]
        assert {first.json()["errorcode"], second.json()["errorcode"]} == {0, 1461}
        assert sim.state.default.saves == 1


async def test_admin_endpoint_faults(client: httpx.AsyncClient, nitro: Nitro, sim: Simulator) -> None:
    rule = {"resource": "sslcertkey", "method": "GET", "status": 599, "errorcode": 1540, "message": "boom"}
    response = await client.post("/_simulator/faults", json=rule)
    assert response.status_code == 201
    assert_error(await nitro.get("sslcertkey"), 599, 1540, "boom")
    listed = (await client.get("/_simulator/faults")).json()
    assert listed[0]["fired"] == 1
    for bad in ({"bogus": 1}, {"times": "x"}, {"resource": 5}, {"delay": None}, [1], "rule"):
        assert (await client.post("/_simulator/faults", json=bad)).status_code == 400, bad
    assert (await client.delete("/_simulator/faults")).status_code == 200
    assert_done(await nitro.get("sslcertkey"))


def test_fault_rules_from_the_command_line() -> None:
    rule = parse_fault("kind=error,resource=sslcertkey,method=post,status=599,errorcode=1541,times=2")
    assert (rule.resource, rule.method, rule.status, rule.errorcode, rule.times) == (
        "sslcertkey",
        "POST",
        599,
        1541,
        2,
    )
    assert parse_fault('{"kind": "latency", "delay": 0.5}').delay == 0.5
    with pytest.raises(ValueError):
        parse_fault("kind=explode")
    with pytest.raises(ValueError):
        parse_fault("colour=red")


async def test_after_phase_faults_hide_a_write_that_happened(nitro: Nitro, sim: Simulator) -> None:
    sim.faults.add(FaultRule(kind="reset", resource="systemfile", method="POST", phase="after", times=1))
    with pytest.raises(httpx.TransportError):
        await nitro.upload("a", b"x")
    assert sim.state.default.read_path("a") == b"x"  # it took effect; the client never heard
    sim.faults.add(FaultRule(resource="systemfile", method="POST", phase="after", status=502, errorcode=9999))
    assert_error(await nitro.upload("b", b"y"), 502, 9999)
    assert sim.state.default.read_path("b") == b"y"
    with pytest.raises(ValueError):
        FaultRule(phase="during")
