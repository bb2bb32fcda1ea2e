"""Fixtures for the engine against the simulator over HTTPS on loopback (helpers: tests/support)."""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable

import pytest

from certsync_devkit.pki import TestPKI
from netscaler_certsync.simulator import Simulator, run_simulator
from tests.support.engine import SIM_CONFIG, Harness


@pytest.fixture
async def sim() -> AsyncIterator[Simulator]:
    async with run_simulator(SIM_CONFIG) as simulator:
        yield simulator
        # Whatever a test did, the appliance must be consistent afterwards (no dangling links,
        # bindings to missing certkeys, certkeys whose files are gone...).
        assert simulator.check_invariants() == []


@pytest.fixture(scope="session")
def pki() -> TestPKI:
    return TestPKI.create()


@pytest.fixture
def harness(sim: Simulator) -> Callable[..., Harness]:
    return lambda **options: Harness(sim, **options)
