"""Fixtures for the client against the simulator over real HTTPS on loopback."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

import pytest

from certsync_devkit.pki import TestPKI
from netscaler_certsync.nitro import Credentials, NitroClient, RetryPolicy, TLSConfig
from netscaler_certsync.simulator import RestrictedUser, Simulator, SimulatorConfig, run_simulator
from tests.support.nitro import ClientFactory

SIM_CONFIG = SimulatorConfig(
    ssl_vservers=("vs_https", "vs_sni"),
    sni_vservers=("vs_sni",),
    partitions=("p1",),
    restricted_users=(RestrictedUser("viewer", "viewer-pw", r"^show "),),
    log_requests=False,
)


@pytest.fixture
async def sim() -> AsyncIterator[Simulator]:
    async with run_simulator(SIM_CONFIG) as simulator:
        yield simulator
        assert simulator.check_invariants() == []


@pytest.fixture
def make_client(sim: Simulator) -> ClientFactory:
    """A client for the simulator that trusts its CA; keyword arguments override the defaults."""

    def make(**kwargs: Any) -> NitroClient:
        kwargs.setdefault("tls", TLSConfig(ca_pem=sim.ca_pem))
        kwargs.setdefault("retry", RetryPolicy(attempts=3, base_delay=0.0))
        credentials = kwargs.pop("credentials", Credentials("nsroot", "nsroot"))
        return NitroClient(sim.url, credentials, **kwargs)

    return make


@pytest.fixture(scope="session")
def pki() -> TestPKI:
    return TestPKI.create()
