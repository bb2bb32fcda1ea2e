"""Fixtures for the data-plane tier: a simulator whose SSL vservers answer TLS, and the engine."""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import pytest
from kubernetes import client, config

from certsync_devkit.k8s_thread import EmulatorThread
from certsync_devkit.operator_thread import OperatorThread
from certsync_devkit.pki import TestPKI
from netscaler_certsync.k8s import ClusterAccess
from netscaler_certsync.reconcile.context import OperatorOptions
from netscaler_certsync.simulator import Simulator, SimulatorThread, run_simulator
from tests.dataplane.scenario import SERVED
from tests.operator.harness import Cluster
from tests.support.dataplane import Deployer


@pytest.fixture
async def sim() -> AsyncIterator[Simulator]:
    async with run_simulator(SERVED) as simulator:
        yield simulator
        assert simulator.check_invariants() == []


@pytest.fixture
def pki() -> TestPKI:
    return TestPKI.create("Dataplane Test")


@pytest.fixture
def deployer(sim: Simulator) -> Deployer:
    return Deployer(sim)


# -- the real operator (as in tests/operator) against a simulator whose vservers answer TLS -------------
@pytest.fixture
def emulator() -> Iterator[EmulatorThread]:
    emu = EmulatorThread().start()
    yield emu
    emu.stop()


@pytest.fixture
def served_simulator() -> Iterator[SimulatorThread]:
    thread = SimulatorThread(SERVED).start()
    yield thread
    thread.stop()


@pytest.fixture
def api(emulator: EmulatorThread, tmp_path: Path) -> Iterator[client.ApiClient]:
    api = config.new_client_from_config(config_file=emulator.write_kubeconfig(tmp_path / "kubeconfig"))
    yield api
    api.close()


@pytest.fixture
def operator_options() -> OperatorOptions:
    # kopf retries a transient failure after at most 2 s, as in tests/operator: a retry still
    # pending when a test ends would otherwise hold the operator's stop for its whole delay (10 s
    # for a failed verification). A test of the real delay parametrizes `operator_options`.
    return OperatorOptions(
        health_check_tick_seconds=0.5, drift_check_tick_seconds=0.5, max_retry_delay_seconds=2.0
    )


@pytest.fixture
def operator(emulator: EmulatorThread, operator_options: OperatorOptions) -> Iterator[OperatorThread]:
    access = ClusterAccess(server=emulator.url, token="operator-token")
    op = OperatorThread(access, operator_options).start()
    yield op
    op.stop()
    assert op.error is None, op.error


@pytest.fixture
def cluster(
    api: client.ApiClient, emulator: EmulatorThread, served_simulator: SimulatorThread, pki: TestPKI
) -> Cluster:
    return Cluster(api, emulator, served_simulator, pki)
