"""Certificate links: CA must be a certkey, one link per cert, self/loop/issuer checks, unlink,
delete refused while linked-to; the sslcertlink and sslcertificatechain views."""

from __future__ import annotations

from certsync_devkit.pki import TestPKI, make_ca
from netscaler_certsync.simulator import Quirks, SimulatorConfig
from tests.simulator.helpers import Nitro, assert_done, assert_error


def link(certkey: str, ca: str) -> dict[str, dict[str, str]]:
    return {"sslcertkey": {"certkey": certkey, "linkcertkeyname": ca}}


async def chain(nitro: Nitro, pki: TestPKI) -> None:
    await nitro.install("root", pki.root, with_key=False)
    await nitro.install("inter", pki.intermediate, with_key=False)
    await nitro.install("www", pki.leaf())


async def test_link_chain_and_views(nitro: Nitro, pki: TestPKI) -> None:
    await chain(nitro, pki)
    assert_done(await nitro.post("sslcertkey?action=link", link("www", "inter")))
    assert_done(await nitro.post("sslcertkey?action=link", link("inter", "root")))
    links = (await nitro.get("sslcertlink")).json()["sslcertlink"]
    assert sorted((e["certkeyname"], e["linkcertkeyname"]) for e in links) == [
        ("inter", "root"),
        ("www", "inter"),
    ]
    (entry,) = (await nitro.get("sslcertificatechain/www")).json()["sslcertificatechain"]
    assert entry["chainlinked"] == ["inter", "root"] and entry["chaincomplete"] is True


async def test_chain_view_suggests_possible_links(nitro: Nitro, pki: TestPKI) -> None:
    await chain(nitro, pki)
    (entry,) = (await nitro.get("sslcertificatechain/www")).json()["sslcertificatechain"]
    assert entry["chainlinked"] == [] and entry["chainpossiblelinks"] == ["inter"]


async def test_link_errors(nitro: Nitro, pki: TestPKI) -> None:
    await chain(nitro, pki)
    assert_error(await nitro.post("sslcertkey?action=link", link("www", "nope")), 599, 1540)
    assert_error(await nitro.post("sslcertkey?action=link", link("nope", "inter")), 599, 1540)
    assert_error(await nitro.post("sslcertkey?action=link", link("root", "root")), 599, 1543)
    assert_error(await nitro.post("sslcertkey?action=link", link("www", "root")), 599, 1548)  # not its issuer
    stranger = make_ca("Stranger CA")
    await nitro.install("stranger", stranger, with_key=False)
    assert_error(await nitro.post("sslcertkey?action=link", link("www", "stranger")), 599, 1548)
    response = await nitro.post("sslcertkey?action=link", {"sslcertkey": {"certkey": "www"}})
    assert_error(response, 400, 1095, "Required argument missing [linkcertkeyname]")


async def test_link_loop_is_1677(nitro: Nitro) -> None:
    # Two CAs that cross-certify each other: A issued by B's subject and B by A's subject.
    a_key_holder = make_ca("Loop A")
    b = make_ca("Loop B", issuer=a_key_holder)
    a = make_ca("Loop A", issuer=b, key=a_key_holder.key)
    await nitro.install("a", a, with_key=False)
    await nitro.install("b", b, with_key=False)
    assert_done(await nitro.post("sslcertkey?action=link", link("a", "b")))
    assert_error(await nitro.post("sslcertkey?action=link", link("b", "a")), 599, 1677)


async def test_one_link_per_certificate(nitro: Nitro, pki: TestPKI) -> None:
    await chain(nitro, pki)
    assert_done(await nitro.post("sslcertkey?action=link", link("www", "inter")))
    assert_error(await nitro.post("sslcertkey?action=link", link("www", "inter")), 409, 273)


async def test_unlink(nitro: Nitro, pki: TestPKI) -> None:
    await chain(nitro, pki)
    assert_error(await nitro.post("sslcertkey?action=unlink", {"sslcertkey": {"certkey": "www"}}), 599, 1545)
    await nitro.post("sslcertkey?action=link", link("www", "inter"))
    assert_done(await nitro.post("sslcertkey?action=unlink", {"sslcertkey": {"certkey": "www"}}))
    body = (await nitro.get("sslcertlink")).json()
    assert "sslcertlink" not in body  # no links: the array key is omitted (nitro.md quirk 14)


async def test_delete_refused_while_linked_to(nitro: Nitro, pki: TestPKI) -> None:
    await chain(nitro, pki)
    await nitro.post("sslcertkey?action=link", link("www", "inter"))
    assert_error(await nitro.delete("sslcertkey/inter"), 599, 1541, "Certificate is referenced by")
    assert_done(await nitro.delete("sslcertkey/www"))  # the child may go; its link goes with it
    assert_done(await nitro.delete("sslcertkey/inter"))


async def test_relink_replace_quirk(pki: TestPKI) -> None:
    import httpx

    from netscaler_certsync.simulator import run_simulator

    async with (
        run_simulator(SimulatorConfig(https=False, quirks=Quirks(relink="replace"))) as sim,
        httpx.AsyncClient(base_url=sim.url) as http,
    ):
        nitro = Nitro(http)
        await nitro.login()
        await chain(nitro, pki)
        assert_done(await nitro.post("sslcertkey?action=link", link("www", "inter")))
        assert_done(await nitro.post("sslcertkey?action=link", link("www", "inter")))
        assert sim.state.dump()["links"] == {"www": "inter"}


async def test_change_to_another_issuer_breaks_the_link_with_warning_1587(nitro: Nitro, pki: TestPKI) -> None:
    await chain(nitro, pki)
    await nitro.post("sslcertkey?action=link", link("www", "inter"))
    other = TestPKI.create("Other")
    renewed = other.leaf("www.example.com")
    await nitro.upload("new.crt", renewed.cert_pem)
    await nitro.upload("new.key", renewed.key_pem)
    body = {"sslcertkey": {"certkey": "www", "cert": "new.crt", "key": "new.key"}}
    response = await nitro.post("sslcertkey?action=update&warning=yes", body)
    assert response.status_code == 209 and response.json()["errorcode"] == 1587
    assert response.json()["message"].startswith("All incompatible CA links")
    assert "sslcertlink" not in (await nitro.get("sslcertlink")).json()


async def test_change_keeps_a_compatible_link(nitro: Nitro, pki: TestPKI) -> None:
    await chain(nitro, pki)
    await nitro.post("sslcertkey?action=link", link("www", "inter"))
    renewed = pki.leaf("www.example.com")
    await nitro.upload("new.crt", renewed.cert_pem)
    await nitro.upload("new.key", renewed.key_pem)
    body = {"sslcertkey": {"certkey": "www", "cert": "new.crt", "key": "new.key"}}
    assert_done(await nitro.post("sslcertkey?action=update&warning=yes", body))
    assert (await nitro.get("sslcertlink")).json()["sslcertlink"] == [
        {"certkeyname": "www", "linkcertkeyname": "inter"}
    ]
