"""Errorcodes as real appliances answer them, through the client (issue 16 #5)."""

from __future__ import annotations

import pytest

from netscaler_certsync.nitro import Credentials, NitroClient, RetryPolicy, TLSConfig, errors
from netscaler_certsync.simulator import Quirks, SimulatorConfig, run_simulator
from tests.support.nitro import ClientFactory


@pytest.mark.parametrize("code", [258, 1540])
async def test_a_missing_certkey_is_none_whichever_code_the_build_answers(code: int) -> None:
    # 404/258 (adc-nitro-go tests) or 599/1540 "Certificate does not exist" (CIC #37).
    config = SimulatorConfig(log_requests=False, quirks=Quirks(missing_certkey_code=code))  # type: ignore[arg-type]
    async with run_simulator(config) as sim:
        client = NitroClient(
            sim.url,
            Credentials("nsroot", "nsroot"),
            tls=TLSConfig(ca_pem=sim.ca_pem),
            retry=RetryPolicy(attempts=1),
        )
        async with client:
            assert await client.get_certkey("nope") is None
        assert [(r.resource, r.errorcode) for r in sim.requests][1] == ("sslcertkey", code)


async def test_over_long_name_is_a_bad_request_with_1106(make_client: ClientFactory) -> None:
    async with make_client() as client:
        with pytest.raises(errors.BadRequestError) as caught:
            await client.upload_file("f" * 64, b"x")
    assert caught.value.errorcode == errors.ErrorCode.STRING_TOO_LONG


async def test_login_reply_with_a_sessionid_cookie_and_a_252_digit_token() -> None:
    # influxdata/telegraf #11478: `Set-Cookie: SESSID=deleted` and `sessionid=%23%23<252 hex>`,
    # no NITRO_AUTH_TOKEN cookie (issue 16 #3).
    config = SimulatorConfig(log_requests=False, quirks=Quirks(login_cookie="sessionid"))
    async with run_simulator(config) as sim:
        client = NitroClient(sim.url, Credentials("nsroot", "nsroot"), tls=TLSConfig(ca_pem=sim.ca_pem))
        async with client:
            await client.version()
            await client.list_certkeys()
            [token] = sim.app.sessions.sessions
            assert len(token) == 2 + 252
            assert client.logins == 1
        assert [(r.resource, r.status) for r in sim.requests] == [
            ("login", 201),
            ("nsversion", 200),
            ("sslcertkey", 200),
            ("logout", 201),
        ]
