"""Session handling, retries and accounting, driven by scripted replies (exact and fast)."""

from __future__ import annotations

import asyncio
import logging

import httpx
import pytest

from netscaler_certsync.nitro import NO_RETRY, RequestEvent, TLSConfig, errors
from tests.nitro.fakes import FakeAppliance, body_of, nitro_error, nitro_json

EXPIRED = nitro_error(401, 444, "Session expired or killed. Please login again")


async def test_login_is_lazy_reused_and_logged_out() -> None:
    fake = FakeAppliance()
    fake.on("GET", "nsconfig", nitro_json(nsconfig={"configchanged": False}))
    client = fake.client()
    async with client:
        assert fake.requests == []  # nothing before the first call
        await client.config_state()
        await client.config_state()
    assert [(r.method, r.url.path.rsplit("/", 1)[-1]) for r in fake.requests] == [
        ("POST", "login"),
        ("GET", "nsconfig"),
        ("GET", "nsconfig"),
        ("POST", "logout"),
    ]
    login = body_of(fake.requests[0])["login"]
    assert login == {"username": "nsroot", "password": "s3cret-pw", "timeout": 600}
    # the URL-encoded cookie value is decoded and sent back as a Cookie
    assert all(r.headers["Cookie"] == "NITRO_AUTH_TOKEN=##ABC" for r in fake.requests[1:])
    assert not client.logged_in


async def test_token_from_body_when_no_cookie() -> None:
    fake = FakeAppliance()
    fake.on("POST", "login", httpx.Response(201, json={"errorcode": 0, "sessionid": "##FROMBODY"}))
    fake.on("GET", "nsconfig", nitro_json(nsconfig={}))
    async with fake.client() as client:
        await client.config_state()
    assert fake.sent("GET", "nsconfig")[0].headers["Cookie"] == "NITRO_AUTH_TOKEN=##FROMBODY"


async def test_login_without_token_is_a_protocol_error() -> None:
    fake = FakeAppliance()
    fake.on("POST", "login", httpx.Response(201))
    async with fake.client() as client:
        with pytest.raises(errors.ProtocolError, match="neither cookie nor sessionid"):
            await client.config_state()


async def test_expired_session_logs_in_again_once_and_repeats() -> None:
    fake = FakeAppliance()
    fake.on("POST", "sslcertkey", EXPIRED, nitro_json(201))
    async with fake.client() as client:
        await client.add_certkey("www", "www.crt", "www.key")
        assert client.logins == 2
    assert len(fake.sent("POST", "login")) == 2
    assert len(fake.sent("POST", "sslcertkey")) == 2


async def test_a_session_that_keeps_expiring_is_not_a_loop() -> None:
    fake = FakeAppliance()
    fake.on("GET", "nsconfig", nitro_error(401, 1027, "Not logged in or connection timed out"))
    async with fake.client(retry=NO_RETRY) as client:
        with pytest.raises(errors.AuthenticationError) as caught:
            await client.config_state()
    assert errors.is_session_expired(caught.value)
    assert len(fake.sent("POST", "login")) == 2
    assert len(fake.sent("GET", "nsconfig")) == 2


async def test_partition_is_switched_after_every_login() -> None:
    fake = FakeAppliance()
    fake.on("POST", "nspartition", nitro_json(200))
    fake.on("GET", "nsconfig", EXPIRED, nitro_json(nsconfig={}))
    async with fake.client(partition="p1") as client:
        await client.config_state()
    switches = fake.sent("POST", "nspartition")
    assert len(switches) == 2
    assert body_of(switches[0]) == {"nspartition": {"partitionname": "p1"}}
    assert switches[0].url.query == b"action=Switch"


async def test_idempotent_reads_are_retried_on_5xx_and_transport_errors() -> None:
    fake = FakeAppliance()
    fake.on(
        "GET",
        "sslcertlink",
        httpx.Response(503, text="busy"),
        httpx.ReadTimeout("slow"),
        nitro_json(sslcertlink=[{"certkeyname": "www", "linkcertkeyname": "R3"}]),
    )
    events: list[RequestEvent] = []
    async with fake.client(on_request=[events.append]) as client:
        links = await client.list_cert_links()
    assert [link.linked_to for link in links] == ["R3"]
    reads = [e for e in events if e.resource == "sslcertlink"]
    assert [(e.attempt, e.status, e.error) for e in reads] == [
        (1, 503, "ServerError"),
        (2, None, "NitroTimeoutError"),
        (3, 200, None),
    ]


async def test_retries_give_up_after_the_policy() -> None:
    fake = FakeAppliance()
    fake.on("GET", "nsversion", httpx.Response(500, json={"errorcode": 0, "message": "oops"}))
    async with fake.client() as client:
        with pytest.raises(errors.ServerError):
            await client.version()
    assert len(fake.sent("GET", "nsversion")) == 3


async def test_writes_are_not_repeated_on_5xx_or_599() -> None:
    fake = FakeAppliance()
    fake.on("PUT", "sslvserver_sslcertkey_binding", httpx.Response(503, text="busy"))
    fake.on("POST", "sslcertkey", nitro_error(599, 1538, "Certificate and private key do not match"))
    async with fake.client() as client:
        with pytest.raises(errors.ServerError):
            await client.bind_certkey("vs", "www")
        with pytest.raises(errors.NetScalerError):
            await client.add_certkey("www", "www.crt", "www.key")
    assert len(fake.sent("PUT", "sslvserver_sslcertkey_binding")) == 1
    assert len(fake.sent("POST", "sslcertkey")) == 1
    assert fake.sent("GET") == []  # and nothing read back: the outcome was known


async def test_a_write_that_never_left_is_sent_again() -> None:
    fake = FakeAppliance()
    fake.on("POST", "nsconfig", httpx.ConnectError("refused"), nitro_json())
    async with fake.client() as client:
        await client.save_config()
    assert len(fake.sent("POST", "nsconfig")) == 2


async def test_add_with_unknown_outcome_is_read_back_not_repeated() -> None:
    fake = FakeAppliance()
    fake.on("POST", "sslcertkey", httpx.ReadTimeout("no answer"))
    fake.on(
        "GET", "sslcertkey/www", nitro_json(sslcertkey=[{"certkey": "www", "cert": "/nsconfig/ssl/www.crt"}])
    )
    async with fake.client() as client:
        await client.add_certkey("www", "www.crt", "www.key")
    assert len(fake.sent("POST", "sslcertkey")) == 1
    assert len(fake.sent("GET", "sslcertkey/www")) == 1


async def test_add_proven_absent_after_a_reset_is_sent_once_more() -> None:
    fake = FakeAppliance()
    fake.on("POST", "sslcertkey", httpx.RemoteProtocolError("reset"), nitro_json(201))
    fake.on("GET", "sslcertkey/www", nitro_error(404, 258, "No such resource"))
    async with fake.client() as client:
        await client.add_certkey("www", "www.crt", "www.key")
    assert len(fake.sent("POST", "sslcertkey")) == 2
    assert len(fake.sent("GET", "sslcertkey/www")) == 1


async def test_a_repeated_delete_that_finds_nothing_succeeded_earlier() -> None:
    fake = FakeAppliance()
    fake.on(
        "DELETE", "sslcertkey/www", httpx.ReadTimeout("lost reply"), nitro_error(404, 258, "No such resource")
    )
    async with fake.client() as client:
        await client.delete_certkey("www")
    fake2 = FakeAppliance()
    fake2.on("DELETE", "sslcertkey/www", nitro_error(404, 258, "No such resource"))
    async with fake2.client() as client:
        with pytest.raises(errors.NotFoundError):  # first attempt: the caller decides
            await client.delete_certkey("www")


async def test_never_more_requests_in_flight_than_configured() -> None:
    in_flight = 0
    peak = 0

    async def slow(request: httpx.Request) -> httpx.Response:
        nonlocal in_flight, peak
        in_flight += 1
        peak = max(peak, in_flight)
        await asyncio.sleep(0.001)
        in_flight -= 1
        if request.url.path.endswith("/login"):
            return httpx.Response(201, json={"sessionid": "##T"})
        return nitro_json(sslvserver=[{"vservername": "vs"}])

    from netscaler_certsync.nitro import Credentials, NitroClient

    async with NitroClient(
        "https://ns.example", Credentials("u", "p"), max_concurrency=3, transport=httpx.MockTransport(slow)
    ) as client:
        results = await asyncio.gather(*(client.list_ssl_vservers() for _ in range(50)))
        assert client.logins == 1
    assert all(r[0].name == "vs" for r in results)
    assert peak == 3


async def test_insecure_mode_warns_once_per_endpoint(caplog: pytest.LogCaptureFixture) -> None:
    from netscaler_certsync.nitro import Credentials, NitroClient

    caplog.set_level(logging.WARNING, logger="netscaler_certsync.nitro")
    for _ in range(3):
        async with NitroClient(
            "https://insecure.example", Credentials("u", "p"), tls=TLSConfig(insecure=True)
        ):
            pass
    warnings = [r for r in caplog.records if "DISABLED" in r.getMessage()]
    assert len(warnings) == 1


async def test_one_debug_line_per_request_without_secrets(caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.DEBUG, logger="netscaler_certsync.nitro")
    fake = FakeAppliance()
    fake.on("POST", "systemfile", nitro_json(201))
    key = b"-----BEGIN PRIVATE KEY-----\nMIIEvgIBADANBgkqhkiG9w0BAQEFAASC\n-----END PRIVATE KEY-----\n"
    async with fake.client() as client:
        await client.upload_file("www.key", key)
    lines = [r.getMessage() for r in caplog.records if r.getMessage().startswith("NITRO ")]
    assert len(lines) == 3  # login, upload, logout
    assert "POST systemfile -> 201" in lines[1]
    text = caplog.text
    assert "s3cret-pw" not in text and "MIIEv" not in text
