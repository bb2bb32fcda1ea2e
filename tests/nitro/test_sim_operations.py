"""Every typed operation against the simulator, and what a single-certificate deploy costs."""

from __future__ import annotations

import datetime as dt

import pytest

from certsync_devkit.pki import Issued, TestPKI
from netscaler_certsync.nitro import CertBinding, NewCertKey, NitroClient, errors
from netscaler_certsync.simulator import Simulator
from tests.support.nitro import ClientFactory


async def install(client: NitroClient, name: str, issued: Issued, *, key: bool = True) -> None:
    await client.upload_file(f"{name}.crt", issued.cert_pem)
    if key:
        await client.upload_file(f"{name}.key", issued.key_pem)
    await client.add_certkey(name, f"{name}.crt", f"{name}.key" if key else None)


async def test_single_certificate_deploy_costs_exactly_its_requests(
    sim: Simulator, make_client: ClientFactory, pki: TestPKI
) -> None:
    leaf = pki.leaf("shop.example.com")
    async with make_client() as client:
        await client.upload_file("shop.crt", leaf.cert_pem)
        await client.upload_file("shop.key", leaf.key_pem)
        await client.add_certkey("shop", "shop.crt", "shop.key")
        await client.bind_certkey("vs_https", "shop")
        await client.save_config()
    calls = [(r.method, r.resource, r.action, r.status) for r in sim.requests]
    assert calls == [
        ("POST", "login", None, 201),
        ("POST", "systemfile", None, 201),
        ("POST", "systemfile", None, 201),
        ("POST", "sslcertkey", None, 201),
        ("PUT", "sslvserver_sslcertkey_binding", None, 200),
        ("POST", "nsconfig", "save", 200),
        ("POST", "logout", None, 201),
    ]
    state = sim.state.dump()
    assert state["certkeys"]["shop"]["serial"] == leaf.serial_hex
    assert {"vserver": "vs_https", "certkey": "shop", "snicert": False, "ca": False} in state["bindings"]


async def test_certkey_reads(sim: Simulator, make_client: ClientFactory, pki: TestPKI) -> None:
    leaf = pki.leaf("read.example.com", days=30)
    async with make_client() as client:
        await install(client, "read", leaf)
        found = await client.get_certkey("read")
        assert await client.get_certkey("absent") is None
        filtered = await client.list_certkeys(filter={"certkey": "read"})
        trimmed = await client.list_certkeys(attrs=["serial"])
        everything = await client.list_certkeys()
        counted = await client.count_certkeys()
    assert found is not None
    assert found.serial == leaf.serial_hex
    assert found.subject is not None and "CN=read.example.com" in found.subject
    assert found.issuer is not None and "Intermediate" in found.issuer
    assert found.not_after == leaf.cert.not_valid_after_utc.replace(tzinfo=dt.UTC)
    assert found.days_to_expiration in (29, 30)
    assert found.status == "Valid" and "SRVR_CERT" in found.certificate_types
    assert [c.name for c in filtered] == ["read"]
    assert {c.name for c in trimmed} == {c.name for c in everything}
    assert all(c.subject is None for c in trimmed)  # attrs honoured: only what was asked
    assert "ns-server-certificate" in {c.name for c in everything}
    assert counted == len(everything)


async def test_link_unlink_and_links(make_client: ClientFactory, pki: TestPKI) -> None:
    leaf = pki.leaf("chain.example.com")
    async with make_client() as client:
        await install(client, "chain", leaf)
        await install(client, "inter", pki.intermediate, key=False)
        await client.link_certkey("chain", "inter")
        linked = await client.get_certkey("chain")
        links = await client.list_cert_links()
        with pytest.raises(errors.NetScalerError) as referenced:
            await client.delete_certkey("inter")
        await client.unlink_certkey("chain")
        unlinked = await client.get_certkey("chain")
        inter = await client.get_certkey("inter")
    assert linked is not None and linked.linked_to == "inter"
    assert ("chain", "inter") in {(link.certkey, link.linked_to) for link in links}
    assert errors.is_still_referenced(referenced.value)
    assert unlinked is not None and unlinked.linked_to is None
    assert inter is not None and inter.is_ca


async def test_change_replaces_the_certificate_in_place(
    sim: Simulator, make_client: ClientFactory, pki: TestPKI
) -> None:
    old = pki.leaf("renew.example.com")
    new = pki.leaf("renew.example.com")
    other_domain = pki.leaf("other.example.com")
    async with make_client() as client:
        await install(client, "renew", old)
        await client.bind_certkey("vs_https", "renew")
        await client.upload_file("renew-2.crt", new.cert_pem)
        await client.upload_file("renew-2.key", new.key_pem)
        await client.change_certkey("renew", "renew-2.crt", "renew-2.key")
        renewed = await client.get_certkey("renew")
        bindings = await client.list_bindings("vs_https")
        await client.upload_file("renew-3.crt", other_domain.cert_pem)
        await client.upload_file("renew-3.key", other_domain.key_pem)
        with pytest.raises(errors.NetScalerError) as domain:
            await client.change_certkey("renew", "renew-3.crt", "renew-3.key", nodomaincheck=False)
        with pytest.raises(errors.NetScalerError) as mismatch:
            await client.change_certkey("renew", "renew-2.crt", "renew-3.key")
        with pytest.raises(errors.APIError) as missing:
            await client.change_certkey("nope", "renew-2.crt", "renew-2.key")
    assert renewed is not None and renewed.serial == new.serial_hex
    assert CertBinding("vs_https", "renew") in bindings
    assert errors.is_domain_mismatch(domain.value)
    assert errors.is_key_mismatch(mismatch.value)
    assert errors.is_cert_missing(missing.value) and errors.is_not_found(missing.value)


async def test_files(make_client: ClientFactory) -> None:
    async with make_client() as client:
        await client.upload_file("note.txt", b"first")
        with pytest.raises(errors.AlreadyExistsError) as exists:
            await client.upload_file("note.txt", b"second")
        await client.upload_file("note.txt", b"second", override=True)
        read = await client.get_file("note.txt")
        listed = {f.filename for f in await client.list_files()}
        await client.delete_file("note.txt")
        gone = await client.get_file("note.txt")
    assert errors.is_file_exists(exists.value) and exists.value.status == 409
    assert read is not None and read.content == b"second"
    assert "note.txt" in listed
    assert gone is None


async def test_bindings_default_sni_ca_and_reverse_lookup(make_client: ClientFactory, pki: TestPKI) -> None:
    async with make_client() as client:
        await install(client, "site", pki.leaf("site.example.com"))
        await install(client, "root", pki.root, key=False)
        await client.bind_certkey("vs_https", "site")
        await client.bind_certkey("vs_sni", "site", sni=True)
        await client.bind_certkey("vs_https", "root", ca=True)
        per_vserver = await client.list_bindings("vs_https")
        everything = await client.list_all_bindings()
        where = await client.certkey_vservers("site")
        ssl_vservers = await client.list_ssl_vservers()
        with pytest.raises(errors.NetScalerError) as wrong_flags:
            await client.unbind_certkey("vs_https", "root")  # a CA binding needs ca=True
        with pytest.raises(errors.NetScalerError) as still_bound:
            await client.delete_certkey("site")
        await client.unbind_certkey("vs_https", "root", ca=True)
        await client.unbind_certkey("vs_sni", "site", sni=True)
        await client.unbind_certkey("vs_https", "site")
        await client.delete_certkey("site")
        after = await client.list_all_bindings()
        assert await client.list_bindings("vs_sni") == []
        with pytest.raises(errors.APIError) as no_vserver:
            await client.list_bindings("vs_missing")
    assert set(per_vserver) == {CertBinding("vs_https", "site"), CertBinding("vs_https", "root", ca=True)}
    assert CertBinding("vs_sni", "site", sni=True) in everything
    assert sorted(where) == ["vs_https", "vs_sni"]
    assert {(v.name, v.sni_enabled) for v in ssl_vservers} >= {("vs_https", False), ("vs_sni", True)}
    assert errors.is_binding_missing(wrong_flags.value)
    assert errors.is_still_referenced(still_bound.value)
    assert not [b for b in after if b.certkey in ("site", "root")]
    assert errors.is_vserver_missing(no_vserver.value) or errors.is_not_found(no_vserver.value)


async def test_bulk_add_and_bind_report_each_item(
    sim: Simulator, make_client: ClientFactory, pki: TestPKI
) -> None:
    a, b = pki.leaf("a.example.com"), pki.leaf("b.example.com")
    async with make_client() as client:
        for name, issued in (("a", a), ("b", b)):
            await client.upload_file(f"{name}.crt", issued.cert_pem)
            await client.upload_file(f"{name}.key", issued.key_pem)
        await install(client, "taken", pki.leaf("taken.example.com"))
        sim.clear_requests()
        added = await client.add_certkeys(
            [
                NewCertKey("a", "a.crt", "a.key"),
                NewCertKey("taken", "a.crt", "a.key"),
                NewCertKey("b", "b.crt", "b.key"),
            ]
        )
        bound = await client.bind_certkeys(
            [CertBinding("vs_sni", "a", sni=True), CertBinding("vs_sni", "ghost", sni=True)]
        )
    assert [r.ok for r in added] == [True, False, True]
    assert added[1].errorcode == errors.ErrorCode.RESOURCE_EXISTS
    assert [r.ok for r in bound] == [True, False]
    assert [(r.method, r.resource, r.status) for r in sim.requests] == [
        ("POST", "sslcertkey", 207),
        ("PUT", "sslvserver_sslcertkey_binding", 207),
        ("POST", "logout", 201),
    ]
    assert set(sim.state.dump()["certkeys"]) >= {"a", "b", "taken"}


async def test_system_reads_partitions_and_save(
    sim: Simulator, make_client: ClientFactory, pki: TestPKI
) -> None:
    async with make_client() as client:
        version = await client.version()
        ha = await client.ha_state()
        clean = await client.config_state()
        await install(client, "saved", pki.leaf("saved.example.com"))
        dirty = await client.config_state()
        await client.save_config()
        saved = await client.config_state()
        await client.switch_partition("p1")
        in_p1 = {c.name for c in await client.list_certkeys()}
        with pytest.raises(errors.APIError) as unknown:
            await client.switch_partition("nope")
    assert version.release == "13.1" and version.build == "49.13"
    assert version.version.startswith("NetScaler NS13.1")
    assert not ha.configured and ha.is_primary
    assert (clean.changed, dirty.changed, saved.changed) == (False, True, False)
    assert "saved" not in in_p1  # certkeys belong to their partition
    assert client.partition == "p1" and not isinstance(unknown.value, errors.ServerError)


async def test_add_errors(make_client: ClientFactory, pki: TestPKI) -> None:
    leaf = pki.leaf("dup.example.com")
    async with make_client() as client:
        await install(client, "dup", leaf)
        with pytest.raises(errors.AlreadyExistsError) as same_name:
            await client.add_certkey("dup", "dup.crt", "dup.key")
        with pytest.raises(errors.AlreadyExistsError) as same_content:
            await client.add_certkey("dup-2", "dup.crt", "dup.key")
        with pytest.raises(errors.NetScalerError) as no_file:
            await client.add_certkey("ghost", "ghost.crt", "ghost.key")
        await client.upload_file("enc.key", leaf.key_pem_encrypted(b"pw-for-key"))
        await client.upload_file("enc.crt", pki.leaf("enc.example.com").cert_pem)
        with pytest.raises(errors.NetScalerError) as bad_key:
            await client.add_certkey("enc", "enc.crt", "enc.key")
    assert (same_name.value.status, same_name.value.errorcode) == (409, 273)
    assert errors.existing_name_for_content(same_content.value) == "dup"
    assert errors.is_file_missing(no_file.value)
    assert errors.is_bad_key(bad_key.value) or errors.is_key_mismatch(bad_key.value)


async def test_command_policy_is_forbidden(make_client: ClientFactory) -> None:
    from netscaler_certsync.nitro import Credentials

    async with make_client(credentials=Credentials("viewer", "viewer-pw")) as client:
        assert await client.list_certkeys()
        with pytest.raises(errors.ForbiddenError) as caught:
            await client.save_config()
    assert caught.value.errorcode == 2138


async def test_encrypted_key_with_passphrase(make_client: ClientFactory, pki: TestPKI) -> None:
    leaf = pki.leaf("locked.example.com")
    async with make_client() as client:
        await client.upload_file("locked.crt", leaf.cert_pem)
        await client.upload_file("locked.key", leaf.key_pem_encrypted(b"open-sesame"))
        with pytest.raises(errors.NetScalerError) as wrong:
            await client.add_certkey("locked", "locked.crt", "locked.key", passplain="not-it")
        await client.add_certkey("locked", "locked.crt", "locked.key", passplain="open-sesame")
        found = await client.get_certkey("locked")
    assert errors.is_bad_key(wrong.value)
    assert "not-it" not in str(wrong.value)
    assert found is not None and found.serial == leaf.serial_hex


async def test_delete_from_device_removes_the_files(
    sim: Simulator, make_client: ClientFactory, pki: TestPKI
) -> None:
    async with make_client() as client:
        await install(client, "wipe", pki.leaf("wipe.example.com"))
        await client.delete_certkey("wipe", delete_from_device=True)
        names = {f.filename for f in await client.list_files()}
        assert await client.get_certkey("wipe") is None
    assert not {"wipe.crt", "wipe.key"} & names
    delete = next(r for r in sim.requests if r.method == "DELETE")
    assert delete.query == {"args": "deletefromdevice:true"}


async def test_names_with_spaces_and_specials_round_trip(make_client: ClientFactory, pki: TestPKI) -> None:
    leaf = pki.leaf("odd.example.com")
    name = "odd name #1:a@b=c"
    async with make_client() as client:
        await client.upload_file("odd file.crt", leaf.cert_pem)
        await client.upload_file("odd file.key", leaf.key_pem)
        await client.add_certkey(name, "odd file.crt", "odd file.key")
        found = await client.get_certkey(name)
        await client.bind_certkey("vs_https", name)
        assert CertBinding("vs_https", name) in await client.list_bindings("vs_https")
        assert await client.certkey_vservers(name) == ["vs_https"]
        await client.unbind_certkey("vs_https", name)
        await client.delete_certkey(name)
        await client.delete_file("odd file.crt")
        assert await client.get_certkey(name) is None
        assert await client.get_file("odd file.crt") is None
    assert found is not None and found.name == name and found.serial == leaf.serial_hex
