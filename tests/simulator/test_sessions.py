"""Login, the ways a token travels, per-request credentials, logout, expiry and the session limit."""

from __future__ import annotations

import re
from urllib.parse import quote

import httpx

from netscaler_certsync.simulator import Simulator, SimulatorConfig, run_simulator
from tests.simulator.helpers import CONFIG, Nitro, assert_done, assert_error


async def test_login_sets_cookie_and_sessionid(anon: Nitro) -> None:
    response = await anon.login()
    body = assert_done(response, 201)
    assert re.fullmatch(r"##[0-9A-F]{60}", body["sessionid"])
    cookie = response.headers["set-cookie"]
    assert cookie.startswith("NITRO_AUTH_TOKEN=%23%23") and "path=/nitro/v1" in cookie


async def test_bad_password_is_401_354(anon: Nitro) -> None:
    assert_error(await anon.login(password="wrong"), 401, 354, "Invalid username or password")
    assert_error(await anon.login(username="nobody"), 401, 354)


async def test_no_credentials_is_401_1027(anon: Nitro) -> None:
    assert_error(await anon.get("sslcertkey"), 401, 1027, "Not logged in")


async def test_unknown_token_is_401_1027(anon: Nitro) -> None:
    response = await anon.get("sslcertkey", headers={"Cookie": "NITRO_AUTH_TOKEN=##" + "0" * 60})
    assert_error(response, 401, 1027)


async def test_token_accepted_in_cookie_and_set_cookie_raw_or_encoded(anon: Nitro) -> None:
    token = (await anon.login()).json()["sessionid"]
    for header, value in [
        ("Cookie", f"NITRO_AUTH_TOKEN={token}"),
        ("Cookie", f"NITRO_AUTH_TOKEN={quote(token)}"),
        ("Set-Cookie", f"NITRO_AUTH_TOKEN={token}"),  # what the official PY and GO SDKs send
        ("Set-Cookie", f"NITRO_AUTH_TOKEN={quote(token)}"),
    ]:
        assert_done(await anon.get("nsversion", headers={header: value}))


async def test_per_request_credentials(anon: Nitro, sim: Simulator) -> None:
    good = {"X-NITRO-USER": "nsroot", "X-NITRO-PASS": "nsroot"}
    assert_done(await anon.get("nsversion", headers=good))
    bad = {"X-NITRO-USER": "nsroot", "X-NITRO-PASS": "nope"}
    assert_error(await anon.get("nsversion", headers=bad), 401, 354)
    assert sim.app.sessions.sessions == {}  # per-request auth leaves no session behind


async def test_logout_ends_session_with_444(nitro: Nitro) -> None:
    response = await nitro.post("logout", {"logout": {}})
    assert_done(response, 201)  # a 12.1 box answered 201 (nitro.md); configurable in Quirks
    assert_error(await nitro.get("nsversion"), 401, 444, "Session expired or killed")


async def test_forced_expiry_answers_444(nitro: Nitro, sim: Simulator) -> None:
    assert sim.expire_sessions() == 1
    assert_error(await nitro.get("nsversion"), 401, 444)
    assert_done(await nitro.login(), 201)
    assert_done(await nitro.get("nsversion"))


async def test_session_limit_twenty(anon: Nitro, sim: Simulator) -> None:
    for _ in range(20):
        assert (await anon.login()).status_code == 201
    assert_error(await anon.login(), 409, 445, "Session limit exceeded")
    await anon.post("logout", {"logout": {}})
    assert (await anon.login()).status_code == 201


async def test_idle_timeout_from_login() -> None:
    ticks = [0.0]
    async with run_simulator(SimulatorConfig(https=False)) as sim:
        sim.app.sessions._clock = lambda: ticks[0]  # a fake clock: no sleeping in tests
        async with httpx.AsyncClient(base_url=sim.url) as http:
            nitro = Nitro(http)
            await nitro.login(timeout=60)
            ticks[0] = 59
            assert_done(await nitro.get("nsversion"))  # used: idle time restarts
            ticks[0] = 59 + 61
            assert_error(await nitro.get("nsversion"), 401, 444)


async def test_restricted_user_command_policy() -> None:
    from netscaler_certsync.simulator import RestrictedUser

    config = SimulatorConfig(https=False, restricted_users=(RestrictedUser("ro", "ro", r"^show "),))
    async with run_simulator(config) as sim, httpx.AsyncClient(base_url=sim.url) as http:
        nitro = Nitro(http)
        assert_done(await nitro.login("ro", "ro"), 201)
        assert_done(await nitro.get("sslcertkey"))
        response = await nitro.post("nsconfig?action=save", {"nsconfig": {}})
        assert_error(response, 403, 2138, "Not authorized to execute this command [save ns config]")
        response = await nitro.delete("sslcertkey/ns-server-certificate")
        assert_error(response, 403, 2138, "Not authorized to execute this command [rm ssl certKey")
        assert sim.state.default.saves == 0


async def test_login_body_errors(client: httpx.AsyncClient) -> None:
    response = await client.post(f"{CONFIG}/login", json={"login": {"password": "x"}})
    assert_error(response, 400, 1095, "Required argument missing [username]")


async def test_two_simulators_with_one_seed_do_not_share_tokens() -> None:
    config = SimulatorConfig(https=False, seed=1)
    async with (
        run_simulator(config) as a,
        run_simulator(config) as b,
        httpx.AsyncClient(base_url=a.url) as http_a,
        httpx.AsyncClient(base_url=b.url) as http_b,
    ):
        node_a, node_b = Nitro(http_a), Nitro(http_b)
        await node_a.login()
        await node_b.login()
        assert node_a.headers != node_b.headers
        assert_error(await node_b.get("nsversion", headers=node_a.headers), 401, 1027)
