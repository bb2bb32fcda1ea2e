"""Status that is true (issue 17): conditions claim nothing the appliance does not show.

The two reconcilers run as the operator runs them (no kopf, a dict for the Secrets) against the
simulator over loopback; what is asserted is what `kubectl get -o yaml` and `kubectl describe`
would show a user.
"""

from __future__ import annotations

import dataclasses
from collections.abc import AsyncIterator, Mapping
from typing import Any

import pytest

from certsync_devkit.pki import TestPKI
from netscaler_certsync.reconcile.certificatesync import SyncRequest, reconcile_sync
from netscaler_certsync.reconcile.connection import reconcile_connection
from netscaler_certsync.reconcile.outcome import Outcome
from netscaler_certsync.simulator import Simulator, run_simulator
from tests.support.engine import SIM_CONFIG, certkeys
from tests.support.reconcile import NS, dict_context, secrets_for


class World:
    """Secrets in a dict, one connection to the simulator, and the sync's status carried over."""

    def __init__(self, sim: Simulator, pki: TestPKI, *, password: str = "nsroot") -> None:
        self.sim = sim
        self.secrets = secrets_for(pki.leaf("www.example.com"), password=password, ca=sim.ca_pem or None)
        self.status: dict[str, Any] = {}

        def on_status(status: Mapping[str, Any]) -> None:
            self.status = {**self.status, **status}

        self.ctx = dict_context(self.secrets, on_status)

    def connection_spec(self, **extra: Any) -> dict[str, Any]:
        """The connection's spec; a key given as None is left out."""
        spec: dict[str, Any] = {"endpoint": self.sim.url, "credentialsSecretRef": {"name": "creds"}}
        if self.sim.ca_pem:
            spec["tls"] = {"caSecretRef": {"name": "ca"}}
        return {k: v for k, v in {**spec, **extra}.items() if v is not None}

    async def connection(self, **extra: Any) -> Outcome:
        return await reconcile_connection(self.ctx, NS, "ns", self.connection_spec(**extra), {})

    def request(self, spec: Mapping[str, Any], trigger: str = "spec") -> SyncRequest:
        return SyncRequest(NS, "web", 1, {"connectionRefs": [{"name": "ns"}], **spec}, self.status, trigger)

    async def sync(self, connection: Mapping[str, Any] | None = None, **spec: Any) -> Outcome:
        """Reconcile the CertificateSync `web` with `spec`; its status is carried to the next call."""
        conn_spec = self.connection_spec(**(connection or {}))
        connections = {(NS, "ns"): {"spec": conn_spec, "status": {}}}
        outcome = await reconcile_sync(self.ctx, self.request(spec), connections)
        self.status = {**self.status, **outcome.status}
        return outcome

    async def close(self) -> None:
        await self.ctx.sessions.close()


def conds(outcome: Outcome) -> dict[str, tuple[str, str]]:
    return {c.type: (c.status, c.reason) for c in outcome.conditions}


def cond(outcome: Outcome, type_: str) -> Any:
    return next(c for c in outcome.conditions if c.type == type_)


@pytest.fixture
async def world(sim: Simulator, pki: TestPKI) -> AsyncIterator[World]:
    w = World(sim, pki)
    yield w
    await w.close()


# ---------------------------------------------------------------------------------- dry run
async def test_a_dry_run_is_never_ready_and_says_what_it_would_do(world: World) -> None:
    out = await world.sync(
        certificates=[{"secretName": "www"}], bindings=[{"vserver": "vs_https"}], dryRun=True
    )
    c = conds(out)
    # GitOps tools must not show Healthy while nothing is deployed.
    assert c["Ready"] == ("False", "DryRun") and c["Reconciling"][0] == "False" and c["Stalled"][0] == "False"
    assert c["CertificatesUploaded"] == ("False", "DryRun") and c["CertificatesBound"] == ("False", "DryRun")
    assert out.error is None
    entry = out.status["certificates"][0]
    assert entry["state"] == "Planned" and entry["message"].startswith("dry run: would create certkey ")
    assert out.status["connections"][0]["ready"] is False
    assert certkeys(world.sim) == {}  # nothing was written
    # The Events docs/api.md promises: the plan, once (not again while it stays the same).
    [event] = [e for e in out.events if e.reason == "DryRun"]
    assert event.type == "Normal" and "ns: dry run: would make" in event.message
    assert "bind certkey" in event.message
    again = await world.sync(
        certificates=[{"secretName": "www"}], bindings=[{"vserver": "vs_https"}], dryRun=True
    )
    assert [e for e in again.events if e.reason == "DryRun"] == []


# -------------------------------------------------------------------- detail conditions
async def test_a_missing_secret_is_neither_uploaded_nor_bound(world: World) -> None:
    out = await world.sync(
        certificates=[{"secretName": "www"}, {"secretName": "gone"}], bindings=[{"vserver": "vs_https"}]
    )
    c = conds(out)
    assert c["Ready"] == ("False", "SecretNotFound")
    assert c["CertificatesUploaded"][0] == "False"
    assert c["CertificatesBound"] == ("False", "SecretNotFound")
    assert "gone" in cond(out, "CertificatesBound").message


async def test_a_name_that_does_not_fit_is_not_bound(world: World) -> None:
    long_name = "www-example-com-production-certificate"  # 38 characters, limit 31
    out = await world.sync(
        certificates=[{"secretName": "www", "certKeyName": long_name}], bindings=[{"vserver": "vs_https"}]
    )
    assert conds(out)["CertificatesBound"] == ("False", "NameTooLong")


async def test_all_is_well_in_words_a_user_reads(world: World) -> None:
    out = await world.sync(certificates=[{"secretName": "www"}], bindings=[{"vserver": "vs_https"}])
    assert conds(out)["Ready"] == ("True", "Synced")
    assert cond(out, "SecretsValid").message == "1 Secret holds a usable certificate"
    assert cond(out, "Ready").message == "1 certificate on 1 appliance"
    assert conds(out)["CertificatesBound"] == ("True", "Bound")
    upload_only = await world.sync(certificates=[{"secretName": "www"}])
    assert cond(upload_only, "CertificatesBound").message == "No bindings requested (upload only)"


# ------------------------------------------------------------------------- connections
async def test_a_connection_says_it_logged_in_and_verified_the_appliance(world: World) -> None:
    out = await world.connection()
    c = conds(out)
    assert c["Ready"] == ("True", "Connected")
    assert c["Authenticated"] == ("True", "LoggedIn") and c["TLSVerified"] == ("True", "Verified")


async def test_a_refused_login_is_authenticated_false(sim: Simulator, pki: TestPKI) -> None:
    w = World(sim, pki, password="wrong")
    try:
        c = conds(await w.connection())
    finally:
        await w.close()
    assert c["Authenticated"] == ("False", "AuthenticationFailed")
    assert c["TLSVerified"] == ("True", "Verified")  # the handshake got that far


async def test_a_missing_ca_secret_says_it_does_not_exist(world: World) -> None:
    del world.secrets["ca"]
    out = await world.connection()
    assert out.error is not None and out.error.reason == "CANotFound"
    assert out.error.message == "Secret shop/ca with the appliance's CA does not exist"
    c = conds(out)
    assert c["Authenticated"] == ("Unknown", "CANotFound") and c["TLSVerified"] == ("Unknown", "CANotFound")


@pytest.fixture
async def plain_http() -> AsyncIterator[Simulator]:
    async with run_simulator(dataclasses.replace(SIM_CONFIG, https=False)) as sim:
        yield sim


async def test_an_http_connection_is_not_tls_verified(plain_http: Simulator, pki: TestPKI) -> None:
    w = World(plain_http, pki)
    try:
        out = await w.connection(allowInsecureHTTP=True)
    finally:
        await w.close()
    c = conds(out)
    assert c["Ready"] == ("True", "Connected")
    assert c["TLSVerified"] == ("False", "InsecureHTTP")
    assert "http://" in cond(out, "TLSVerified").message
    assert [e.reason for e in out.events if e.type == "Warning"] == ["InsecureHTTP"]
