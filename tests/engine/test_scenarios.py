"""The engine against the simulator, scenario by scenario, with the simulator's invariants checked.

What is asserted is what a user would see on the appliance (certkeys, files, links, bindings,
saved configuration) and in the result, plus the number of write requests the simulator logged.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import AsyncIterator

import pytest

from certsync_devkit.pki import TestPKI, make_ca
from netscaler_certsync.domain import NamingError, reasons
from netscaler_certsync.engine import BindingSpec, CertState, DesiredCertificate, SyncOptions
from netscaler_certsync.nitro import Credentials, NitroClient, TLSConfig
from netscaler_certsync.simulator import Simulator
from tests.support.engine import Harness, appliance, bindings, certkeys, desired, files, orphans

HTTPS = BindingSpec("vs_https")


@pytest.fixture
async def h(sim: Simulator) -> AsyncIterator[Harness]:
    yield Harness(sim)
    assert sim.check_invariants() == []


async def test_first_deploy_with_chain_and_binding(h: Harness, pki: TestPKI) -> None:
    leaf = pki.leaf("www.example.com")
    d = desired(leaf, [pki.intermediate], bindings=[HTTPS])
    res = await h.apply([d])
    [cert] = res.certificates
    assert (cert.state, cert.reason, cert.serial) == (CertState.SYNCED, reasons.Synced, leaf.serial_hex)
    ck = certkeys(h.sim)[d.name]
    assert ck["serial"] == leaf.serial_hex and ck["linkcertkeyname"] in certkeys(h.sim)
    assert bindings(h.sim) == {("vs_https", d.name, False)}
    assert res.saved and appliance(h.sim)["saves"] == 1 and not appliance(h.sim)["configchanged"]
    assert orphans(h.sim) == set()


async def test_first_deploy_without_chain_is_four_writes_and_one_save(h: Harness, pki: TestPKI) -> None:
    await h.apply([desired(pki.leaf(), bindings=[HTTPS])])
    writes = [(r.resource, r.action) for r in h.writes()]
    assert writes[:-1] == [
        ("systemfile", None),
        ("systemfile", None),
        ("sslcertkey", None),
        ("sslvserver_sslcertkey_binding", None),
    ]
    assert writes[-1] == ("nsconfig", "save")


async def test_reapply_is_a_no_op(h: Harness, pki: TestPKI) -> None:
    d = desired(pki.leaf(), [pki.intermediate], bindings=[HTTPS, BindingSpec("vs_sni", sni=True)])
    await h.apply([d])
    h.sim.clear_requests()
    res = await h.apply([d])
    assert h.writes() == [] and not res.saved and not res.changed
    assert res.certificates[0].reason == reasons.Unchanged
    assert res.reads == 2


async def test_renewal_in_place_keeps_name_and_bindings(h: Harness, pki: TestPKI) -> None:
    old, new = pki.leaf(), pki.leaf()
    await h.apply([desired(old, [pki.intermediate], bindings=[HTTPS])])
    before = set(files(h.sim))
    h.sim.clear_requests()
    res = await h.apply([desired(new, [pki.intermediate], bindings=[HTTPS])])
    [cert] = res.certificates
    assert cert.reason == reasons.Renewed and cert.serial == new.serial_hex
    assert {ck["serial"] for ck in certkeys(h.sim).values() if ck["key"]} == {new.serial_hex}
    assert bindings(h.sim) == {("vs_https", cert.certkey, False)}
    assert [r.action for r in h.writes() if r.resource == "sslcertkey"] == ["update"]
    assert orphans(h.sim) == set() and len(files(h.sim) - before) == 2  # old files gone, new in place


async def test_renewal_as_new_object(sim: Simulator, pki: TestPKI) -> None:
    h = Harness(sim, preserve_on_renewal=False)
    old, new = pki.leaf(), pki.leaf()
    first = await h.apply([desired(old, bindings=[HTTPS, BindingSpec("vs_sni", sni=True)])])
    res = await h.apply([desired(new, bindings=[HTTPS, BindingSpec("vs_sni", sni=True)])])
    old_name, new_name = first.certificates[0].certkey, res.certificates[0].certkey
    assert new_name != old_name and res.certificates[0].reason == reasons.Renewed
    assert bindings(sim) == {("vs_https", new_name, False), ("vs_sni", new_name, True)}
    assert set(certkeys(sim)) == {old_name, new_name}  # the old one stays until removal
    assert [r.certkey for r in h.records.certificates if r.superseded] == [old_name]
    # Once the old certificate has expired, it is removed.
    later = dt.datetime.now(dt.UTC) + dt.timedelta(days=91)
    new_long = pki.leaf(days=400)
    await h.apply([desired(new_long, bindings=[HTTPS])], now=later)
    assert old_name not in certkeys(sim)
    assert sim.check_invariants() == []


async def test_chain_added_changed_and_removed(h: Harness, pki: TestPKI) -> None:
    leaf = pki.leaf()
    await h.apply([desired(leaf)])
    assert all(ck["linkcertkeyname"] is None for ck in certkeys(h.sim).values())
    await h.apply([desired(leaf, [pki.intermediate])])
    [ca] = [n for n, ck in certkeys(h.sim).items() if not ck["key"]]
    assert appliance(h.sim)["links"] == {desired(leaf).name: ca}
    other = TestPKI.create("Rotated")
    renewed = other.leaf()
    await h.apply([desired(renewed, [other.intermediate])])
    [ca2] = [n for n, ck in certkeys(h.sim).items() if not ck["key"]]
    assert ca2 != ca  # issuer rotated: a new certkey linked to the new CA, the old CA collected
    [leaf_name] = [n for n, ck in certkeys(h.sim).items() if ck["key"]]
    assert appliance(h.sim)["links"] == {leaf_name: ca2}
    await h.apply([desired(renewed)])
    assert [n for n, ck in certkeys(h.sim).items() if not ck["key"]] == []
    assert appliance(h.sim)["links"] == {} and orphans(h.sim) == set()


async def test_multi_level_chain_is_linked_at_every_level(h: Harness) -> None:
    root = make_ca("Root")
    mid1 = make_ca("Mid 1", issuer=root)
    mid2 = make_ca("Mid 2", issuer=mid1)
    leaf = TestPKI(root, mid2).leaf()
    d = desired(leaf, [mid1, mid2])  # out of order on purpose
    await h.apply([d])
    links = appliance(h.sim)["links"]
    assert len(links) == 2 and links[links[d.name]] in certkeys(h.sim)


async def test_bindings_added_removed_and_sni(h: Harness, pki: TestPKI) -> None:
    leaf = pki.leaf()
    d1 = desired(leaf, bindings=[HTTPS])
    await h.apply([d1])
    d2 = desired(leaf, bindings=[BindingSpec("vs_two"), BindingSpec("vs_sni", sni=True)])
    res = await h.apply([d2])
    assert bindings(h.sim) == {("vs_two", d1.name, False), ("vs_sni", d1.name, True)}
    assert set(res.certificates[0].bound) == set(d2.bindings)


@pytest.mark.parametrize("cause", ["deleted", "expired"])
async def test_removal(h: Harness, pki: TestPKI, cause: str) -> None:
    leaf = pki.leaf()
    d = desired(leaf, [pki.intermediate], bindings=[HTTPS])
    await h.apply([d])
    saves = appliance(h.sim)["saves"]
    if cause == "deleted":
        res = await h.apply([])
    else:
        res = await h.apply([d], now=dt.datetime.now(dt.UTC) + dt.timedelta(days=365))
    assert [c.state for c in res.certificates] == [CertState.REMOVED]
    assert certkeys(h.sim) == {} and files(h.sim) == set() and bindings(h.sim) == set()
    assert h.records.certificates == ()
    assert appliance(h.sim)["saves"] == saves + 1


async def test_foreign_objects_survive(h: Harness, pki: TestPKI) -> None:
    leaf = pki.leaf()
    d = desired(leaf, [pki.intermediate], bindings=[HTTPS])
    stranger = pki.leaf("www.example.com")
    async with h.client() as c:
        # Someone else's certkey with our look-alike name pattern, their own copy of our CA, a file.
        await c.upload_file("theirs.crt", stranger.cert_pem)
        await c.upload_file("theirs.key", stranger.key_pem)
        await c.add_certkey(d.name + "-x", "theirs.crt", "theirs.key")
        await c.upload_file("r11.crt", pki.intermediate.cert_pem)
        await c.add_certkey("LE-R11", "r11.crt")
        await c.bind_certkey("vs_two", d.name + "-x")
    await h.apply([d])
    await h.apply([])  # and removal leaves them alone too
    assert set(certkeys(h.sim)) == {d.name + "-x", "LE-R11"}
    assert files(h.sim) == {"theirs.crt", "theirs.key", "r11.crt"}
    assert bindings(h.sim) == {("vs_two", d.name + "-x", False)}


async def test_identical_ca_already_present_is_reused(h: Harness, pki: TestPKI) -> None:
    async with h.client() as c:
        await c.upload_file("r11.crt", pki.intermediate.cert_pem)
        await c.add_certkey("LE-R11", "r11.crt")
    d = desired(pki.leaf(), [pki.intermediate])
    res = await h.apply([d])
    assert res.certificates[0].state == CertState.SYNCED
    assert appliance(h.sim)["links"] == {d.name: "LE-R11"}
    assert orphans(h.sim) == set()


async def test_name_collision_is_reported_never_overwritten(h: Harness, pki: TestPKI) -> None:
    d = desired(pki.leaf(), bindings=[HTTPS])
    stranger = pki.leaf("other.example.com")
    async with h.client() as c:
        await c.upload_file("theirs.crt", stranger.cert_pem)
        await c.upload_file("theirs.key", stranger.key_pem)
        await c.add_certkey(d.name, "theirs.crt", "theirs.key")
    other = desired(pki.leaf(), secret="other", bindings=[BindingSpec("vs_two")])
    res = await h.apply([d, other])
    by_id = {c.id: c for c in res.certificates}
    assert by_id[d.id].reason == reasons.NameCollision
    assert by_id[other.id].state == CertState.SYNCED
    assert certkeys(h.sim)[d.name]["serial"] == stranger.serial_hex
    assert ("vs_https", d.name, False) not in bindings(h.sim)


async def test_name_too_long_is_reported_and_does_not_block_others(h: Harness, pki: TestPKI) -> None:
    bad = DesiredCertificate(
        "shop/long",
        "",
        None,
        (HTTPS,),
        NamingError(reasons.NameTooLong, "name 'x' is longer than 31 characters"),
    )
    good = desired(pki.leaf(), bindings=[BindingSpec("vs_two")])
    res = await h.apply([bad, good])
    assert [(c.state, c.reason) for c in res.certificates] == [
        (CertState.FAILED, reasons.NameTooLong),
        (CertState.SYNCED, reasons.Synced),
    ]


async def test_unknown_vserver_and_appliance_refusal_fail_only_their_certificate(
    h: Harness, pki: TestPKI
) -> None:
    missing = desired(pki.leaf(), secret="missing", bindings=[BindingSpec("vs_nowhere")])
    not_ssl = desired(pki.leaf(), secret="plain", bindings=[BindingSpec("vs_http")])
    # Material the appliance refuses with 1538 (key does not match): possible only by going
    # around parse_material, which would have caught it; the appliance must be handled anyway.
    a, b = pki.leaf(), pki.leaf()
    good = desired(a, secret="mismatch")
    mismatched = DesiredCertificate(
        good.id,
        good.name,
        good.material.__class__(
            leaf=good.material.leaf, chain=(), root=None, key_pem=b.key_pem.decode(), key_type="EC"
        ),
        (),
    )
    fine = desired(pki.leaf(), secret="fine", bindings=[HTTPS])
    res = await h.apply([missing, not_ssl, mismatched, fine])
    by_id = {c.id: (c.state, c.reason) for c in res.certificates}
    assert by_id[missing.id] == (CertState.FAILED, reasons.VServerNotFound)
    assert by_id[not_ssl.id] == (CertState.FAILED, reasons.VServerNotFound)
    assert by_id[mismatched.id] == (CertState.FAILED, reasons.KeyMismatch)
    assert by_id[fine.id] == (CertState.SYNCED, reasons.Synced)
    assert set(certkeys(h.sim)) == {fine.name}
    # The message names the vservers there are, so a typo shows (issue 17).
    assert next(c for c in res.certificates if c.id == missing.id).message == (
        "no SSL virtual server named vs_nowhere; the SSL vservers there are vs_https, vs_sni, vs_two"
    )
    # The failed one left its uploaded files; the next apply (still failing) does not pile up more.
    await h.apply([missing, not_ssl, mismatched, fine])
    assert len(files(h.sim)) <= 4


async def test_dry_run_writes_nothing_and_lists_the_plan(h: Harness, pki: TestPKI) -> None:
    d = desired(pki.leaf(), [pki.intermediate], bindings=[HTTPS])
    res = await h.apply([d], dry_run=True)
    assert h.writes() == [] and certkeys(h.sim) == {}
    assert res.certificates[0].state == CertState.PLANNED
    assert any(line.startswith("bind certkey") for line in res.operations)
    assert h.records.certificates == ()
    # It says what it would do: "created" where nothing was created misled (issue 17).
    name = d.name
    assert res.certificates[0].message == (
        f"dry run: would create certkey {name} (serial {d.material.leaf.serial}); nothing was written"
    )
    await h.apply([d])
    renewed = desired(pki.leaf(), [pki.intermediate], bindings=[HTTPS])
    again = await h.apply([renewed], dry_run=True)
    assert again.certificates[0].message.startswith(f"dry run: would renew certkey {name} (serial")
    same = await h.apply([d], dry_run=True)  # what is deployed: nothing planned, nothing "would"
    assert same.certificates[0].state == CertState.SYNCED and "would" not in same.certificates[0].message


async def test_bad_credentials_abort_with_a_reason(sim: Simulator, pki: TestPKI) -> None:
    from netscaler_certsync.engine import (
        Appliances,
        Records,
        SyncAborted,
        SyncOptions,
        appliance_key,
        sync_appliance,
    )

    async with NitroClient(sim.url, Credentials("nsroot", "wrong"), tls=TLSConfig(ca_pem=sim.ca_pem)) as c:
        with pytest.raises(SyncAborted) as err:
            await sync_appliance(
                c,
                [desired(pki.leaf())],
                Records(),
                SyncOptions(owner="x"),
                appliances=Appliances(),
                appliance=appliance_key(sim.url),
            )
    assert err.value.reason == reasons.AuthenticationFailed


async def test_no_op_reads_do_not_grow_with_the_number_of_certificates(h: Harness, pki: TestPKI) -> None:
    reads = []
    certs = [desired(pki.leaf(f"h{i}.example.com"), secret=f"s{i}") for i in range(40)]
    for n in (1, 40):
        await h.apply(certs[:n])
        h.sim.clear_requests()
        res = await h.apply(certs[:n])
        assert h.writes() == [] and res.writes == 0
        reads.append(len([r for r in h.sim.requests if r.method == "GET"]))
    assert reads == [2, 2]


async def test_applies_to_one_appliance_take_turns_and_share_one_save(sim: Simulator, pki: TestPKI) -> None:
    import asyncio

    one = Harness(sim)
    two = Harness(sim, appliances=one.appliances)  # two syncs of one operator
    two.options = SyncOptions(owner="other/sync")
    a = [desired(pki.leaf(f"a{i}.example.com"), secret=f"a{i}") for i in range(5)]
    b = [desired(pki.leaf(f"b{i}.example.com"), secret=f"b{i}") for i in range(5)]
    first, second = await asyncio.gather(one.apply(a), two.apply(b))
    assert len(certkeys(sim)) == 10
    # Each client logs in on its first request, which it makes only once it holds the appliance's
    # lock: every write before the second login is the first apply's, every one after it the
    # second's. The second apply queued while the first wrote, so one save serves both.
    log = [(r.resource, r.is_write) for r in sim.requests]
    logins = [i for i, (resource, _) in enumerate(log) if resource == "login"]
    saves = [i for i, (resource, write) in enumerate(log) if resource == "nsconfig" and write]
    assert len(logins) == 2 and len(saves) == 1 and saves[0] > logins[1]
    writes_of_first = sum(w for res, w in log[logins[0] : logins[1]] if res != "nsconfig")
    writes_of_second = sum(w for res, w in log[logins[1] :] if res not in ("nsconfig", "logout"))
    assert writes_of_first == writes_of_second > 0
    assert first.saved and second.saved
    assert appliance(sim)["configchanged"] is False


async def test_same_leaf_installed_by_someone_else_is_reported(h: Harness, pki: TestPKI) -> None:
    leaf = pki.leaf()
    async with h.client() as c:
        await c.upload_file("theirs.crt", leaf.cert_pem)
        await c.upload_file("theirs.key", leaf.key_pem)
        await c.add_certkey("their-copy", "theirs.crt", "theirs.key")
    d = desired(leaf, bindings=[HTTPS])
    res = await h.apply([d])
    [cert] = res.certificates
    assert cert.state == CertState.FAILED and cert.reason == reasons.DuplicateCertificate
    assert "their-copy" in cert.message
    assert set(certkeys(h.sim)) == {"their-copy"}


async def test_ca_found_only_at_apply_time_is_reused_under_its_name(h: Harness, pki: TestPKI) -> None:
    from netscaler_certsync.engine import ApplianceState, Records, SyncOptions, plan
    from netscaler_certsync.engine.runner import apply_plan
    from netscaler_certsync.engine.state import Counter

    d = desired(pki.leaf(), [pki.intermediate])
    stale = plan([d], ApplianceState.of([]), Records(), SyncOptions(owner="shop/web-certs"))
    async with h.client() as c:  # someone installs the same CA between our read and our write
        await c.upload_file("r11.crt", pki.intermediate.cert_pem)
        await c.add_certkey("LE-R11", "r11.crt")
        outcome = await apply_plan(c, stale, Counter(), "/nsconfig/ssl")
    assert outcome.failed == {}
    assert appliance(h.sim)["links"] == {d.name: "LE-R11"}
    assert orphans(h.sim) == set()


async def test_a_bind_refused_as_not_ssl_fails_with_vservernotssl(h: Harness, pki: TestPKI) -> None:
    """The plan's vserver listing cannot tell an SSL vserver from another of that name created
    since: the appliance's refusal of the bind is what the user reads."""
    from netscaler_certsync.engine import ApplianceState, Records, SyncOptions, plan
    from netscaler_certsync.engine.runner import apply_plan
    from netscaler_certsync.engine.state import Counter

    d = desired(pki.leaf(), bindings=[BindingSpec("vs_http")])
    stale = ApplianceState.of([], vservers=["vs_http"], files=[])  # as if vs_http were an SSL vserver
    p = plan([d], stale, Records(), SyncOptions(owner="shop/web-certs"))
    async with h.client() as c:
        outcome = await apply_plan(c, p, Counter(), "/nsconfig/ssl")
    [(reason, message)] = outcome.failed.values()
    assert (reason, message) == (reasons.VServerNotSSL, "vserver vs_http is not an SSL vserver")


async def test_half_done_bindings_are_recorded_so_removal_undoes_them(h: Harness, pki: TestPKI) -> None:
    from netscaler_certsync.simulator import FaultRule

    d = desired(pki.leaf(), bindings=[HTTPS, BindingSpec("vs_two")])
    h.sim.faults.add(
        FaultRule(
            kind="error",
            resource="sslvserver_sslcertkey_binding",
            method="PUT",
            after=1,
            times=1,
            status=599,
            errorcode=1097,
            message="Invalid argument value",
        )
    )
    res = await h.apply([d])
    assert res.certificates[0].state == CertState.FAILED
    assert len(bindings(h.sim)) == 1
    assert [r.bindings for r in h.records.certificates] == [(HTTPS,)]
    await h.apply([])
    assert certkeys(h.sim) == {} and bindings(h.sim) == set() and files(h.sim) == set()


async def test_lost_records_adopt_the_deployment_without_writes(sim: Simulator, pki: TestPKI) -> None:
    d = desired(pki.leaf(), [pki.intermediate], bindings=[HTTPS])
    await Harness(sim).apply([d])
    sim.clear_requests()
    fresh = Harness(sim)  # e.g. the CR's status was lost: no records
    res = await fresh.apply([d])
    assert fresh.writes() == [] and res.certificates[0].reason == reasons.Unchanged
    assert fresh.records.certificates[0].certkey == d.name
    assert fresh.records.certificates[0].bindings == (HTTPS,)


async def test_content_switching_vserver_binding(pki: TestPKI) -> None:
    from netscaler_certsync.simulator import SimulatorConfig, run_simulator

    async with run_simulator(SimulatorConfig(ssl_vservers=("cs_front:cs",), log_requests=False)) as sim:
        h = Harness(sim)
        d = desired(pki.leaf(), bindings=[BindingSpec("cs_front")])
        res = await h.apply([d])
        assert res.certificates[0].state == CertState.SYNCED
        assert bindings(sim) == {("cs_front", d.name, False)}
        assert sim.check_invariants() == []


async def test_two_syncs_of_one_secret_share_the_certkey(sim: Simulator, pki: TestPKI) -> None:
    """Anchor complaint: several syncs of one certificate to one ADC (different vservers) failed
    with "Resource already exists". NetScaler holds one certkey per certificate, so they share it."""
    a, b = Harness(sim), Harness(sim)
    a.options = SyncOptions(owner="shop/site-a")
    b.options = SyncOptions(owner="shop/site-b")
    leaf = pki.leaf()
    res_a = await a.apply([desired(leaf, [pki.intermediate], bindings=[HTTPS])])
    res_b = await b.apply([desired(leaf, [pki.intermediate], bindings=[BindingSpec("vs_two")])])
    assert res_a.certificates[0].state == res_b.certificates[0].state == CertState.SYNCED
    name = res_a.certificates[0].certkey
    assert res_b.certificates[0].certkey == name and len(certkeys(sim)) == 2  # leaf + CA
    assert bindings(sim) == {("vs_https", name, False), ("vs_two", name, False)}
    # A renews first: B waits (reported), then shares the renewed certkey again.
    renewed = pki.leaf()
    await a.apply([desired(renewed, [pki.intermediate], bindings=[HTTPS])])
    waiting = await b.apply([desired(renewed, [pki.intermediate], bindings=[BindingSpec("vs_two")])])
    assert waiting.certificates[0].state == CertState.SYNCED
    # A lets go while B still uses it: kept. B lets go: A's next apply removes it.
    gone_a = await a.apply([])
    assert gone_a.certificates[0].state == CertState.KEPT and name in certkeys(sim)
    await b.apply([])
    assert bindings(sim) == set() and name in certkeys(sim)
    await a.apply([])
    assert certkeys(sim) == {} and orphans(sim) == set()
    assert sim.check_invariants() == []


async def test_many_new_certificates_are_added_and_bound_in_bulk(h: Harness, pki: TestPKI) -> None:
    certs = [
        desired(pki.leaf(f"n{i}.example.com"), secret=f"n{i}", bindings=[BindingSpec("vs_sni", sni=True)])
        for i in range(5)
    ]
    res = await h.apply(certs)
    assert all(c.state == CertState.SYNCED for c in res.certificates)
    writes = [(r.resource, r.action) for r in h.writes()]
    assert writes.count(("systemfile", None)) == 10
    assert writes.count(("sslcertkey", None)) == 1  # one bulk add of five certkeys
    assert writes.count(("sslvserver_sslcertkey_binding", None)) == 1  # one bulk bind
    assert len(bindings(h.sim)) == 5 and len(writes) == 13


async def test_result_counts_match_the_appliance_log(h: Harness, pki: TestPKI) -> None:
    d = desired(pki.leaf(), [pki.intermediate], bindings=[HTTPS])
    res = await h.apply([d])
    logged = [r for r in h.sim.requests if r.resource not in ("login", "logout")]
    assert res.reads == sum(r.method == "GET" for r in logged)
    assert res.writes == sum(r.is_write for r in logged) == 8  # CA: 2, leaf: 2 + add + link + bind, save


async def test_renewal_with_the_same_key_uploads_only_the_certificate(h: Harness, pki: TestPKI) -> None:
    old = pki.leaf()
    await h.apply([desired(old, bindings=[HTTPS])])
    h.sim.clear_requests()
    new = pki.leaf(key=old.key)
    res = await h.apply([desired(new, bindings=[HTTPS])])
    assert res.certificates[0].reason == reasons.Renewed
    writes = [(r.method, r.resource, r.action) for r in h.writes()]
    assert writes == [
        ("POST", "systemfile", None),
        ("POST", "sslcertkey", "update"),
        ("DELETE", "systemfile", None),
        ("POST", "nsconfig", "save"),
    ]
    assert orphans(h.sim) == set() and len(files(h.sim)) == 2


async def test_admin_partition_is_its_own_appliance(pki: TestPKI) -> None:
    from netscaler_certsync.engine import Appliances, Records, SyncOptions, sync_appliance
    from netscaler_certsync.simulator import SimulatorConfig, run_simulator

    config = SimulatorConfig(ssl_vservers=("vs_https",), partitions=("p1",), log_requests=False)
    async with run_simulator(config) as sim:
        d = desired(pki.leaf())
        async with NitroClient(
            sim.url, Credentials("nsroot", "nsroot"), tls=TLSConfig(ca_pem=sim.ca_pem), partition="p1"
        ) as c:
            res = await sync_appliance(
                c, [d], Records(), SyncOptions(owner="shop/p1"), appliances=Appliances()
            )
        assert res.certificates[0].state == CertState.SYNCED
        dump = appliance(sim)
        assert d.name in dump["partitions"]["p1"]["certkeys"]
        assert d.name not in dump["certkeys"]
        assert sim.check_invariants() == []
