"""Fixtures for the emulator tier: one fresh emulator per test, reached like a real cluster."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from kubernetes import client, config

from netscaler_certsync.testing.k8s_thread import EmulatorThread


@pytest.fixture()
def emulator() -> Iterator[EmulatorThread]:
    emu = EmulatorThread().start()
    yield emu
    emu.stop()


@pytest.fixture()
def kubeconfig(emulator: EmulatorThread, tmp_path: Path) -> str:
    return emulator.write_kubeconfig(tmp_path / "kubeconfig")


@pytest.fixture()
def api_client(kubeconfig: str) -> Iterator[client.ApiClient]:
    # A client of its own (not the global default config): tests must not leak into each other.
    api = config.new_client_from_config(config_file=kubeconfig)
    yield api
    api.close()


@pytest.fixture()
def core(api_client: client.ApiClient) -> client.CoreV1Api:
    return client.CoreV1Api(api_client)


@pytest.fixture()
def crs(api_client: client.ApiClient) -> client.CustomObjectsApi:
    return client.CustomObjectsApi(api_client)
