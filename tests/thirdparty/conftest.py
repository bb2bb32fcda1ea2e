"""Fixtures for third-party NITRO clients run unmodified against the simulator (helpers: clients.py)."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from certsync_devkit.pki import TestPKI
from netscaler_certsync.simulator import Quirks, SimulatorConfig, SimulatorThread

#: the simulator's defaults, and the other answers real builds give that these clients meet
BUILDS = {
    "defaults": Quirks(),
    "other-builds": Quirks(
        missing_certkey_code=1540, empty_write_bodies=True, add_status=200, login_cookie="sessionid"
    ),
}


@pytest.fixture(params=sorted(BUILDS))
def appliance(request: pytest.FixtureRequest) -> Iterator[SimulatorThread]:
    """One simulated appliance over HTTPS on 127.0.0.1, in a thread of this process, stopped by its
    handle; the clients run as child processes and reach it over TCP like a real box."""
    config = SimulatorConfig(https=True, host="127.0.0.1", quirks=BUILDS[request.param], log_requests=False)
    with SimulatorThread(config) as sim:
        yield sim
        assert sim.check_invariants() == []


@pytest.fixture(scope="session")
def pki() -> TestPKI:
    # RSA like Let's Encrypt's RSA chain; certbot's own default leaf key is ECDSA (key_type="ec").
    return TestPKI.create("Third Party", key_type="rsa")
