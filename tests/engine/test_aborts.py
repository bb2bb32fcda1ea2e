"""Errors about the appliance as a whole abort the apply with a reason the operator maps to a condition."""

from __future__ import annotations

import socket
from collections.abc import AsyncIterator

import pytest

from certsync_devkit.pki import TestPKI, make_ca
from netscaler_certsync.domain import reasons
from netscaler_certsync.engine import Appliances, Records, SyncAborted, SyncOptions, sync_appliance
from netscaler_certsync.nitro import Credentials, NitroClient, RetryPolicy, TLSConfig
from netscaler_certsync.simulator import RestrictedUser, Simulator, SimulatorConfig, run_simulator
from tests.support.engine import certkeys, desired

OPTIONS = SyncOptions(owner="shop/web-certs")


@pytest.fixture
async def restricted() -> AsyncIterator[Simulator]:
    config = SimulatorConfig(
        restricted_users=(RestrictedUser("viewer", "viewer-pw", r"^show "),), log_requests=False
    )
    async with run_simulator(config) as sim:
        yield sim


async def _sync(client: NitroClient, pki: TestPKI) -> None:
    async with client:
        await sync_appliance(client, [desired(pki.leaf())], Records(), OPTIONS, appliances=Appliances())


async def test_untrusted_appliance_certificate(sim: Simulator, pki: TestPKI) -> None:
    wrong_ca = make_ca("Not the simulator's CA").cert_pem
    client = NitroClient(sim.url, Credentials("nsroot", "nsroot"), tls=TLSConfig(ca_pem=wrong_ca))
    with pytest.raises(SyncAborted) as err:
        await _sync(client, pki)
    assert err.value.reason == reasons.TLSVerificationFailed


async def test_unreachable_appliance(pki: TestPKI) -> None:
    with socket.socket() as s:  # a port nobody listens on
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    client = NitroClient(
        f"https://127.0.0.1:{port}", Credentials("nsroot", "nsroot"), retry=RetryPolicy(attempts=1), timeout=2
    )
    with pytest.raises(SyncAborted) as err:
        await _sync(client, pki)
    assert err.value.reason == reasons.Unreachable


async def test_command_policy_forbids_writes(restricted: Simulator, pki: TestPKI) -> None:
    client = NitroClient(
        restricted.url, Credentials("viewer", "viewer-pw"), tls=TLSConfig(ca_pem=restricted.ca_pem)
    )
    with pytest.raises(SyncAborted) as err:
        await _sync(client, pki)
    assert err.value.reason == reasons.NotAuthorized
    assert "viewer-pw" not in err.value.message
    assert certkeys(restricted) == {}
