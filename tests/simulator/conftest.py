"""Fixtures for the simulator's fidelity tests: a simulator on loopback HTTPS and a thin raw
NITRO caller (httpx) so every test sees the real status, errorcode, message and body shape."""

from __future__ import annotations

import ssl
from collections.abc import AsyncIterator
from typing import Any

import httpx
import pytest

from certsync_devkit.pki import TestPKI
from netscaler_certsync.simulator import Simulator, SimulatorConfig, run_simulator
from tests.simulator.helpers import Nitro


@pytest.fixture(scope="session")
def pki() -> TestPKI:
    return TestPKI.create()


@pytest.fixture
def sim_config() -> SimulatorConfig:
    """Override in a test module to shape the appliance."""
    return SimulatorConfig(sni_vservers=("vs_sni",), ssl_vservers=("vs_https", "vs_sni", "vs_cs:cs"),
                           non_ssl_vservers=("vs_http",))  # fmt: skip


@pytest.fixture
async def sim(sim_config: SimulatorConfig) -> AsyncIterator[Simulator]:
    async with run_simulator(sim_config) as simulator:
        yield simulator
        assert simulator.check_invariants() == []


@pytest.fixture
async def client(sim: Simulator) -> AsyncIterator[httpx.AsyncClient]:
    verify: Any = ssl.create_default_context(cafile=str(sim.ca_file)) if sim.ca_file else False
    async with httpx.AsyncClient(base_url=sim.url, verify=verify, timeout=10) as http:
        yield http


@pytest.fixture
async def nitro(client: httpx.AsyncClient) -> Nitro:
    caller = Nitro(client)
    assert (await caller.login()).status_code == 201
    return caller


@pytest.fixture
async def anon(client: httpx.AsyncClient) -> Nitro:
    """Not logged in."""
    return Nitro(client)
