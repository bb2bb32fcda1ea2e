"""A stateful NetScaler NITRO simulator (aiohttp) for tests, the demo, benchmarks and kind e2e.

It follows docs/nitro.md on its own (it shares no code with the client):

    async with run_simulator(SimulatorConfig(https=True)) as sim:
        sim.url, sim.ca_file, sim.state.dump(), sim.requests, sim.faults.add(FaultRule(...))

`SimulatorThread(config).start()` serves the same from a background thread.
"""

from netscaler_certsync.simulator.config import Quirks, RestrictedUser, SimulatorConfig
from netscaler_certsync.simulator.errors import ERRORS, NitroError
from netscaler_certsync.simulator.faults import FaultInjector, FaultRule, parse_fault
from netscaler_certsync.simulator.records import RequestRecord
from netscaler_certsync.simulator.runner import Simulator, SimulatorThread, run_ha_pair, run_simulator
from netscaler_certsync.simulator.state import ApplianceState

__all__ = [
    "ERRORS",
    "ApplianceState",
    "FaultInjector",
    "FaultRule",
    "NitroError",
    "Quirks",
    "RequestRecord",
    "RestrictedUser",
    "Simulator",
    "SimulatorConfig",
    "SimulatorThread",
    "parse_fault",
    "run_ha_pair",
    "run_simulator",
]
