"""Seeded random requests (wrong types, missing fields, odd verbs and queries): every answer is
NITRO-shaped and the simulator never hits a bug of its own (no internal error, invariants hold)."""

from __future__ import annotations

import random

import httpx

from netscaler_certsync.simulator import SimulatorConfig, run_simulator

FIELDS = {
    "sslcertkey": ["certkey", "cert", "key", "inform", "passplain", "password", "expirymonitor",
                   "notificationperiod", "linkcertkeyname", "nodomaincheck", "deletecertkeyfilesonremoval"],
    "systemfile": ["filename", "filelocation", "filecontent", "fileencoding"],
    "sslvserver_sslcertkey_binding": ["vservername", "certkeyname", "snicert", "ca", "crlcheck", "ocspcheck"],
    "sslvserver": ["vservername", "snienable"],
    "nsconfig": ["all"],
    "nspartition": ["partitionname"],
}  # fmt: skip
VALUES = [None, True, 0, 12, -1, "", "x", "ns-server-certificate", "vs_https", "/nsconfig/ssl", "QQ==",
          [], {}, [1], {"a": 1}, 1.5, "ALWAYS"]  # fmt: skip
VERBS = [("POST", ""), ("PUT", ""), ("POST", "update"), ("POST", "link"), ("POST", "unlink"),
         ("POST", "save"), ("POST", "Switch"), ("POST", "rm"), ("DELETE", ""), ("GET", "")]  # fmt: skip
EXTRAS = ["", "count=yes", "pagesize=x", "attrs=a,b", "filter=certkey:/(/", "filter=x", "override=yes",
          "idempotent=yes", "warning=yes", "bulkbindings=yes", "onerror=continue",
          "onerror=rollback"]  # fmt: skip


async def test_random_requests_never_break_the_simulator() -> None:
    rnd = random.Random(20261127)
    headers = {"X-NITRO-USER": "nsroot", "X-NITRO-PASS": "nsroot"}
    async with run_simulator(SimulatorConfig(https=False, partitions=("p1",))) as sim:
        async with httpx.AsyncClient(base_url=sim.url, headers=headers) as http:
            for _ in range(250):
                resource = rnd.choice(list(FIELDS))
                fields = FIELDS[resource]
                item = {f: rnd.choice(VALUES) for f in rnd.sample(fields, rnd.randint(0, len(fields)))}
                method, action = rnd.choice(VERBS)
                query = "&".join(q for q in (f"action={action}" if action else "", rnd.choice(EXTRAS)) if q)
                name = rnd.choice(["", "/x", "/vs_https", "/ns-server-certificate", "/%25", "/a%2Fb"])
                url = f"/nitro/v1/config/{resource}{name}?{query}"
                body = {resource: rnd.choice([item, [item, item]])}
                if method in ("GET", "DELETE"):
                    response = await http.request(method, url)
                else:
                    response = await http.request(method, url, json=body)
                assert response.status_code in (200, 201, 207, 209, 400, 401, 403, 404, 405, 409, 415, 599)
                if response.content:
                    assert isinstance(response.json()["errorcode"], int)
        assert sim.app.internal_errors == []
        assert sim.check_invariants() == []
