"""sslcertkey: add and its content checks, GET shapes, change (?action=update), PUT, delete."""

from __future__ import annotations

import re
from urllib.parse import quote

from certsync_devkit.pki import TestPKI, make_ca, make_leaf
from netscaler_certsync.simulator import Simulator
from tests.simulator.helpers import Nitro, assert_done, assert_error

OPENSSL_DATE = re.compile(r"[A-Z][a-z]{2} [ 1-3]\d \d\d:\d\d:\d\d \d{4} GMT")


async def test_add_and_get_shape(nitro: Nitro, pki: TestPKI) -> None:
    leaf = pki.leaf("www.example.com", sans=["www.example.com", "example.com"])
    await nitro.install("www", leaf)
    body = assert_done(await nitro.get("sslcertkey/www"))
    (entry,) = body["sslcertkey"]
    assert entry["serial"] == leaf.serial_hex and entry["serial"] == entry["serial"].upper()
    assert entry["subject"] == " CN=www.example.com"  # leading space, like the appliance
    assert entry["issuer"] == " O=Certsync Test,CN=Certsync Test Intermediate CA"
    assert OPENSSL_DATE.fullmatch(entry["clientcertnotafter"])
    assert OPENSSL_DATE.fullmatch(entry["clientcertnotbefore"])
    assert entry["status"] == "Valid" and isinstance(entry["daystoexpiration"], int)
    assert entry["certificatetype"] == ["CLNT_CERT", "SRVR_CERT"]
    assert (entry["cert"], entry["key"], entry["inform"]) == ("www.crt", "www.key", "PEM")
    assert "linkcertkeyname" not in entry and "passplain" not in entry and "password" not in entry


async def test_ca_certificate_types(nitro: Nitro, pki: TestPKI) -> None:
    await nitro.install("root", pki.root, with_key=False)
    await nitro.install("inter", pki.intermediate, with_key=False)
    types = {e["certkey"]: e["certificatetype"] for e in (await nitro.get("sslcertkey")).json()["sslcertkey"]}
    assert types["root"] == ["ROOT_CERT"] and types["inter"] == ["INTM_CERT"]


async def test_builtin_certificate_present_and_undeletable(nitro: Nitro) -> None:
    assert_done(await nitro.get("sslcertkey/ns-server-certificate"))
    assert_error(await nitro.delete("sslcertkey/ns-server-certificate"), 599, 3719)


async def test_same_name_is_409_273(nitro: Nitro, pki: TestPKI) -> None:
    await nitro.install("www", pki.leaf())
    other = pki.leaf()
    await nitro.upload("o.crt", other.cert_pem)
    await nitro.upload("o.key", other.key_pem)
    assert_error(
        await nitro.add_certkey("www", "o.crt", "o.key"), 409, 273, "Resource already exists [certkey, www]"
    )


async def test_same_content_under_another_name_is_273_contents(nitro: Nitro, pki: TestPKI) -> None:
    await nitro.install("www", pki.leaf())
    response = await nitro.add_certkey("www2", "www.crt", "www.key")
    assert_error(response, 409, 273, "Resource already exists [certkeyName Contents, www]")


async def test_missing_files_are_1647(nitro: Nitro, pki: TestPKI) -> None:
    assert_error(await nitro.add_certkey("www", "nope.crt"), 599, 1647, "Input file(s) not present")
    await nitro.upload("www.crt", pki.leaf().cert_pem)
    assert_error(await nitro.add_certkey("www", "www.crt", "nope.key"), 599, 1647)


async def test_content_checks(nitro: Nitro, pki: TestPKI) -> None:
    leaf, stranger = pki.leaf(), pki.leaf()
    await nitro.upload("junk.crt", b"-----BEGIN CERTIFICATE-----\nnot a cert\n-----END CERTIFICATE-----\n")
    await nitro.upload("www.crt", leaf.cert_pem)
    await nitro.upload("other.key", stranger.key_pem)
    await nitro.upload("enc.key", leaf.key_pem_encrypted(b"pw"))
    await nitro.upload("junk.key", b"garbage")
    await nitro.upload("trad.key", leaf.key_pem_traditional)
    assert_error(await nitro.add_certkey("a", "junk.crt"), 599, 1536, "Invalid certificate")
    assert_error(
        await nitro.add_certkey("a", "www.crt", "other.key"), 599, 1538, "Certificate and private key do not"
    )
    assert_error(await nitro.add_certkey("a", "www.crt", "enc.key"), 599, 1537, "Invalid private key")
    assert_error(
        await nitro.add_certkey("a", "www.crt", "enc.key", passplain="bad"), 599, 1614, "Invalid password"
    )
    assert_error(await nitro.add_certkey("a", "www.crt", "junk.key"), 599, 1537)
    assert_done(await nitro.add_certkey("a", "www.crt", "enc.key", passplain="pw", password=True), 201)
    await nitro.delete("sslcertkey/a")
    assert_done(await nitro.add_certkey("a", "www.crt", "trad.key"), 201)


async def test_combined_pem_file_and_absolute_paths(nitro: Nitro, pki: TestPKI) -> None:
    leaf = pki.leaf()
    await nitro.upload("both.pem", leaf.cert_pem + leaf.key_pem, location="/nsconfig/ssl/sub")
    path = "/nsconfig/ssl/sub/both.pem"
    assert_done(await nitro.add_certkey("both", path, path), 201)


async def test_name_rules_and_length(nitro: Nitro, pki: TestPKI) -> None:
    await nitro.upload("www.crt", pki.leaf().cert_pem)
    assert_error(
        await nitro.add_certkey("x" * 32, "www.crt"),
        400,
        1106,
        "String length exceeds maximum [certkeyName, 31]",
    )
    assert_error(await nitro.add_certkey("-bad", "www.crt"), 400, 1097)
    assert_error(await nitro.add_certkey("", "www.crt"), 400, 1095, "Required argument missing [certkey]")
    assert_done(await nitro.add_certkey("a b.c:d@e=f-g#h", "www.crt"), 201)


async def test_double_encoded_names_with_spaces(nitro: Nitro, pki: TestPKI) -> None:
    await nitro.upload("www.crt", pki.leaf().cert_pem)
    await nitro.add_certkey("my cert", "www.crt")
    for encoded in (quote(quote("my cert")), quote("my cert"), "my+cert", quote("my+cert")):
        body = assert_done(await nitro.get(f"sslcertkey/{encoded}"))
        assert body["sslcertkey"][0]["certkey"] == "my cert"


async def test_get_missing_is_404_258(nitro: Nitro) -> None:
    assert_error(await nitro.get("sslcertkey/nope"), 404, 258, "No such resource")


async def test_count_filter_attrs(nitro: Nitro, pki: TestPKI) -> None:
    await nitro.install("a", pki.leaf("a.example.com"))
    await nitro.install("b", pki.leaf("b.example.com"))
    assert (await nitro.get("sslcertkey?count=yes")).json()["sslcertkey"] == [{"__count": 3}]
    body = (await nitro.get("sslcertkey?filter=certkey:b&attrs=certkey,serial")).json()
    assert [set(e) for e in body["sslcertkey"]] == [{"certkey", "serial"}]
    body = (await nitro.get("sslcertkey?filter=subject:/example/")).json()
    assert sorted(e["certkey"] for e in body["sslcertkey"]) == ["a", "b"]


async def test_linkcertkeyname_in_add_is_ignored(nitro: Nitro, pki: TestPKI) -> None:
    await nitro.install("inter", pki.intermediate, with_key=False)
    leaf = pki.leaf()
    await nitro.upload("www.crt", leaf.cert_pem)
    assert_done(await nitro.add_certkey("www", "www.crt", linkcertkeyname="inter"), 201)
    assert "linkcertkeyname" not in (await nitro.get("sslcertkey/www")).json()["sslcertkey"][0]


async def test_put_sets_monitor_fields_only(nitro: Nitro, pki: TestPKI) -> None:
    await nitro.install("www", pki.leaf())
    body = {"sslcertkey": {"certkey": "www", "expirymonitor": "ENABLED", "notificationperiod": 30}}
    assert_done(await nitro.put("sslcertkey", body))
    entry = (await nitro.get("sslcertkey/www")).json()["sslcertkey"][0]
    assert (entry["expirymonitor"], entry["notificationperiod"]) == (
        "ENABLED",
        "30",
    )  # a string, like the box
    response = await nitro.put("sslcertkey", {"sslcertkey": {"certkey": "www", "cert": "other.crt"}})
    assert_error(response, 599, 278, "Invalid argument [cert]")  # adc-nitro-go #15


async def test_change_keeps_name_and_bindings(nitro: Nitro, pki: TestPKI, sim: Simulator) -> None:
    old, new = pki.leaf("www.example.com"), pki.leaf("www.example.com")
    await nitro.install("www", old)
    assert_done(await nitro.bind("vs_https", "www"))
    await nitro.upload("www2.crt", new.cert_pem)
    await nitro.upload("www2.key", new.key_pem)
    sim.clear_requests()
    body = {"sslcertkey": {"certkey": "www", "cert": "www2.crt", "key": "www2.key"}}
    assert_done(await nitro.post("sslcertkey?action=update", body))
    entry = (await nitro.get("sslcertkey/www")).json()["sslcertkey"][0]
    assert entry["serial"] == new.serial_hex and entry["cert"] == "www2.crt"
    assert sim.state.dump()["bindings"] == [
        {"vserver": "vs_https", "certkey": "www", "snicert": False, "ca": False}
    ]
    assert [r.action for r in sim.requests if r.is_write] == ["update"]
    assert_done(await nitro.post("sslcertkey?action=update", body))  # identical content again: fine


async def test_change_to_an_encrypted_key_needs_its_passplain(
    nitro: Nitro, pki: TestPKI, sim: Simulator
) -> None:
    # The update reads the new key file as add does: without the passphrase 1537, a wrong one
    # 1614 (nothing changes), the right one updates and the key stays encrypted at rest.
    old, new = pki.leaf("www.example.com"), pki.leaf("www.example.com")
    await nitro.install("www", old)
    await nitro.upload("www2.crt", new.cert_pem)
    await nitro.upload("www2.key", new.key_pem_encrypted(b"pw"))
    body = {"certkey": "www", "cert": "www2.crt", "key": "www2.key", "nodomaincheck": True}
    assert_error(await nitro.post("sslcertkey?action=update", {"sslcertkey": body}), 599, 1537)
    wrong = body | {"passplain": "bad", "password": True}
    assert_error(await nitro.post("sslcertkey?action=update", {"sslcertkey": wrong}), 599, 1614)
    assert sim.state.dump()["certkeys"]["www"]["serial"] == old.serial_hex
    right = body | {"passplain": "pw", "password": True}
    assert_done(await nitro.post("sslcertkey?action=update", {"sslcertkey": right}))
    certkey = sim.state.dump()["certkeys"]["www"]
    assert certkey["serial"] == new.serial_hex and certkey["key_encrypted"] is True
    entry = (await nitro.get("sslcertkey/www")).json()["sslcertkey"][0]
    assert "passplain" not in entry  # never returned by GET


async def test_change_domain_check(nitro: Nitro, pki: TestPKI) -> None:
    await nitro.install("www", pki.leaf("www.example.com"))
    other = pki.leaf("api.example.org")
    await nitro.upload("api.crt", other.cert_pem)
    await nitro.upload("api.key", other.key_pem)
    body = {"sslcertkey": {"certkey": "www", "cert": "api.crt", "key": "api.key"}}
    assert_error(
        await nitro.post("sslcertkey?action=update", body), 599, 3585, "Certificate is registered to a"
    )
    body["sslcertkey"]["nodomaincheck"] = True
    assert_done(await nitro.post("sslcertkey?action=update", body))


async def test_change_with_mismatched_key_and_missing_certkey(nitro: Nitro, pki: TestPKI) -> None:
    await nitro.install("www", pki.leaf())
    other = pki.leaf()
    await nitro.upload("o.crt", other.cert_pem)
    body = {"sslcertkey": {"certkey": "www", "cert": "o.crt"}}  # keeps the old key file: mismatch
    assert_error(await nitro.post("sslcertkey?action=update", body), 599, 1538)
    body = {"sslcertkey": {"certkey": "nope", "cert": "o.crt"}}
    assert_error(await nitro.post("sslcertkey?action=update", body), 599, 1540, "Certificate does not exist")


async def test_delete_from_device_removes_files(nitro: Nitro, pki: TestPKI, sim: Simulator) -> None:
    await nitro.install("www", pki.leaf())
    await nitro.install("api", pki.leaf())
    assert_done(await nitro.delete("sslcertkey/www?args=deletefromdevice:true"))
    assert_done(await nitro.delete("sslcertkey/api"))
    files = sim.state.dump()["files"]
    assert "/nsconfig/ssl/www.crt" not in files and "/nsconfig/ssl/www.key" not in files
    assert "/nsconfig/ssl/api.crt" in files  # without deletefromdevice the files stay
    assert_error(await nitro.delete("sslcertkey/www"), 404, 258)


async def test_rsa_and_der(nitro: Nitro) -> None:
    from cryptography.hazmat.primitives import serialization

    ca = make_ca("RSA CA", key_type="rsa")
    leaf = make_leaf(ca, "rsa.example.com", key_type="rsa")
    await nitro.upload("rsa.der", leaf.cert.public_bytes(serialization.Encoding.DER))
    der_key = leaf.key.private_bytes(
        serialization.Encoding.DER, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    )
    await nitro.upload("rsa.key", der_key)  # inform applies to the key file too
    assert_done(await nitro.add_certkey("rsa", "rsa.der", "rsa.key", inform="DER"), 201)
    entry = (await nitro.get("sslcertkey/rsa")).json()["sslcertkey"][0]
    assert (entry["publickey"], entry["publickeysize"], entry["inform"]) == ("rsaEncryption", 2048, "DER")


async def test_idempotent_add_updates_settable_fields(nitro: Nitro, pki: TestPKI) -> None:
    await nitro.install("www", pki.leaf())
    item = {"certkey": "www", "cert": "www.crt", "key": "www.key", "expirymonitor": "ENABLED"}
    assert_done(await nitro.post("sslcertkey?idempotent=yes", {"sslcertkey": item}), 200)
    assert (await nitro.get("sslcertkey/www")).json()["sslcertkey"][0]["expirymonitor"] == "ENABLED"
    assert_error(await nitro.post("sslcertkey", {"sslcertkey": item}), 409, 273)


async def test_expired_certificate_loads_with_a_warning(nitro: Nitro, pki: TestPKI) -> None:
    import datetime as dt

    start = dt.datetime.now(dt.UTC) - dt.timedelta(days=30)
    expired = pki.leaf("old.example.com", not_before=start, not_after=start + dt.timedelta(days=10))
    await nitro.upload("old.crt", expired.cert_pem)
    response = await nitro.post(
        "sslcertkey?warning=yes", {"sslcertkey": {"certkey": "old", "cert": "old.crt"}}
    )
    assert response.status_code == 209 and response.json()["errorcode"] == 1589
    entry = (await nitro.get("sslcertkey/old")).json()["sslcertkey"][0]
    assert (entry["status"], entry["daystoexpiration"]) == ("Expired", 0)


async def test_deletecertkeyfilesonremoval(nitro: Nitro, pki: TestPKI, sim: Simulator) -> None:
    await nitro.install("www", pki.leaf())
    body = {"sslcertkey": {"certkey": "www", "deletecertkeyfilesonremoval": "ALWAYS"}}
    assert_done(await nitro.put("sslcertkey", body))
    assert (await nitro.get("sslcertkey/www")).json()["sslcertkey"][0][
        "deletecertkeyfilesonremoval"
    ] == "ALWAYS"
    assert_done(await nitro.delete("sslcertkey/www"))
    assert "/nsconfig/ssl/www.crt" not in sim.state.dump()["files"]
    await nitro.install("api", pki.leaf(), with_key=False)
    body = {"sslcertkey": {"certkey": "api", "deletecertkeyfilesonremoval": "IF_EXPIRED"}}
    assert_done(await nitro.put("sslcertkey", body))
    assert_done(await nitro.delete("sslcertkey/api"))
    assert "/nsconfig/ssl/api.crt" in sim.state.dump()["files"]  # not expired: files stay
    body["sslcertkey"]["deletecertkeyfilesonremoval"] = "SOMETIMES"
    await nitro.install("x", pki.leaf(), with_key=False)
    body["sslcertkey"]["certkey"] = "x"
    assert_error(await nitro.put("sslcertkey", body), 400, 1097)
