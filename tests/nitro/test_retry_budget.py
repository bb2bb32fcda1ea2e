"""One request, including the login it needs, fails at most `RetryPolicy.attempts` times.

The login a request triggers draws on the request's own budget of `attempts - 1` repeats, so
nesting never multiplies it: against an unreachable appliance one request is `attempts`
connection attempts, not `attempts`². Attempts are counted from the client's request events
(each is one connection attempt or one answered request) and the simulator's log; the retry
delay is zero, so nothing here depends on the clock.
"""

from __future__ import annotations

import socket

import pytest

from netscaler_certsync.nitro import Credentials, NitroClient, RequestEvent, RetryPolicy, errors
from netscaler_certsync.simulator import FaultRule, Simulator
from tests.support.nitro import ClientFactory


def _closed_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@pytest.mark.parametrize("attempts", [1, 2, 3, 5])
async def test_unreachable_appliance_is_tried_exactly_the_configured_number_of_times(
    attempts: int,
) -> None:
    events: list[RequestEvent] = []
    async with NitroClient(
        f"https://127.0.0.1:{_closed_port()}",
        Credentials("nsroot", "nsroot"),
        retry=RetryPolicy(attempts=attempts, base_delay=0.0),
        on_request=[events.append],
    ) as client:
        with pytest.raises(errors.TransportError) as caught:
            await client.version()
    assert not caught.value.sent
    # Every attempt is the login the request needs; the request itself was never sent.
    assert [(e.resource, e.error) for e in events] == [("login", "TransportError")] * attempts


async def test_a_login_retry_leaves_the_request_the_rest_of_the_budget(
    sim: Simulator, make_client: ClientFactory
) -> None:
    sim.faults.add(FaultRule(kind="error", resource="login", status=503, times=1))
    sim.faults.add(FaultRule(kind="error", resource="nsversion", method="GET", status=503, times=10))
    async with make_client(retry=RetryPolicy(attempts=3, base_delay=0.0)) as client:
        with pytest.raises(errors.APIError):
            await client.version()
    sent = [(r.resource, r.status) for r in sim.requests if r.resource in ("login", "nsversion")]
    # 3 failed attempts in all: the login's refused first try spent one of the 2 repeats, so the
    # read is repeated once, not twice (the login that succeeded is not a failed attempt).
    assert sent == [("login", 503), ("login", 201), ("nsversion", 503), ("nsversion", 503)]


async def test_a_request_whose_login_succeeds_at_once_keeps_all_its_repeats(
    sim: Simulator, make_client: ClientFactory
) -> None:
    sim.faults.add(FaultRule(kind="error", resource="nsversion", method="GET", status=503, times=2))
    async with make_client(retry=RetryPolicy(attempts=3, base_delay=0.0)) as client:
        await client.version()
    sent = [(r.resource, r.status) for r in sim.requests if r.resource in ("login", "nsversion")]
    assert sent == [("login", 201), ("nsversion", 503), ("nsversion", 503), ("nsversion", 200)]
