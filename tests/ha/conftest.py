"""The HA tier: two real operator processes against one emulated API and one simulator."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from kubernetes import config

from certsync_devkit.k8s_thread import EmulatorThread
from certsync_devkit.pki import TestPKI
from netscaler_certsync.simulator import SimulatorConfig, SimulatorThread
from tests.operator.harness import Cluster


@pytest.fixture()
def cluster(tmp_path: Path) -> Iterator[Cluster]:
    emulator = EmulatorThread().start()
    simulator = SimulatorThread(SimulatorConfig(ssl_vservers=("vs_https",), log_requests=False)).start()
    api = config.new_client_from_config(config_file=emulator.write_kubeconfig(tmp_path / "admin-kubeconfig"))
    try:
        yield Cluster(api, emulator, simulator, TestPKI.create("HA Test"))
    finally:
        api.close()
        simulator.stop()
        emulator.stop()
