"""Two nodes of an HA pair sharing one appliance state: writes on the primary show on the
secondary, sessions stay per node, and a failover swaps the roles."""

from __future__ import annotations

import httpx

from certsync_devkit.pki import TestPKI
from netscaler_certsync.simulator import Quirks, SimulatorConfig, run_ha_pair
from tests.simulator.helpers import Nitro, assert_done, assert_error


async def test_pair_shares_state_not_sessions(pki: TestPKI) -> None:
    config = SimulatorConfig(https=False, quirks=Quirks(secondary_writes="reject"))
    async with (
        run_ha_pair(config) as (primary, secondary),
        httpx.AsyncClient(base_url=primary.url) as http_p,
        httpx.AsyncClient(base_url=secondary.url) as http_s,
    ):
        node_p, node_s = Nitro(http_p), Nitro(http_s)
        await node_p.login()
        await node_s.login()
        assert [n["state"] for n in (await node_p.get("hanode")).json()["hanode"]] == ["Primary", "Secondary"]
        await node_p.install("www", pki.leaf())
        assert_done(await node_s.get("sslcertkey/www"))  # synced to the secondary
        assert_error(await node_s.upload("x", b"x"), 599, 1028)
        assert_error(await node_s.get("nsversion", headers=node_p.headers), 401, 1027)  # sessions per node

        primary.failover()
        assert (primary.ha_state, secondary.ha_state) == ("secondary", "primary")
        assert_done(await node_s.upload("x", b"x"), 201)
        assert_error(await node_p.upload("y", b"y"), 599, 1028)
        assert [r.resource for r in secondary.requests if r.is_write] == ["systemfile", "systemfile"]

        secondary.reset()
        assert "www" not in primary.state.dump()["certkeys"]  # one appliance state for both
        assert primary.check_invariants() == [] and secondary.check_invariants() == []
