"""Renewing a shard's appliance claims (k8s/lease.py `ApplianceClaims`, decision 233).

A failed claim renewal is logged (which claim, the request, the exception's type, the time left)
once per streak of failures, and again when it renews or is dropped; its tries are limited as the
election's are, and a stalled one holds up neither the election's renewals nor the others.

The API server fails or stalls the claim's PUTs (an injected transport in front of the emulator);
the tests wait on the elector's counters and the log, never on fixed sleeps.
"""

from __future__ import annotations

import asyncio
import logging
import re
import threading

import httpx
import pytest

from certsync_devkit.k8s_thread import EmulatorThread, wait_for
from netscaler_certsync.k8s import ClusterAccess
from netscaler_certsync.k8s.lease import ApplianceClaims, ElectorThread, LeaseSettings

APPLIANCE = "https://10.0.0.1"
# Roomy timings: a loaded 2-core machine runs the elector thread late, never this late.
ROOMY = LeaseSettings(
    name="shard-0",
    namespace="default",
    identity="op-s0",
    lease_duration=12.0,
    renew_deadline=8.0,
    retry_period=0.5,
    claims="certsync",
)


class ClaimPuts(httpx.AsyncBaseTransport):
    """Forwards to the emulator; the claims' PUTs (their renewals) fail or stall as asked:
    `fail` first ones raise the client's read timeout at once, `stall` first ones never answer
    (until the elector gives up on them: `cut` counts those)."""

    def __init__(self, *, fail: int = 0, stall: int = 0) -> None:
        self.inner = httpx.AsyncHTTPTransport()
        self.fail, self.stall = fail, stall
        self.stalled = threading.Event()
        self.cut = 0

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        if request.method == "PUT" and "-appliance-" in request.url.path:
            if self.fail:
                self.fail -= 1
                raise httpx.ReadTimeout("", request=request)
            if self.stall:
                self.stall -= 1
                self.stalled.set()
                try:
                    await asyncio.Event().wait()
                except asyncio.CancelledError:
                    self.cut += 1
                    raise
        return await self.inner.handle_async_request(request)

    async def aclose(self) -> None:
        await self.inner.aclose()


def run_shard(
    emulator: EmulatorThread, transport: ClaimPuts, settings: LeaseSettings = ROOMY
) -> tuple[ElectorThread, ApplianceClaims]:
    """An elected shard process that has written to APPLIANCE once (so it holds its claim)."""
    acquired = threading.Event()
    claims = ApplianceClaims(settings)
    thread = ElectorThread(
        ClusterAccess(server=emulator.url, token="t"),
        settings,
        on_acquired=acquired.set,
        on_lost=lambda: None,
        claims=claims,
        transport=transport,
    ).start()
    assert acquired.wait(10)
    assert asyncio.run(claims.claim(APPLIANCE)) > 0  # the first write there takes the claim (POST)
    return thread, claims


def claim_log(caplog: pytest.LogCaptureFixture, level: int) -> list[str]:
    return [
        r.getMessage()
        for r in caplog.records
        if r.name == "netscaler_certsync.lease" and r.levelno == level and "appliance claim" in r.getMessage()
    ]


def test_a_stalled_claim_renewal_holds_up_no_election_renewal_and_is_logged(
    emulator: EmulatorThread, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO, logger="netscaler_certsync.lease")
    transport = ClaimPuts(stall=1)
    thread, claims = run_shard(emulator, transport)
    try:
        assert transport.stalled.wait(10)
        before = thread.renewals
        wait_for(lambda: thread.renewals >= before + 2 or transport.cut, 10, "election renewals")
        assert not transport.cut, "the election waited for the stalled claim renewal"
        wait_for(lambda: claim_log(caplog, logging.INFO), 15, "the claim renewed after the stall")
    finally:
        thread.stop(release=True)
    name = claims.lease_name(APPLIANCE)
    [warning] = claim_log(caplog, logging.WARNING)
    assert name in warning and APPLIANCE in warning
    limit = re.search(rf"TimeoutError: no answer to PUT leases/{name} within ([0-9.]+) s", warning)
    assert limit, warning
    # As the election's tries: half the time left (the claim was renewed < 8 s ago), not the 0.5 s
    # retry period, which would have cut it before two election renewals.
    assert ROOMY.retry_period * 2 < float(limit.group(1)) <= ROOMY.renew_deadline / 2
    assert "s left before the renew deadline" in warning
    [recovered] = claim_log(caplog, logging.INFO)
    assert name in recovered and "renewed again; 1 attempt(s) had failed" in recovered


def test_failed_claim_renewals_are_logged_once_per_streak_and_the_recovery_once(
    emulator: EmulatorThread, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO, logger="netscaler_certsync.lease")
    thread, claims = run_shard(emulator, ClaimPuts(fail=3))
    try:
        wait_for(lambda: claim_log(caplog, logging.INFO), 15, "the claim renewed after 3 failures")
    finally:
        thread.stop(release=True)
    name = claims.lease_name(APPLIANCE)
    [warning] = claim_log(caplog, logging.WARNING)
    assert f"appliance claim {name} ({APPLIANCE}): renewal failed: TransportError" in warning
    assert f"PUT /apis/coordination.k8s.io/v1/namespaces/default/leases/{name}: ReadTimeout" in warning
    assert "s left before the renew deadline" in warning
    [recovered] = claim_log(caplog, logging.INFO)
    assert "renewed again; 3 attempt(s) had failed" in recovered


def test_a_claim_not_renewed_within_the_renew_deadline_is_dropped_with_a_warning(
    emulator: EmulatorThread, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO, logger="netscaler_certsync.lease")
    settings = LeaseSettings(
        name="shard-0",
        namespace="default",
        identity="op-s0",
        lease_duration=6.0,
        renew_deadline=3.0,
        retry_period=0.5,
        claims="certsync",
    )
    transport = ClaimPuts(fail=1_000)  # every renewal of the claim fails
    thread, claims = run_shard(emulator, transport, settings)
    try:
        wait_for(lambda: len(claim_log(caplog, logging.WARNING)) >= 2, 15, "the claim dropped")
        assert thread.write_budget() > 0, "the election's own Lease is kept"
    finally:
        thread.stop(release=True)
    name = claims.lease_name(APPLIANCE)
    failed, dropped = claim_log(caplog, logging.WARNING)
    assert "renewal failed" in failed
    assert f"appliance claim {name} ({APPLIANCE}): dropped, not renewed within the renew deadline" in dropped
    assert "writes to this appliance are fenced" in dropped
    assert 1_000 - transport.fail >= 3  # a streak of several failures, one warning for all of them
    assert claim_log(caplog, logging.INFO) == []
