"""Answers as real appliances give them, where the simulator once agreed only with the client (issue 16).

Each test names the public source of the real answer; docs/nitro.md lists them with confidence tags.
"""

from __future__ import annotations

import ssl

import httpx

from certsync_devkit.pki import TestPKI, make_ca, make_leaf
from netscaler_certsync.simulator import FaultRule, Quirks, Simulator, SimulatorConfig, run_simulator
from tests.simulator.helpers import Nitro, assert_done, assert_error


async def test_serial_is_whole_bytes_with_the_leading_zero(nitro: Nitro, pki: TestPKI) -> None:
    # CIC docs acme.md: `Serial Number: 0A0141420000015385736A0B85ECA708` (LE X3).
    ca = make_ca("X3", issuer=pki.root, serial=0x0A0141420000015385736A0B85ECA708)
    leaf = make_leaf(ca, "odd.example.com", serial=0x80)  # top bit set: no DER sign byte shown
    await nitro.install("x3", ca, with_key=False)
    await nitro.install("odd", leaf)
    serials = {e["certkey"]: e["serial"] for e in assert_done(await nitro.get("sslcertkey"))["sslcertkey"]}
    assert serials["x3"] == "0A0141420000015385736A0B85ECA708"
    assert serials["odd"] == "80"


async def test_no_credentials_answer_the_html_login_failure_page_when_configured() -> None:
    # ansible/ansible #33378: "NITRO Login Failure … Authentication failed - Please provide credentials".
    config = SimulatorConfig(log_requests=False, quirks=Quirks(no_credentials_answer="html"))
    async with run_simulator(config) as sim:
        verify = ssl.create_default_context(cafile=str(sim.ca_file))
        async with httpx.AsyncClient(base_url=sim.url, verify=verify) as http:
            replies = [
                await http.get("/nitro/v1/config/sslcertkey", headers=h)
                for h in ({}, {"Cookie": "SESSID=deleted"})
            ]
        for reply in replies:
            assert reply.status_code == 401
            assert reply.headers["content-type"].startswith("text/html")
            assert "NITRO Login Failure" in reply.text


async def test_error_faults_answer_html_or_empty_bodies(nitro: Nitro, sim: Simulator) -> None:
    replies = []
    for status, body in ((401, "html"), (401, "empty"), (200, "json")):
        sim.faults.add(FaultRule(resource="nsversion", status=status, errorcode=444, body=body, times=1))  # type: ignore[arg-type]
        replies.append(await nitro.get("nsversion"))
    html, empty, ok_status = replies
    assert html.status_code == 401 and "NITRO Login Failure" in html.text
    assert empty.status_code == 401 and empty.content == b""
    assert ok_status.status_code == 200 and ok_status.json()["errorcode"] == 444
    assert_done(await nitro.get("nsversion"))


async def test_booleans_are_only_lower_case_true_and_false(nitro: Nitro, pki: TestPKI) -> None:
    # ansible-collection-netscaleradc #454: `snicert:True` → 400/1097 "Invalid argument value [snicert]".
    await nitro.install("www", pki.leaf("www.example.com"))
    bind = {"vservername": "vs_sni", "certkeyname": "www", "snicert": True}
    assert_done(await nitro.put("sslvserver_sslcertkey_binding", {"sslvserver_sslcertkey_binding": bind}))
    for wrong in ("True", "yes", "1", "TRUE", "on"):
        reply = await nitro.delete(
            f"sslvserver_sslcertkey_binding/vs_sni?args=certkeyname:www,snicert:{wrong}"
        )
        assert_error(reply, 400, 1097)
        assert reply.json()["message"] == "Invalid argument value [snicert]"
        body = {"sslvserver_sslcertkey_binding": dict(bind, snicert=wrong)}
        assert_error(await nitro.post("sslvserver_sslcertkey_binding?action=unbind", body), 400, 1097)
    assert_done(await nitro.delete("sslvserver_sslcertkey_binding/vs_sni?args=certkeyname:www,snicert:true"))


async def test_over_long_names_are_1106_with_the_limit(nitro: Nitro) -> None:
    # GenLeCertForNS #34: `ERROR [1106]: String length exceeds maximum [fileName, 63]`.
    reply = await nitro.upload("f" * 64 + ".crt", b"x")
    assert_error(reply, 400, 1106, "String length exceeds maximum [fileName, 63]")
    reply = await nitro.add_certkey("c" * 32, "www.crt")
    assert_error(reply, 400, 1106, "String length exceeds maximum [certkeyName, 31]")


async def test_invalid_argument_278_is_a_netscaler_specific_599(nitro: Nitro) -> None:
    # adc-nitro-go #15: PUT sslcertkey with `cert` → `599 … "errorcode": 278, "Invalid argument [cert]"`.
    await nitro.upload("a.crt", b"x")
    body = {"sslcertkey": {"certkey": "ns-server-certificate", "cert": "a.crt"}}
    assert_error(await nitro.put("sslcertkey", body), 599, 278, "Invalid argument [cert]")


async def test_a_second_certificate_with_the_same_serial_and_issuer_is_refused(
    nitro: Nitro, pki: TestPKI
) -> None:
    # CTX206045: "You cannot install two certificates with the same serial number from the same
    # certification authority" (errorcode not quoted: 409/273 with the holder's name assumed).
    first = make_leaf(pki.intermediate, "a.example.com", serial=4242)
    second = make_leaf(pki.intermediate, "b.example.com", serial=4242)
    other_issuer = make_leaf(pki.root, "c.example.com", serial=4242)
    await nitro.install("first", first)
    for name, issued in (("second", second), ("third", other_issuer)):
        assert (await nitro.upload(f"{name}.crt", issued.cert_pem)).status_code == 201
        assert (await nitro.upload(f"{name}.key", issued.key_pem)).status_code == 201
    reply = await nitro.add_certkey("second", "second.crt", "second.key")
    assert_error(reply, 409, 273, "Resource already exists [certkeyName Contents, first]")
    assert (await nitro.add_certkey("third", "third.crt", "third.key")).status_code == 201  # other issuer


async def test_platforms_without_ecdsa_refuse_it_with_1675_and_curves_with_1676(pki: TestPKI) -> None:
    # NRD gentool errors 1675/1676; NS11 docs: "On a NetScaler MPX appliance and a NetScaler FIPS
    # appliance, only RSA private keys are supported."
    for platform, code in (({"ecdsa": False}, 1675), ({"ecdsa_curves": ("secp384r1",)}, 1676)):
        config = SimulatorConfig(log_requests=False, **platform)  # type: ignore[arg-type]
        async with run_simulator(config) as sim:
            verify = ssl.create_default_context(cafile=str(sim.ca_file))
            async with httpx.AsyncClient(base_url=sim.url, verify=verify) as http:
                nitro = Nitro(http)
                await nitro.login()
                leaf = pki.leaf("ec.example.com")  # P-256
                await nitro.upload("ec.crt", leaf.cert_pem)
                await nitro.upload("ec.key", leaf.key_pem)
                assert_error(await nitro.add_certkey("ec", "ec.crt", "ec.key"), 599, code)


async def test_update_in_place_is_refused_while_bound_to_vpn_global(nitro: Nitro, pki: TestPKI) -> None:
    # NetScalerToolkit docs: "NetScaler refuses to update a certkey in place while it is bound to
    # the VPN global configuration … NITRO reports this as error 1541".
    await nitro.install("gw", pki.leaf("gw.example.com"))
    renewed = pki.leaf("gw.example.com")
    await nitro.upload("gw2.crt", renewed.cert_pem)
    await nitro.upload("gw2.key", renewed.key_pem)
    binding = {"vpnglobal_sslcertkey_binding": {"certkeyname": "gw"}}
    assert (await nitro.put("vpnglobal_sslcertkey_binding", binding)).status_code in (200, 201)
    assert assert_done(await nitro.get("vpnglobal_sslcertkey_binding"))["vpnglobal_sslcertkey_binding"] == [
        {"certkeyname": "gw"}
    ]
    update = {"sslcertkey": {"certkey": "gw", "cert": "gw2.crt", "key": "gw2.key", "nodomaincheck": True}}
    assert_error(await nitro.post("sslcertkey?action=update", update), 599, 1541)
    assert_error(await nitro.delete("sslcertkey/gw"), 599, 1541)
    assert_done(await nitro.delete("vpnglobal_sslcertkey_binding?args=certkeyname:gw"))
    assert_done(await nitro.post("sslcertkey?action=update", update))


async def test_sessions_are_limited_per_user_when_configured() -> None:
    # adc-nitro-go systemparameter: "maxsessionperuser … ranges from 1 to 40" (newer builds).
    from netscaler_certsync.simulator import RestrictedUser

    config = SimulatorConfig(
        log_requests=False, max_sessions_per_user=2, restricted_users=(RestrictedUser("ro", "ro", "^show "),)
    )
    async with run_simulator(config) as sim:
        verify = ssl.create_default_context(cafile=str(sim.ca_file))
        async with httpx.AsyncClient(base_url=sim.url, verify=verify) as http:
            nitro = Nitro(http)
            assert [(await nitro.login()).status_code for _ in range(2)] == [201, 201]
            assert_error(await nitro.login(), 409, 445)
            assert (await nitro.login("ro", "ro")).status_code == 201  # another user's own allowance


async def test_login_can_answer_with_sessid_deleted_and_a_sessionid_cookie() -> None:
    config = SimulatorConfig(log_requests=False, quirks=Quirks(login_cookie="sessionid"))
    async with run_simulator(config) as sim:
        verify = ssl.create_default_context(cafile=str(sim.ca_file))
        async with httpx.AsyncClient(base_url=sim.url, verify=verify) as http:
            reply = await Nitro(http).login()
            cookies = reply.headers.get_list("set-cookie")
            assert cookies[0].startswith("SESSID=deleted;") and cookies[1].startswith("sessionid=%23%23")
            assert "NITRO_AUTH_TOKEN" not in reply.headers["set-cookie"]
            token = cookies[1].split(";")[0].split("=", 1)[1]
            assert len(token) == 6 + 252
            assert_done(
                await http.get("/nitro/v1/config/nsversion", headers={"Cookie": f"sessionid={token}"})
            )
