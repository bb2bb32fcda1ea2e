"""sslvserver_sslcertkey_binding: bind/unbind/get, default replacement, SNI, CA flag, reverse lookups."""

from __future__ import annotations

from certsync_devkit.pki import TestPKI
from netscaler_certsync.simulator import Simulator
from tests.simulator.helpers import Nitro, assert_done, assert_error

BINDING = "sslvserver_sslcertkey_binding"


def pairs(body: dict) -> list[tuple[str, bool, bool]]:
    return sorted((e["certkeyname"], e["snicert"], e["ca"]) for e in body.get(BINDING, []))


async def test_bind_put_and_post_and_get(nitro: Nitro, pki: TestPKI) -> None:
    await nitro.install("www", pki.leaf())
    assert_done(await nitro.bind("vs_https", "www"))
    body = {BINDING: {"vservername": "vs_cs", "certkeyname": "www"}}
    assert_done(await nitro.post(BINDING, body), 201)  # the generic docs bind with POST
    got = assert_done(await nitro.get(f"{BINDING}/vs_https"))
    assert pairs(got) == [("www", False, False)]
    assert got[BINDING][0]["ca"] is False  # booleans, not strings


async def test_empty_vserver_omits_the_array(nitro: Nitro) -> None:
    body = assert_done(await nitro.get(f"{BINDING}/vs_https"))
    assert BINDING not in body


async def test_vserver_errors(nitro: Nitro, pki: TestPKI) -> None:
    await nitro.install("www", pki.leaf())
    assert_error(await nitro.get(f"{BINDING}/nope"), 404, 461, "No such Vserver")
    assert_error(await nitro.get(f"{BINDING}/vs_http"), 599, 1544, "Objects protocol type is not SSL")
    assert_error(await nitro.bind("nope", "www"), 404, 461)
    assert_error(await nitro.bind("vs_http", "www"), 599, 1544)
    assert_error(await nitro.bind("vs_https", "nope"), 599, 1540)
    assert_error(await nitro.bind("vs_https", ""), 400, 1095, "Required argument missing [certkeyname]")


async def test_new_default_replaces_previous(nitro: Nitro, pki: TestPKI, sim: Simulator) -> None:
    await nitro.install("old", pki.leaf())
    await nitro.install("new", pki.leaf())
    await nitro.bind("vs_https", "old")
    assert_done(await nitro.bind("vs_https", "new"))
    assert pairs((await nitro.get(f"{BINDING}/vs_https")).json()) == [("new", False, False)]
    assert_done(await nitro.delete("sslcertkey/old"))  # no longer bound


async def test_rebinding_identical_is_409(nitro: Nitro, pki: TestPKI) -> None:
    await nitro.install("www", pki.leaf())
    await nitro.bind("vs_https", "www")
    assert_error(await nitro.bind("vs_https", "www"), 409, 273)


async def test_ca_binding_unbind_needs_ca_flag(nitro: Nitro, pki: TestPKI) -> None:
    await nitro.install("root", pki.root, with_key=False)
    assert_done(await nitro.bind("vs_https", "root", ca=True))
    response = await nitro.delete(f"{BINDING}/vs_https?args=certkeyname:root")
    assert_error(response, 599, 1542, "Certificate binding does not exist")
    assert_done(await nitro.delete(f"{BINDING}/vs_https?args=certkeyname:root,ca:true"))


async def test_delete_refused_while_bound(nitro: Nitro, pki: TestPKI) -> None:
    await nitro.install("www", pki.leaf())
    await nitro.bind("vs_https", "www")
    assert_error(await nitro.delete("sslcertkey/www"), 599, 1541)
    assert_done(await nitro.delete(f"{BINDING}/vs_https?args=certkeyname:www"))
    assert_done(await nitro.delete("sslcertkey/www"))


async def test_sni_rules(nitro: Nitro, pki: TestPKI) -> None:
    await nitro.install("a", pki.leaf("a.example.com"))
    await nitro.install("a2", pki.leaf("a.example.com"))
    await nitro.install("b", pki.leaf("b.example.com"))
    assert_error(await nitro.bind("vs_https", "a", snicert=True), 599, 3627)  # SNI not enabled
    assert_done(await nitro.bind("vs_sni", "a", snicert=True))
    assert_error(await nitro.bind("vs_sni", "a2", snicert=True), 599, 1674, "Duplicate domain cert")
    assert_done(await nitro.bind("vs_sni", "b", snicert=True))
    assert_done(await nitro.bind("vs_sni", "a"))  # the same certkey also as the default: another identity
    assert pairs((await nitro.get(f"{BINDING}/vs_sni")).json()) == [
        ("a", False, False),
        ("a", True, False),
        ("b", True, False),
    ]
    assert_error(await nitro.delete(f"{BINDING}/vs_sni?args=certkeyname:b"), 599, 1542)
    assert_done(await nitro.delete(f"{BINDING}/vs_sni?args=certkeyname:b,snicert:true"))


async def test_enable_sni_through_sslvserver(nitro: Nitro, pki: TestPKI) -> None:
    await nitro.install("a", pki.leaf("a.example.com"))
    listed = {v["vservername"]: v["snienable"] for v in (await nitro.get("sslvserver")).json()["sslvserver"]}
    assert listed == {"vs_https": "DISABLED", "vs_sni": "ENABLED", "vs_cs": "DISABLED"}  # no non-SSL vserver
    assert_done(
        await nitro.put("sslvserver", {"sslvserver": {"vservername": "vs_https", "snienable": "ENABLED"}})
    )
    assert_done(await nitro.bind("vs_https", "a", snicert=True))


async def test_reverse_lookup_and_bulkbindings(nitro: Nitro, pki: TestPKI) -> None:
    await nitro.install("www", pki.leaf())
    await nitro.install("idle", pki.leaf())
    await nitro.bind("vs_https", "www")
    await nitro.bind("vs_cs", "www")
    body = assert_done(await nitro.get("sslcertkey_sslvserver_binding/www"))
    assert sorted(e["servername"] for e in body["sslcertkey_sslvserver_binding"]) == ["vs_cs", "vs_https"]
    assert (
        "sslcertkey_sslvserver_binding" not in (await nitro.get("sslcertkey_sslvserver_binding/idle")).json()
    )
    assert_error(await nitro.get("sslcertkey_sslvserver_binding/nope"), 404, 258)
    everything = assert_done(await nitro.get(f"{BINDING}?bulkbindings=yes"))
    assert sorted(e["vservername"] for e in everything[BINDING]) == ["vs_cs", "vs_https"]
    aggregate = assert_done(await nitro.get("sslcertkey_binding/www"))["sslcertkey_binding"][0]
    assert len(aggregate["sslcertkey_sslvserver_binding"]) == 2


async def test_replacing_default_warns_only_when_asked(nitro: Nitro, pki: TestPKI) -> None:
    await nitro.install("old", pki.leaf())
    await nitro.install("new", pki.leaf())
    await nitro.bind("vs_https", "old")
    body = {BINDING: {"vservername": "vs_https", "certkeyname": "new"}}
    response = await nitro.put(f"{BINDING}?warning=yes", body)
    assert response.status_code == 209
    assert response.headers["X-NITRO-WARNING"].startswith("1546 - Current certificate replaces")
    assert response.json()["severity"] == "WARNING"
    assert pairs((await nitro.get(f"{BINDING}/vs_https")).json()) == [("new", False, False)]


async def test_server_binding_needs_a_key(nitro: Nitro, pki: TestPKI) -> None:
    await nitro.install("inter", pki.intermediate, with_key=False)
    assert_error(await nitro.bind("vs_https", "inter"), 599, 1547, "Certificate is not a server certificate")
    assert_done(await nitro.bind("vs_https", "inter", ca=True))


async def test_rsa_and_ecdsa_defaults_coexist(nitro: Nitro, pki: TestPKI, sim: Simulator) -> None:
    """CTX224272: a vserver holds one RSA and one ECDSA default certificate side by side; a new
    default replaces only the one of its own key type."""
    await nitro.install("ec1", pki.leaf())
    await nitro.install("rsa1", pki.leaf(key_type="rsa"))
    await nitro.install("ec2", pki.leaf())
    assert_done(await nitro.bind("vs_https", "ec1"))
    assert_done(await nitro.bind("vs_https", "rsa1"))
    assert sorted(pairs((await nitro.get(f"{BINDING}/vs_https")).json())) == [
        ("ec1", False, False),
        ("rsa1", False, False),
    ]
    assert_done(await nitro.bind("vs_https", "ec2"))  # replaces ec1, keeps rsa1
    assert sorted(pairs((await nitro.get(f"{BINDING}/vs_https")).json())) == [
        ("ec2", False, False),
        ("rsa1", False, False),
    ]
