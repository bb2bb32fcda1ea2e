"""The in-process API other engineers code against (names fixed in the simulator task): a rename
here breaks their tests, so it is pinned."""

from __future__ import annotations

import dataclasses

import netscaler_certsync.simulator as simulator
from netscaler_certsync.simulator import RequestRecord, Simulator, SimulatorConfig


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
    ]
    assert RequestRecord("GET", "/x").is_write is False
    assert RequestRecord("POST", "/x", resource="sslcertkey").is_write is True
    assert RequestRecord("POST", "/x", resource="login").is_write is False


def test_handle_attributes() -> None:
    for name in ("url", "ca_pem", "ca_file", "state", "requests", "faults"):
        assert name in vars(Simulator) or name in Simulator.__init__.__code__.co_names
    for method in ("clear_requests", "check_invariants", "expire_sessions", "reset", "set_ha_state"):
        assert callable(getattr(Simulator, method))
