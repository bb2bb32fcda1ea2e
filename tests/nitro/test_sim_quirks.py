"""The same calls against simulators that answer the other ways real builds do (nitro.md "accept both")."""

from __future__ import annotations

import pytest

from certsync_devkit.pki import TestPKI
from netscaler_certsync.nitro import CertBinding, Credentials, NitroClient, TLSConfig
from netscaler_certsync.simulator import Quirks, SimulatorConfig, run_simulator


@pytest.mark.parametrize(
    "quirks",
    [
        Quirks(),
        Quirks(add_status=200, logout_status=200),
        Quirks(empty_write_bodies=True),
        Quirks(omit_empty_arrays=False, count_as_number=False),
    ],
    ids=["defaults", "200-for-adds", "empty-write-bodies", "empty-arrays-and-string-counts"],
)
async def test_a_deploy_works_whatever_the_build_answers(quirks: Quirks, pki: TestPKI) -> None:
    leaf = pki.leaf("quirk.example.com")
    config = SimulatorConfig(quirks=quirks, log_requests=False)
    async with run_simulator(config) as sim:
        tls = TLSConfig(ca_pem=sim.ca_pem)
        async with NitroClient(sim.url, Credentials("nsroot", "nsroot"), tls=tls) as client:
            assert await client.list_bindings("vs_https") == []
            before = await client.count_certkeys()
            await client.upload_file("q.crt", leaf.cert_pem)
            await client.upload_file("q.key", leaf.key_pem)
            await client.add_certkey("q", "q.crt", "q.key")
            await client.bind_certkey("vs_https", "q")
            await client.save_config()
            assert await client.count_certkeys() == before + 1
            assert await client.list_bindings("vs_https") == [CertBinding("vs_https", "q")]
        assert sim.check_invariants() == []
        assert sim.state.dump()["certkeys"]["q"]["serial"] == leaf.serial_hex
