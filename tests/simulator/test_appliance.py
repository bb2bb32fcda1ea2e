"""Appliance-wide behaviour: running vs saved config, nsversion, hanode, partitions."""

from __future__ import annotations

import re

import httpx

from certsync_devkit.pki import TestPKI
from netscaler_certsync.simulator import Quirks, Simulator, SimulatorConfig, run_simulator
from tests.simulator.helpers import Nitro, assert_done, assert_error


async def test_save_flips_configchanged(nitro: Nitro, pki: TestPKI, sim: Simulator) -> None:
    assert (await nitro.get("nsconfig")).json()["nsconfig"]["configchanged"] is False
    await nitro.install("www", pki.leaf())
    assert (await nitro.get("nsconfig")).json()["nsconfig"]["configchanged"] is True
    dump = sim.state.dump()
    assert "www" in dump["running"]["certkeys"] and "www" not in dump["saved"]["certkeys"]
    assert_done(await nitro.post("nsconfig?action=save", {"nsconfig": {}}))
    config = (await nitro.get("nsconfig")).json()["nsconfig"]
    assert config["configchanged"] is False and config["lastconfigsavetime"]
    dump = sim.state.dump()
    assert dump["saved"] == dump["running"] and dump["saves"] == 1


async def test_files_alone_do_not_change_the_config(nitro: Nitro) -> None:
    await nitro.upload("a.pem", b"x")
    assert (await nitro.get("nsconfig")).json()["nsconfig"]["configchanged"] is False


async def test_nsversion_is_an_object(nitro: Nitro) -> None:
    body = assert_done(await nitro.get("nsversion"))
    assert isinstance(body["nsversion"], dict)
    assert re.match(r"NetScaler NS(\d+\.\d+): Build (\d+\.\d+)\.nc", body["nsversion"]["version"])


async def test_hanode_standalone(nitro: Nitro) -> None:
    (node,) = assert_done(await nitro.get("hanode"))["hanode"]
    assert node["id"] == "0" and node["state"] == "Primary"
    stat = (await nitro.client.get("/nitro/v1/stat/hanode", headers=nitro.headers)).json()["hanode"]
    assert stat["hacurstatus"] == "NO"


async def test_hanode_secondary_and_reject_quirk(pki: TestPKI) -> None:
    config = SimulatorConfig(https=False, ha_state="secondary", quirks=Quirks(secondary_writes="reject"))
    async with run_simulator(config) as sim, httpx.AsyncClient(base_url=sim.url) as http:
        nitro = Nitro(http)
        await nitro.login()
        nodes = (await nitro.get("hanode")).json()["hanode"]
        assert [n["state"] for n in nodes] == ["Secondary", "Primary"]
        stat = (await http.get("/nitro/v1/stat/hanode", headers=nitro.headers)).json()["hanode"]
        assert (stat["hacurstatus"], stat["hacurmasterstate"]) == ("YES", "SECONDARY")
        assert_error(await nitro.upload("a.pem", b"x"), 599, 1028, "Connected to a secondary node")


async def test_partitions_are_separate(pki: TestPKI) -> None:
    config = SimulatorConfig(https=False, partitions=("p1",))
    async with run_simulator(config) as sim, httpx.AsyncClient(base_url=sim.url) as http:
        nitro = Nitro(http)
        await nitro.login()
        listed = (await nitro.get("nspartition")).json()["nspartition"]
        assert [p["partitionname"] for p in listed] == ["p1"]
        switch = {"nspartition": {"partitionname": "p1"}}
        assert_done(await nitro.post("nspartition?action=Switch", switch))
        await nitro.install("www", pki.leaf(), location="/nsconfig/partitions/p1/ssl")
        assert_done(await nitro.post("nsconfig?action=save", {"nsconfig": {}}))
        dump = sim.state.dump()
        assert "www" not in dump["certkeys"] and "www" in dump["partitions"]["p1"]["certkeys"]
        assert dump["partitions"]["p1"]["saves"] == 1 and dump["saves"] == 0
        response = await nitro.post("nspartition?action=Switch", {"nspartition": {"partitionname": "nope"}})
        assert_error(response, 404, 258)
        other = Nitro(http)
        await other.login()  # a new session starts in the default partition
        assert_error(await other.get("sslcertkey/www"), 404, 258)


async def test_save_all_partitions(pki: TestPKI) -> None:
    async with run_simulator(SimulatorConfig(https=False, partitions=("p1",))) as sim:
        async with httpx.AsyncClient(base_url=sim.url) as http:
            nitro = Nitro(http)
            await nitro.login()
            assert_done(await nitro.post("nsconfig?action=save", {"nsconfig": {"all": True}}))
        assert sim.state.dump()["partitions"]["p1"]["saves"] == 1


async def test_vserver_lists(nitro: Nitro) -> None:
    lb = assert_done(await nitro.get("lbvserver"))["lbvserver"]
    assert {(v["name"], v["servicetype"]) for v in lb} == {
        ("vs_https", "SSL"),
        ("vs_sni", "SSL"),
        ("vs_http", "HTTP"),
    }
    cs = assert_done(await nitro.get("csvserver/vs_cs"))["csvserver"]
    assert cs[0]["servicetype"] == "SSL"


async def test_secondary_accepts_writes_with_a_warning_when_asked() -> None:
    async with run_simulator(SimulatorConfig(https=False, ha_state="secondary")) as sim:
        async with httpx.AsyncClient(base_url=sim.url) as http:
            nitro = Nitro(http)
            await nitro.login()
            assert_done(await nitro.post("nsconfig?action=save", {"nsconfig": {}}))
            response = await nitro.post("nsconfig?action=save&warning=yes", {"nsconfig": {}})
            assert response.status_code == 209 and response.json()["errorcode"] == 1028
        assert sim.state.default.saves == 2


async def test_nshardware(nitro: Nitro) -> None:
    hardware = assert_done(await nitro.get("nshardware"))["nshardware"]
    assert {"hwdescription", "sysid", "serialno", "cpufrequncy"} <= set(hardware)


async def test_an_admin_partition_has_its_own_file_tree(pki: TestPKI) -> None:
    """Issue 16 #10: in partition p1 a bare file name means /nsconfig/partitions/p1/ssl; files
    elsewhere are refused on upload (1645) and are not accessible to a certkey (1647)."""
    leaf = pki.leaf("p1.example.com")
    config = SimulatorConfig(https=False, partitions=("p1",), log_requests=False)
    async with run_simulator(config) as sim, httpx.AsyncClient(base_url=sim.url) as http:
        nitro = Nitro(http)
        await nitro.login()
        await nitro.upload("shared.crt", leaf.cert_pem)  # the default partition's /nsconfig/ssl
        assert_done(await nitro.post("nspartition?action=Switch", {"nspartition": {"partitionname": "p1"}}))
        assert_error(await nitro.upload("p1.crt", leaf.cert_pem), 599, 1645)
        assert_error(await nitro.add_certkey("www", "/nsconfig/ssl/shared.crt"), 599, 1647)
        home = "/nsconfig/partitions/p1/ssl"
        assert_done(await nitro.upload("p1.crt", leaf.cert_pem, home), 201)
        assert_done(await nitro.upload("p1.key", leaf.key_pem, home), 201)
        assert_done(
            await nitro.add_certkey("www", "p1.crt", "p1.key"), 201
        )  # bare names: the partition's dir
        assert sim.state.partitions["p1"].get_file(home, "p1.crt") is not None


async def test_builds_that_accept_uploads_anywhere_still_load_only_the_partitions_files(pki: TestPKI) -> None:
    leaf = pki.leaf("p1.example.com")
    config = SimulatorConfig(https=False, partitions=("p1",), quirks=Quirks(partition_uploads="accept"))
    async with run_simulator(config) as sim, httpx.AsyncClient(base_url=sim.url) as http:
        nitro = Nitro(http)
        await nitro.login()
        assert_done(await nitro.post("nspartition?action=Switch", {"nspartition": {"partitionname": "p1"}}))
        assert_done(await nitro.upload("p1.crt", leaf.cert_pem), 201)  # into /nsconfig/ssl
        assert_error(await nitro.add_certkey("www", "p1.crt"), 599, 1647)
        assert sim.check_invariants() == []
