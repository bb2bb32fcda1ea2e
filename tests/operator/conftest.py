"""The real operator in-process (its own thread and loop), an emulated Kubernetes API, and the
NITRO simulator over real HTTPS: each test gets fresh ones of all three.
"""

from __future__ import annotations

import logging
from collections.abc import Iterator
from pathlib import Path

import pytest
from kubernetes import client, config

from certsync_devkit.k8s_thread import EmulatorThread
from certsync_devkit.operator_thread import OperatorThread
from certsync_devkit.pki import TestPKI
from netscaler_certsync.k8s import ClusterAccess
from netscaler_certsync.reconcile.context import OperatorOptions
from netscaler_certsync.simulator import SimulatorConfig, SimulatorThread
from tests.operator.harness import Cluster
from tests.support.logs import LogRecorder


@pytest.fixture()
def emulator() -> Iterator[EmulatorThread]:
    emu = EmulatorThread().start()
    yield emu
    emu.stop()


@pytest.fixture()
def simulator(request: pytest.FixtureRequest) -> Iterator[SimulatorThread]:
    marker = request.node.get_closest_marker("simulator")
    overrides = dict(marker.kwargs) if marker else {}
    cfg = SimulatorConfig(
        ssl_vservers=("vs_https", "vs_two", "cs_sni:cs"),
        sni_vservers=("cs_sni",),
        non_ssl_vservers=("vs_http",),
        **overrides,
    )
    sim = SimulatorThread(cfg).start()
    yield sim
    sim.stop()


@pytest.fixture()
def api(emulator: EmulatorThread, tmp_path: Path) -> Iterator[client.ApiClient]:
    kubeconfig = emulator.write_kubeconfig(tmp_path / "kubeconfig")
    api = config.new_client_from_config(config_file=kubeconfig)
    yield api
    api.close()


@pytest.fixture()
def pki() -> TestPKI:
    return TestPKI.create("Operator Test")


@pytest.fixture()
def operator_options() -> OperatorOptions:
    # Short ticks so periodic work (health, drift) happens within a test's patience, and kopf's
    # retry of a transient failure after 2 s instead of the failure table's 30 s.
    return OperatorOptions(
        health_check_tick_seconds=0.5, drift_check_tick_seconds=0.5, max_retry_delay_seconds=2.0
    )


@pytest.fixture()
def logs() -> Iterator[LogRecorder]:
    recorder = LogRecorder()
    root = logging.getLogger()
    old_level = root.level
    root.addHandler(recorder)
    root.setLevel(logging.DEBUG)
    yield recorder
    root.removeHandler(recorder)
    root.setLevel(old_level)


@pytest.fixture()
def operator(
    emulator: EmulatorThread, operator_options: OperatorOptions, logs: LogRecorder
) -> Iterator[OperatorThread]:
    access = ClusterAccess(server=emulator.url, token="operator-token")
    op = OperatorThread(access, operator_options).start()
    yield op
    op.stop()
    assert op.error is None, op.error
    # kopf only logs API errors and retries; a traceback of ours must fail the test.
    crashes = [line for line in logs.lines if "Traceback" in line or "Unhandled" in line]
    assert not crashes, crashes[:3]


@pytest.fixture()
def cluster(
    api: client.ApiClient, emulator: EmulatorThread, simulator: SimulatorThread, pki: TestPKI
) -> Cluster:
    return Cluster(api, emulator, simulator, pki)
