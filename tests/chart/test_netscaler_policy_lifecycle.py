"""A NetScaler user restricted by the documented command policy can do everything the operator does.

The simulator enforces a command policy the way NetScaler does (each NITRO call in its CLI form,
refused with 403/2138 when the regex does not match). Here the user's policy is the regex from
docs/netscaler-setup.md, and the engine runs a whole lifecycle as that user: first deploy with a
chain, default and SNI bindings, renewal in place, renewal as a new object, removal, plus the
connection checks (version, HA state, partition switch). A policy missing one command must fail,
or the test could not tell a good policy from a bad one.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Sequence

import pytest

from certsync_devkit.pki import Issued, TestPKI, pem_bundle
from netscaler_certsync.domain import parse_material, render_certkey_name
from netscaler_certsync.engine import (
    ApplianceResult,
    BindingSpec,
    CertState,
    DesiredCertificate,
    Records,
    SyncOptions,
    appliance_key,
    sync_appliance,
)
from netscaler_certsync.engine.appliances import Appliances
from netscaler_certsync.nitro import Credentials, NitroClient, RetryPolicy, TLSConfig
from netscaler_certsync.simulator import RestrictedUser, Simulator, SimulatorConfig, run_simulator

from .chart_helpers import policy_regex

USER, PASSWORD = "certsync", "s3cret-for-tests"
BINDINGS = (BindingSpec("vs_https"), BindingSpec("vs_sni", sni=True))


def _config(policy: str) -> SimulatorConfig:
    return SimulatorConfig(
        ssl_vservers=("vs_https", "vs_sni"),
        sni_vservers=("vs_sni",),
        partitions=("web",),
        restricted_users=(RestrictedUser(USER, PASSWORD, policy),),
        log_requests=False,
    )


@pytest.fixture
async def sim() -> AsyncIterator[Simulator]:
    async with run_simulator(_config(policy_regex())) as simulator:
        yield simulator


def _client(sim: Simulator, partition: str | None = None) -> NitroClient:
    return NitroClient(
        sim.url,
        Credentials(USER, PASSWORD),
        tls=TLSConfig(ca_pem=sim.ca_pem),
        partition=partition,
        retry=RetryPolicy(attempts=1, base_delay=0.0),
    )


def _desired(leaf: Issued, chain: Sequence[Issued]) -> DesiredCertificate:
    material = parse_material(pem_bundle([leaf, *chain]), leaf.key_pem)
    name = render_certkey_name(
        "{{namespace}}-{{secretName}}", namespace="web", secret_name="www-tls", common_name=leaf.common_name
    )
    return DesiredCertificate("web/www-tls", name, material, BINDINGS)


class Operator:
    """The engine as the operator drives it: records carried from one sync to the next."""

    def __init__(self, sim: Simulator) -> None:
        self.sim = sim
        self.records = Records()
        self.appliances = Appliances()

    async def sync(self, certs: Sequence[DesiredCertificate], **options: object) -> ApplianceResult:
        async with _client(self.sim) as client:
            result = await sync_appliance(
                client,
                certs,
                self.records,
                SyncOptions(owner="web/www", **options),  # type: ignore[arg-type]
                appliances=self.appliances,
                appliance=appliance_key(self.sim.url),
            )
        self.records = result.records
        return result


def _refusals(sim: Simulator) -> list[str]:
    return [f"{r.method} {r.resource} {r.action or ''}" for r in sim.requests if r.errorcode == 2138]


async def test_whole_lifecycle_as_the_restricted_user(sim: Simulator) -> None:
    pki = TestPKI.create()
    operator = Operator(sim)

    first = await operator.sync([_desired(pki.leaf("www.example.com"), [pki.intermediate])])
    assert [c.state for c in first.certificates] == [CertState.SYNCED], first.certificates
    assert first.saved

    renewed = await operator.sync([_desired(pki.leaf("www.example.com"), [pki.intermediate])])
    assert [c.state for c in renewed.certificates] == [CertState.SYNCED], renewed.certificates

    replaced = await operator.sync(
        [_desired(pki.leaf("www.example.com"), [pki.intermediate])], preserve_on_renewal=False
    )
    assert not replaced.failed, replaced.certificates

    removed = await operator.sync([])
    assert all(c.state == CertState.REMOVED for c in removed.certificates), removed.certificates
    assert not removed.warnings
    assert {n for n, c in sim.state.dump()["certkeys"].items() if not c.get("builtin")} == set()

    async with _client(sim) as client:
        assert (await client.version()).version
        await client.ha_state()
    async with _client(sim, partition="web") as client:
        await client.version()  # login switches the session to the partition first

    assert _refusals(sim) == []
    assert sim.check_invariants() == []


async def test_a_policy_missing_one_command_is_refused() -> None:
    # Without `save ns config` the certificate is deployed but the save is refused: the simulator
    # enforces the policy, so the lifecycle above really ran under it.
    narrower = policy_regex().replace(r"save\s+ns\s+config|", "")
    assert narrower != policy_regex()
    async with run_simulator(_config(narrower)) as sim:
        pki = TestPKI.create()
        result = await Operator(sim).sync([_desired(pki.leaf("www.example.com"), [pki.intermediate])])
        assert not result.saved
        assert result.not_saved and "2138" in result.not_saved and "save ns config" in result.not_saved, (
            result
        )
        assert _refusals(sim) == ["POST nsconfig save"]
