"""The write guard (`before_write`): asked right before every write, never before a read or the
session's own requests; a refusal sends nothing; its limit bounds the whole request."""

from __future__ import annotations

import pytest

from netscaler_certsync.nitro import NO_RETRY, errors
from netscaler_certsync.nitro.wire import Call
from netscaler_certsync.simulator import FaultRule, Simulator
from tests.support.nitro import ClientFactory


class Guard:
    """Records what it was asked; refuses or limits as the test says."""

    def __init__(self, *, refuse: bool = False, limit: float | None = None) -> None:
        self.asked: list[str] = []
        self.refuse = refuse
        self.limit = limit

    async def __call__(self, call: Call) -> float | None:
        self.asked.append(f"{call.method} {call.resource}")
        if self.refuse:
            raise errors.WriteFenced("fenced")
        return self.limit


async def test_a_refused_write_sends_nothing_while_reads_and_logout_still_go(
    sim: Simulator, make_client: ClientFactory
) -> None:
    guard = Guard(refuse=True)
    async with make_client(before_write=guard) as client:
        await client.version()
        with pytest.raises(errors.WriteFenced):
            await client.save_config()
        with pytest.raises(errors.WriteFenced):
            await client.delete_file("x.pem")
    assert [(r.method, r.resource) for r in sim.requests] == [
        ("POST", "login"),
        ("GET", "nsversion"),
        ("POST", "logout"),
    ]
    assert guard.asked == ["POST nsconfig", "DELETE systemfile"]


async def test_the_guard_is_asked_once_per_write_and_never_for_reads_or_the_session(
    sim: Simulator, make_client: ClientFactory
) -> None:
    guard = Guard(limit=30.0)
    async with make_client(before_write=guard, partition="p1") as client:
        await client.version()
        await client.list_certkeys()
        await client.save_config()
    assert guard.asked == ["POST nsconfig"]
    assert [r.resource for r in sim.requests if r.is_write] == ["nspartition", "nsconfig"]


async def test_the_guards_limit_ends_a_slow_write_as_an_unknown_outcome(
    sim: Simulator, make_client: ClientFactory
) -> None:
    slow = sim.faults.add(FaultRule(kind="latency", resource="nsconfig", delay=2.0))
    async with make_client(before_write=Guard(limit=0.2), retry=NO_RETRY) as client:
        with pytest.raises(errors.NitroTimeoutError, match="write guard"):
            await client.save_config()
        await client.version()  # reads are not limited by the guard
    # Sent once (the guard bounds how long it may take, not whether it was sent), and cut off
    # before the appliance answered (the simulator logs a request once it has answered).
    assert slow.fired == 1
    assert not [r for r in sim.requests if r.resource == "nsconfig"]
