"""Fixtures for the data-plane tier: a simulator whose SSL vservers answer TLS, and the engine."""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator, Sequence
from pathlib import Path

import pytest
from kubernetes import client, config

from certsync_devkit.k8s_thread import EmulatorThread
from certsync_devkit.operator_thread import OperatorThread
from certsync_devkit.pki import Issued, TestPKI, pem_bundle
from netscaler_certsync.domain import parse_material
from netscaler_certsync.engine import (
    ApplianceResult,
    Appliances,
    BindingSpec,
    DesiredCertificate,
    Records,
    SyncOptions,
    appliance_key,
    sync_appliance,
)
from netscaler_certsync.k8s import ClusterAccess
from netscaler_certsync.nitro import Credentials, NitroClient, RetryPolicy, TLSConfig
from netscaler_certsync.reconcile.context import OperatorOptions
from netscaler_certsync.simulator import Simulator, SimulatorThread, run_simulator
from tests.dataplane.scenario import SERVED
from tests.operator.harness import Cluster


@pytest.fixture
async def sim() -> AsyncIterator[Simulator]:
    async with run_simulator(SERVED) as simulator:
        yield simulator
        assert simulator.check_invariants() == []


@pytest.fixture
def pki() -> TestPKI:
    return TestPKI.create("Dataplane Test")


def desired(
    leaf: Issued,
    chain: Sequence[Issued] = (),
    *,
    ca: Issued | None = None,
    vserver: str = "vs_https",
    sni: bool = False,
) -> DesiredCertificate:
    """The certificate of Secret shop/web as the operator hands it to the engine."""
    material = parse_material(pem_bundle([leaf, *chain]), leaf.key_pem, ca.cert_pem if ca else None)
    return DesiredCertificate("shop/web", "web", material, (BindingSpec(vserver, sni),))


class Deployer:
    """Applies through the engine like the operator does, carrying the records along."""

    def __init__(self, sim: Simulator) -> None:
        self.sim = sim
        self.records = Records()
        self.appliances = Appliances()

    def client(self) -> NitroClient:
        return NitroClient(
            self.sim.url,
            Credentials("nsroot", "nsroot"),
            tls=TLSConfig(ca_pem=self.sim.ca_pem),
            retry=RetryPolicy(attempts=2, base_delay=0.0),
        )

    async def apply(self, *certs: DesiredCertificate, **options: object) -> ApplianceResult:
        async with self.client() as client:
            result = await sync_appliance(
                client,
                certs,
                self.records,
                SyncOptions(owner="shop/web", **options),  # type: ignore[arg-type]
                appliances=self.appliances,
                appliance=appliance_key(self.sim.url),
            )
        assert not result.failed, result.failed
        self.records = result.records
        return result


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
def operator(emulator: EmulatorThread) -> Iterator[OperatorThread]:
    options = OperatorOptions(health_check_tick_seconds=0.5, drift_check_tick_seconds=0.5)
    op = OperatorThread(ClusterAccess(server=emulator.url, token="operator-token"), options).start()
    yield op
    op.stop()
    assert op.error is None, op.error


@pytest.fixture
def cluster(
    api: client.ApiClient, emulator: EmulatorThread, served_simulator: SimulatorThread, pki: TestPKI
) -> Cluster:
    return Cluster(api, emulator, served_simulator, pki)
