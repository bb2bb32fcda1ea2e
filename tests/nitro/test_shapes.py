"""Real-device reply shapes the simulator does not produce, parsed through the whole client."""

from __future__ import annotations

import datetime as dt

import httpx
import pytest

from netscaler_certsync.nitro import CertBinding, NewCertKey, errors
from tests.nitro.fakes import FakeAppliance, nitro_json

REAL_CERTKEY = {
    "certkey": "dohtest.com",
    "cert": "dohtest.com.20210517.cer",
    "key": "dohtest.com.20210517.key",
    "inform": "PEM",
    "certificatetype": ["CLNT_CERT", "SRVR_CERT"],
    "serial": "04D36B3FF07D159B08A37E380A257F1CAF56",
    "issuer": " C=US,O=Let's Encrypt,CN=R3",
    "subject": " CN=dohtest.com",
    "clientcertnotbefore": "May 17 07:21:16 2021 GMT",
    "clientcertnotafter": "Apr  5 09:46:59 2022 GMT",
    "daystoexpiration": "80",
    "status": "Valid",
    "notificationperiod": "30",
    "linkcertkeyname": "R3",
}


async def test_certkey_fields_from_a_real_device_are_coerced() -> None:
    fake = FakeAppliance()
    fake.on("GET", "sslcertkey/dohtest.com", nitro_json(sslcertkey=[REAL_CERTKEY]))
    async with fake.client() as client:
        found = await client.get_certkey("dohtest.com")
    assert found is not None
    assert found.serial == "04D36B3FF07D159B08A37E380A257F1CAF56"
    assert found.subject == "CN=dohtest.com"  # leading space gone
    assert found.issuer == "C=US,O=Let's Encrypt,CN=R3"
    assert found.not_before == dt.datetime(2021, 5, 17, 7, 21, 16, tzinfo=dt.UTC)
    assert found.not_after == dt.datetime(2022, 4, 5, 9, 46, 59, tzinfo=dt.UTC)  # "Apr  5": padded day
    assert found.days_to_expiration == 80  # "80" as a string on the wire
    assert found.certificate_types == ("CLNT_CERT", "SRVR_CERT")
    assert found.linked_to == "R3"
    assert not found.is_ca


async def test_missing_array_key_means_no_objects() -> None:
    fake = FakeAppliance()
    envelope_only = nitro_json()
    for path in ("sslcertkey", "sslvserver_sslcertkey_binding/vs_empty", "sslcertlink", "sslvserver"):
        fake.on("GET", path, envelope_only)
    fake.on("GET", "systemfile", envelope_only)
    async with fake.client() as client:
        assert await client.list_certkeys() == []
        assert await client.list_bindings("vs_empty") == []
        assert await client.list_cert_links() == []
        assert await client.list_ssl_vservers() == []
        assert await client.list_files() == []


@pytest.mark.parametrize(
    "shape",
    [
        {"version": "NetScaler NS13.1: Build 49.13.nc, Date: Mar 26 2024, 13:51:39   (64-bit)", "mode": "1"},
        [{"version": "NetScaler NS13.1: Build 49.13.nc, Date: Mar 26 2024, 13:51:39   (64-bit)", "mode": 1}],
    ],
    ids=["object-as-real-devices-send", "array-as-the-docs-draw"],
)
async def test_nsversion_object_or_array(shape: object) -> None:
    fake = FakeAppliance()
    fake.on("GET", "nsversion", nitro_json(nsversion=shape))
    async with fake.client() as client:
        version = await client.version()
    assert (version.release, version.build, version.mode) == ("13.1", "49.13", 1)
    assert version.version.startswith("NetScaler NS13.1")


@pytest.mark.parametrize("raw, expected", [(3, 3), ("3", 3), (None, None)])
async def test_count_as_number_string_or_absent(raw: object, expected: int | None) -> None:
    fake = FakeAppliance()
    fake.on(
        "GET", "sslcertkey", nitro_json(sslcertkey=[{"__count": raw}]) if raw is not None else nitro_json()
    )
    async with fake.client() as client:
        assert await client.count_certkeys() == (expected or 0)


async def test_count_placeholder_is_a_protocol_error_not_a_number() -> None:
    fake = FakeAppliance()
    fake.on("GET", "sslcertkey", nitro_json(sslcertkey=[{"__count": "#no"}]))
    async with fake.client() as client:
        with pytest.raises(errors.ProtocolError, match="not a number"):
            await client.count_certkeys()


@pytest.mark.parametrize(
    "reply",
    [
        httpx.Response(201, json={"errorcode": 0, "message": "Done", "severity": "NONE"}),
        httpx.Response(200, json={"errorcode": 0, "message": "Done", "severity": "NONE"}),
        httpx.Response(201),  # "201 Created, no JSON"
        httpx.Response(200, content=b"  "),
    ],
    ids=["201-envelope", "200-envelope", "201-empty", "200-blank"],
)
async def test_adds_accept_200_or_201_and_empty_bodies(reply: httpx.Response) -> None:
    fake = FakeAppliance()
    fake.on("POST", "sslcertkey", reply)
    fake.on("PUT", "sslvserver_sslcertkey_binding", reply)
    fake.on("POST", "systemfile", reply)
    async with fake.client() as client:
        await client.add_certkey("www", "www.crt", "www.key")
        await client.bind_certkey("vs", "www")
        await client.upload_file("www.crt", b"pem")


async def test_bindings_with_string_booleans_and_bulk_listing() -> None:
    fake = FakeAppliance()
    rows = [
        {"vservername": "vs1", "certkeyname": "www", "snicert": "false", "ca": False},
        {"vservername": "vs1", "certkeyname": "api", "snicert": True},
        {"vservername": "vs2", "certkeyname": "R3", "ca": "true"},
    ]
    fake.on("GET", "sslvserver_sslcertkey_binding", nitro_json(sslvserver_sslcertkey_binding=rows))
    async with fake.client() as client:
        found = await client.list_all_bindings()
    assert found == [
        CertBinding("vs1", "www"),
        CertBinding("vs1", "api", sni=True),
        CertBinding("vs2", "R3", ca=True),
    ]
    assert "bulkbindings=yes" in str(fake.sent("GET", "sslvserver_sslcertkey_binding")[0].url)


async def test_ha_and_config_state_shapes() -> None:
    fake = FakeAppliance()
    fake.on(
        "GET",
        "hanode",
        nitro_json(
            hanode=[
                {
                    "id": "0",
                    "name": "ns-a",
                    "ipaddress": "10.0.0.1",
                    "state": "Secondary",
                    "hastatus": "ENABLED",
                },
                {
                    "id": "1",
                    "name": "ns-b",
                    "ipaddress": "10.0.0.2",
                    "state": "Primary",
                    "hastatus": "ENABLED",
                },
            ]
        ),
    )
    fake.on("GET", "nsconfig", nitro_json(nsconfig={"configchanged": "true", "lastconfigsavetime": "x"}))
    async with fake.client() as client:
        ha = await client.ha_state()
        state = await client.config_state()
    assert ha.configured and ha.local_state == "Secondary" and not ha.is_primary
    assert state.changed is True


async def test_bulk_207_is_read_item_by_item() -> None:
    fake = FakeAppliance()
    fake.on(
        "POST",
        "sslcertkey",
        httpx.Response(
            207,
            json={
                "errorcode": 1243,
                "message": "Bulk operation failed",
                "severity": "ERROR",
                "response": [
                    {"errorcode": 273, "message": "Resource already exists", "severity": "ERROR"},
                    {"errorcode": 0, "message": "Done", "severity": "NONE"},
                ],
            },
        ),
    )
    async with fake.client() as client:
        results = await client.add_certkeys(
            [NewCertKey("a", "a.crt", "a.key"), NewCertKey("b", "b.crt", "b.key"), NewCertKey("c", "c.crt")]
        )
    assert [(r.errorcode, r.ok) for r in results] == [(273, False), (0, True), (-1, False)]
    sent = fake.sent("POST", "sslcertkey")[0]
    assert sent.headers["X-NITRO-ONERROR"] == "continue"


async def test_names_are_double_encoded_and_args_encoded_once() -> None:
    fake = FakeAppliance()
    fake.on("DELETE", "systemfile/my cert#1.crt", nitro_json())
    async with fake.client() as client:
        await client.delete_file("my cert#1.crt")
    url = fake.sent("DELETE")[0].url
    assert url.raw_path.decode() == (
        "/nitro/v1/config/systemfile/my%2520cert%25231.crt?args=filelocation:%2Fnsconfig%2Fssl"
    )
