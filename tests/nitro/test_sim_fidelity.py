"""The client against the remaining answers of real appliances (issue 16 #10, #11, #13): the
documented single-file read, bulk replies that list only the failed item, a certkey's key type."""

from __future__ import annotations

import httpx

from certsync_devkit.pki import TestPKI
from netscaler_certsync.nitro import Credentials, NitroClient, TLSConfig
from netscaler_certsync.nitro.operations.bulk import bulk_results
from netscaler_certsync.nitro.wire import Reply
from netscaler_certsync.simulator import Quirks, SimulatorConfig, run_simulator


async def test_one_file_is_read_in_the_documented_form_on_builds_without_the_name_form() -> None:
    # 12.1/13 reference pages list GET (ALL) only; `GET systemfile/<name>` is refused there.
    config = SimulatorConfig(quirks=Quirks(systemfile_get_by_name=False), log_requests=False)
    async with run_simulator(config) as sim:
        async with NitroClient(
            sim.url, Credentials("nsroot", "nsroot"), tls=TLSConfig(ca_pem=sim.ca_pem)
        ) as c:
            await c.upload_file("one.pem", b"first file\n")
            await c.upload_file("two.pem", b"second file\n")
            found = await c.get_file("two.pem")
            assert found is not None and found.content == b"second file\n"
            assert await c.get_file("missing.pem") is None
        assert [r.status for r in sim.requests if r.method == "GET"] == [200, 404]


def test_a_bulk_reply_listing_only_the_failed_item_blames_no_item_in_particular() -> None:
    # X-NITRO-ONERROR: exit lists only the failed operation: which of the three it was is unknown.
    body = {
        "errorcode": 1243,
        "message": "Bulk operation failed",
        "severity": "ERROR",
        "response": [{"errorcode": 1642, "message": "Cannot create output file", "severity": "ERROR"}],
    }
    results = bulk_results(Reply(207, body, httpx.Headers()), 3)
    assert [r.errorcode for r in results] == [-1, -1, -1]
    assert not any(r.ok for r in results)
    assert "Cannot create output file" in results[0].message


async def test_the_key_type_of_each_certkey_is_read(pki: TestPKI) -> None:
    async with (
        run_simulator(SimulatorConfig(log_requests=False)) as sim,
        NitroClient(sim.url, Credentials("nsroot", "nsroot"), tls=TLSConfig(ca_pem=sim.ca_pem)) as c,
    ):
        for name, leaf in (("ec", pki.leaf()), ("rsa", pki.leaf(key_type="rsa"))):
            await c.upload_file(f"{name}.crt", leaf.cert_pem)
            await c.upload_file(f"{name}.key", leaf.key_pem)
            await c.add_certkey(name, f"{name}.crt", f"{name}.key")
        assert {ck.name: ck.key_type for ck in await c.list_certkeys() if ck.name in ("ec", "rsa")} == {
            "ec": "EC",
            "rsa": "RSA",
        }
