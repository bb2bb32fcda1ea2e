"""Fixtures for the emulator tier: one fresh emulator per test, reached like a real cluster."""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import httpx
import pytest
from kubernetes import client, config

from certsync_devkit.k8s_emulator import RealisticEmulator
from certsync_devkit.k8s_thread import EmulatorThread, running_emulator
from netscaler_certsync.k8s import ClusterAccess, KubeClient


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


@pytest.fixture()
async def k8s() -> AsyncIterator[RealisticEmulator]:
    """The emulator in the test's own loop (for the async k8s/ client)."""
    async with running_emulator() as k:
        yield k


@pytest.fixture()
async def writer(k8s: RealisticEmulator) -> AsyncIterator[httpx.AsyncClient]:
    """A separate plain HTTP client for the test's own writes (not counted in the client's stats)."""
    async with httpx.AsyncClient(base_url=str(k8s.url).rstrip("/"), timeout=10) as http:
        yield http


@pytest.fixture()
async def kube(k8s: RealisticEmulator) -> AsyncIterator[KubeClient]:
    async with KubeClient(ClusterAccess(server=str(k8s.url).rstrip("/"), token="test-token")) as api:
        yield api
