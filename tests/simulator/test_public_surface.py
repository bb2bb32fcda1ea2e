"""The in-process API other engineers code against (names fixed in the simulator task): a rename
here breaks their tests, so it is pinned."""

from __future__ import annotations

import dataclasses

import netscaler_certsync.simulator as simulator
from netscaler_certsync.simulator import RequestRecord, Simulator, SimulatorConfig, run_simulator


def test_public_names() -> None:
    expected = {"SimulatorConfig", "run_simulator", "SimulatorThread", "FaultRule", "Quirks", "RequestRecord"}
    assert expected <= set(simulator.__all__)
    assert all(hasattr(simulator, name) for name in simulator.__all__)


def test_config_fields_and_defaults() -> None:
    config = SimulatorConfig()
    assert (config.host, config.port, config.https) == ("127.0.0.1", 0, True)
    assert (config.username, config.password) == ("nsroot", "nsroot")
    assert (config.ssl_vservers, config.non_ssl_vservers) == (("vs_https",), ())
    assert (config.certkey_name_max, config.seed) == (31, 0)


def test_request_record_fields() -> None:
    names = [f.name for f in dataclasses.fields(RequestRecord)]
    assert names == [
        "method",
        "path",
        "query",
        "resource",
        "name",
        "action",
        "status",
        "errorcode",
        "duration",
        "user",
        "targets",
        "session",
        "client",
        "started",
    ]
    assert RequestRecord("GET", "/x").is_write is False
    assert RequestRecord("POST", "/x", resource="sslcertkey").is_write is True
    assert RequestRecord("POST", "/x", resource="login").is_write is False


async def test_handle_attributes() -> None:
    async with run_simulator(SimulatorConfig(https=False)) as sim:
        assert isinstance(sim, Simulator)
        assert sim.url.startswith("http://127.0.0.1:") and not sim.url.endswith("/")
        assert (sim.ca_pem, sim.ca_file) == (None, None)
        assert isinstance(sim.state.dump(), dict) and sim.requests == []
        assert sim.faults.rules == [] and sim.check_invariants() == []
        assert sim.expire_sessions() == 0
        sim.clear_requests()
