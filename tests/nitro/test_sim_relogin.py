"""Re-login on every answer real appliances give a dead session (issue 16 #2).

After an HA failover or a reboot the appliance answers 401/444; without usable credentials some
builds answer an HTML "NITRO Login Failure" page (ansible/ansible #33378); third-party clients
note 444 may come with other HTTP statuses. Each shape must cost exactly one new login and one
repeat, and a token the appliance refused is never sent again.
"""

from __future__ import annotations

import dataclasses

import pytest

from netscaler_certsync.nitro import errors
from netscaler_certsync.simulator import FaultRule, Simulator
from tests.support.nitro import ClientFactory

SHAPES = {
    "html-401": FaultRule(resource="nsversion", status=401, errorcode=1027, body="html", times=1),
    "empty-401": FaultRule(resource="nsversion", status=401, errorcode=0, body="empty", times=1),
    "json-401-no-code": FaultRule(
        resource="nsversion", status=401, errorcode=0, message="Unauthorized", times=1
    ),
    "444-with-200": FaultRule(resource="nsversion", status=200, errorcode=444, times=1),
    "444-with-403": FaultRule(resource="nsversion", status=403, errorcode=444, times=1),
    "1027-with-599": FaultRule(resource="nsversion", status=599, errorcode=1027, times=1),
}


@pytest.mark.parametrize("shape", SHAPES, ids=list(SHAPES))
async def test_dead_session_shapes_cost_one_login_and_one_repeat(
    sim: Simulator, make_client: ClientFactory, shape: str
) -> None:
    async with make_client() as client:
        await client.version()
        sim.faults.add(dataclasses.replace(SHAPES[shape]))
        version = await client.version()
        assert client.logins == 2
    assert version.release == "13.1"
    assert [r.resource for r in sim.requests] == [
        "login",
        "nsversion",
        "nsversion",
        "login",
        "nsversion",
        "logout",
    ]


async def test_a_token_refused_after_the_new_login_is_not_kept(
    sim: Simulator, make_client: ClientFactory
) -> None:
    async with make_client() as client:
        await client.version()
        sim.faults.add(FaultRule(resource="nsversion", status=401, errorcode=0, body="html", times=2))
        with pytest.raises(errors.AuthenticationError):
            await client.version()
        assert client.logins == 2
        await client.version()  # the next call starts from a fresh login, not the refused token
        assert client.logins == 3
    assert [r.resource for r in sim.requests][-3:] == ["login", "nsversion", "logout"]


async def test_bad_credentials_are_not_a_dead_session(sim: Simulator, make_client: ClientFactory) -> None:
    from netscaler_certsync.nitro import Credentials

    async with make_client(credentials=Credentials("nsroot", "wrong")) as client:
        with pytest.raises(errors.AuthenticationError) as caught:
            await client.version()
    assert caught.value.errorcode == 354
    assert [r.resource for r in sim.requests] == ["login"]
