"""A slow Lease renewal (ElectorThread in k8s/lease.py): its warning says what failed and how much
time is left, and one stalled request does not cost the Lease while a retry still fits.

The API server stalls the first renewal's PUT (an injected transport in front of the emulator);
the test waits on the elector's own events and counters, never on fixed sleeps.
"""

from __future__ import annotations

import asyncio
import logging
import threading

import httpx
import pytest

from certsync_devkit.k8s_thread import EmulatorThread, wait_for
from netscaler_certsync.k8s import ClusterAccess
from netscaler_certsync.k8s.lease import ElectorThread, LeaseSettings

# Roomy timings: the retry must fit on a loaded 2-core machine (real loop time in the thread).
SETTINGS = LeaseSettings(
    name="slow", namespace="default", identity="a", lease_duration=6.0, renew_deadline=4.0, retry_period=0.5
)


class StallFirstRenewal(httpx.AsyncBaseTransport):
    """Forwards to the emulator; the first Lease PUT (the first renewal: a new Lease is POSTed)
    never answers, as an API server busy with a relist of every watch may not."""

    def __init__(self, *, fail: bool = False) -> None:
        self.inner = httpx.AsyncHTTPTransport()
        self.fail = fail  # raise the client's read timeout at once instead of stalling
        self.stalled = threading.Event()

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        if request.method == "PUT" and "/leases/" in request.url.path and not self.stalled.is_set():
            self.stalled.set()
            if self.fail:
                raise httpx.ReadTimeout("", request=request)  # its str() is empty
            await asyncio.Event().wait()  # until the elector gives up on it (cancelled)
        return await self.inner.handle_async_request(request)

    async def aclose(self) -> None:
        await self.inner.aclose()


def run_elector(
    emulator: EmulatorThread, *, fail: bool = False
) -> tuple[ElectorThread, threading.Event, StallFirstRenewal]:
    transport = StallFirstRenewal(fail=fail)
    acquired, lost = threading.Event(), threading.Event()
    thread = ElectorThread(
        ClusterAccess(server=emulator.url, token="t"),
        SETTINGS,
        on_acquired=acquired.set,
        on_lost=lost.set,
        transport=transport,
    ).start()
    assert acquired.wait(10)
    return thread, lost, transport


def test_a_stalled_renewal_is_logged_with_its_type_request_attempt_and_time_left(
    emulator: EmulatorThread, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.WARNING, logger="netscaler_certsync.lease")
    thread, _, transport = run_elector(emulator)
    try:
        assert transport.stalled.wait(10)
        record = wait_for(
            lambda: next((r for r in caplog.records if r.name == "netscaler_certsync.lease"), None),
            10,
            "the warning about the stalled renewal",
        )
    finally:
        thread.stop(release=True)
    message = record.getMessage()
    assert "TimeoutError" in message  # str() of the exception is empty: the type names it
    assert "PUT" in message and "leases/slow" in message  # which request hung
    assert "attempt 1" in message
    assert "s left before the renew deadline" in message


def test_a_renewal_read_timeout_is_logged_by_its_type_and_the_lease_kept(
    emulator: EmulatorThread, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.WARNING, logger="netscaler_certsync.lease")
    thread, lost, transport = run_elector(emulator, fail=True)
    try:
        assert transport.stalled.wait(10)
        wait_for(lambda: thread.renewals >= 1 or lost.is_set(), 10, "a renewal after the failed one")
        assert not lost.is_set()
    finally:
        thread.stop(release=True)
    [record] = [r for r in caplog.records if r.name == "netscaler_certsync.lease"]
    message = record.getMessage()
    assert "ReadTimeout" in message and "PUT" in message and "attempt 1" in message
    assert "s left before the renew deadline" in message


def test_one_stalled_renewal_does_not_cost_the_lease_when_a_retry_fits(emulator: EmulatorThread) -> None:
    thread, lost, transport = run_elector(emulator)
    try:
        assert transport.stalled.wait(10)
        wait_for(lambda: thread.renewals >= 1 or lost.is_set(), 10, "a renewal after the stalled one")
        assert not lost.is_set()
        assert thread.renewals >= 1 and thread.write_budget() > 0
    finally:
        thread.stop(release=True)
