"""One appliance failure means the same to both kinds: reason, stalled or not, retry, advice.

The NetScalerConnection's health check and the CertificateSync's apply reach the appliance by
different paths; `reconcile.failures` is the one table both read. These tests run the two
reconcilers (no kopf, a dict for the Secrets) against the simulator over HTTPS on loopback.
"""

from __future__ import annotations

from typing import Any

from certsync_devkit.pki import TestPKI
from netscaler_certsync.domain import reasons
from netscaler_certsync.reconcile import reasons as k8s_reasons
from netscaler_certsync.reconcile.certificatesync import SyncRequest, reconcile_sync
from netscaler_certsync.reconcile.connection import reconcile_connection
from netscaler_certsync.reconcile.connection_triggers import FIRST_RETRY_SECONDS
from netscaler_certsync.reconcile.context import OperatorContext
from netscaler_certsync.reconcile.outcome import Outcome
from netscaler_certsync.simulator import FaultRule, Simulator
from tests.support.reconcile import NS, dict_context, secrets_for


def _context(
    sim: Simulator, pki: TestPKI, *, password: str = "nsroot", ca: bytes | None = None
) -> OperatorContext:
    ca_pem = ca if ca is not None else (sim.ca_pem or b"")
    return dict_context(secrets_for(pki.leaf("www.example.com"), password=password, ca=ca_pem))


def _connection_spec(sim: Simulator) -> dict[str, Any]:
    return {
        "endpoint": sim.url,
        "credentialsSecretRef": {"name": "creds"},
        "tls": {"caSecretRef": {"name": "ca"}},
    }


async def _both(ctx: OperatorContext, sim: Simulator) -> tuple[Outcome, Outcome]:
    spec = _connection_spec(sim)
    health = await reconcile_connection(ctx, NS, "ns", spec, {})
    request = SyncRequest(
        NS,
        "web",
        1,
        {"connectionRefs": [{"name": "ns"}], "certificates": [{"secretName": "www"}]},
        {},
        "spec",
    )
    sync = await reconcile_sync(ctx, request, {(NS, "ns"): {"spec": spec, "status": {}}})
    await ctx.sessions.close()
    return health, sync


async def test_a_refused_login_reads_the_same_on_both_kinds(sim: Simulator, pki: TestPKI) -> None:
    health, sync = await _both(_context(sim, pki, password="wrong"), sim)
    assert health.error is not None and sync.error is not None
    for error in (health.error, sync.error):
        assert (error.reason, error.stalled, error.retry_after) == (reasons.AuthenticationFailed, True, 300)
        # The advice the connection gave is now the sync's too.
        assert "check the username and password" in error.message, error.message
        assert "wrong" not in error.message


async def test_an_unusable_ca_bundle_is_a_failure_of_the_sync_not_a_crash(
    sim: Simulator, pki: TestPKI
) -> None:
    garbage = b"-----BEGIN CERTIFICATE-----\nnot a certificate\n-----END CERTIFICATE-----\n"
    health, sync = await _both(_context(sim, pki, ca=garbage), sim)
    assert health.error is not None and sync.error is not None
    for error in (health.error, sync.error):
        assert (error.reason, error.stalled) == (reasons.ApplianceError, False)
        assert "CA bundle" in error.message
    # The same meaning; the connection looks again sooner, on its backoff (docs/decisions/120).
    assert sync.error.retry_after == 30
    assert health.error.retry_after == FIRST_RETRY_SECONDS


async def test_a_failed_save_is_reported_as_not_saved_not_as_a_clean_up(sim: Simulator, pki: TestPKI) -> None:
    sim.faults.add(
        FaultRule(kind="error", resource="nsconfig", method="POST", status=599, errorcode=3000, times=1)
    )
    _, sync = await _both(_context(sim, pki), sim)
    assert sync.error is not None
    assert (sync.error.reason, sync.error.stalled, sync.error.retry_after) == (
        k8s_reasons.ConfigNotSaved,
        False,
        30,
    )
    assert "saving the configuration failed" in sync.error.message
    warnings = [(e.reason, e.message) for e in sync.events if e.type == "Warning"]
    assert [r for r, _ in warnings] == [k8s_reasons.ConfigNotSaved], warnings
