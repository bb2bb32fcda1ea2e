"""Simulator start time and request rate on loopback, and whether per-request cost stays flat
as the appliance fills up with certificates (no O(n) scans per request).

Targets (simulator task): start < 1 s, >= 1,000 simple requests/s on this machine.
"""

from __future__ import annotations

import asyncio
import base64
import ssl
import statistics
import subprocess
import sys
import time
from typing import Any

import aiohttp
import httpx

from bench.report import table
from certsync_devkit.pki import TestPKI
from netscaler_certsync.simulator import SimulatorConfig, run_simulator

LOGIN = {"login": {"username": "nsroot", "password": "nsroot"}}


async def _start_times(n: int) -> list[float]:
    times = []
    for _ in range(n):
        started = time.perf_counter()
        async with run_simulator(SimulatorConfig()):
            times.append(time.perf_counter() - started)
    return times


def _cli_start() -> float:
    """Process start to the parseable `admin:` line (includes interpreter and imports)."""
    started = time.perf_counter()
    command = [sys.executable, "-m", "netscaler_certsync", "simulator", "--quiet"]
    process = subprocess.Popen(command, stdout=subprocess.PIPE, text=True)
    try:
        assert process.stdout is not None
        while not process.stdout.readline().startswith("admin:"):
            pass
        return time.perf_counter() - started
    finally:
        process.terminate()
        process.wait(timeout=10)


async def _rate_httpx(url: str, context: ssl.SSLContext, total: int, concurrency: int) -> float:
    limits = httpx.Limits(max_connections=concurrency, max_keepalive_connections=concurrency)
    async with httpx.AsyncClient(base_url=url, verify=context, limits=limits) as http:
        token = (await http.post("/nitro/v1/config/login", json=LOGIN)).json()["sessionid"]
        headers = {"Cookie": f"NITRO_AUTH_TOKEN={token}"}

        async def worker(count: int) -> None:
            for _ in range(count):
                response = await http.get("/nitro/v1/config/nsversion", headers=headers)
                assert response.status_code == 200

        started = time.perf_counter()
        await asyncio.gather(*(worker(total // concurrency) for _ in range(concurrency)))
        return total / (time.perf_counter() - started)


async def _rate_aiohttp(url: str, context: ssl.SSLContext, total: int, concurrency: int) -> float:
    connector = aiohttp.TCPConnector(ssl=context, limit=concurrency)
    async with aiohttp.ClientSession(url, connector=connector) as http:
        async with http.post("/nitro/v1/config/login", json=LOGIN) as response:
            token = (await response.json())["sessionid"]
        headers = {"Cookie": f"NITRO_AUTH_TOKEN={token}"}

        async def worker(count: int) -> None:
            for _ in range(count):
                async with http.get("/nitro/v1/config/nsversion", headers=headers) as response:
                    assert response.status == 200
                    await response.read()

        started = time.perf_counter()
        await asyncio.gather(*(worker(total // concurrency) for _ in range(concurrency)))
        return total / (time.perf_counter() - started)


async def _fill(url: str, context: ssl.SSLContext, n: int, sim: Any) -> dict[str, float]:
    """Upload, add and SNI-bind n certificates; compare server-side cost of early and late requests."""
    pki = TestPKI.create("Bench")
    leaves = [pki.leaf(f"host{i}.example.com") for i in range(n)]
    limits = httpx.Limits(max_connections=8)
    async with httpx.AsyncClient(base_url=url, verify=context, limits=limits) as http:
        token = (await http.post("/nitro/v1/config/login", json=LOGIN)).json()["sessionid"]
        headers = {"Cookie": f"NITRO_AUTH_TOKEN={token}"}

        async def post(path: str, body: dict[str, Any], method: str = "POST") -> None:
            response = await http.request(method, f"/nitro/v1/config/{path}", json=body, headers=headers)
            assert response.status_code in (200, 201), response.text

        async def one(i: int) -> None:
            leaf = leaves[i]
            for name, data in ((f"c{i}.crt", leaf.cert_pem), (f"c{i}.key", leaf.key_pem)):
                content = base64.b64encode(data).decode()
                item = {"filename": name, "filelocation": "/nsconfig/ssl", "filecontent": content}
                await post("systemfile", {"systemfile": item})
            await post(
                "sslcertkey", {"sslcertkey": {"certkey": f"c{i}", "cert": f"c{i}.crt", "key": f"c{i}.key"}}
            )
            binding = {"vservername": "vs_sni", "certkeyname": f"c{i}", "snicert": True}
            await post("sslvserver_sslcertkey_binding", {"sslvserver_sslcertkey_binding": binding}, "PUT")

        sim.clear_requests()
        started = time.perf_counter()
        for chunk in range(0, n, 8):
            await asyncio.gather(*(one(i) for i in range(chunk, min(n, chunk + 8))))
        elapsed = time.perf_counter() - started
        writes = len(sim.requests)
        listed = time.perf_counter()
        response = await http.get("/nitro/v1/config/sslcertkey", headers=headers)
        assert len(response.json()["sslcertkey"]) == n + 1
        list_time = time.perf_counter() - listed
    binds = [r.duration for r in sim.requests if r.resource == "sslvserver_sslcertkey_binding"]
    adds = [r.duration for r in sim.requests if r.resource == "sslcertkey" and r.method == "POST"]
    tenth = max(1, n // 10)
    return {
        "writes": writes,
        "rate": writes / elapsed,
        "add_first": statistics.median(adds[:tenth]) * 1000,
        "add_last": statistics.median(adds[-tenth:]) * 1000,
        "bind_first": statistics.median(binds[:tenth]) * 1000,
        "bind_last": statistics.median(binds[-tenth:]) * 1000,
        "list_ms": list_time * 1000,
    }


async def run(quick: bool = False) -> tuple[str, str]:
    starts = await _start_times(3 if quick else 5)
    cli = _cli_start()
    total = 1000 if quick else 4000
    n_certs = 100 if quick else 1000
    config = SimulatorConfig(
        ssl_vservers=("vs_https", "vs_sni"), sni_vservers=("vs_sni",), log_requests=False
    )
    async with run_simulator(config) as sim:
        context = ssl.create_default_context(cafile=str(sim.ca_file))
        rates = {
            "httpx, 1 connection": await _rate_httpx(sim.url, context, total // 2, 1),
            "httpx, 8 connections": await _rate_httpx(sim.url, context, total, 8),
            "aiohttp, 8 connections": await _rate_aiohttp(sim.url, context, total, 8),
        }
        handler_ms = statistics.median(r.duration for r in sim.requests if r.resource == "nsversion") * 1000
        fill = await _fill(sim.url, context, n_certs, sim)
        assert sim.check_invariants() == []
    rows: list[list[object]] = [
        ["start, in-process HTTPS (median of runs)", f"{statistics.median(starts) * 1000:.0f} ms", "< 1 s"],
        ["start, CLI process to `admin:` line", f"{cli * 1000:.0f} ms", "< 1 s"],
    ]
    rows += [[f"GET nsversion, {k}", f"{v:,.0f} req/s", ">= 1,000 req/s"] for k, v in rates.items()]
    rows.append(["server time in the NITRO handler per GET (median)", f"{handler_ms:.2f} ms", ""])
    fill_rate = f"{fill['rate']:,.0f} req/s ({fill['writes']:.0f} requests)"
    add_times = f"{fill['add_first']:.2f} / {fill['add_last']:.2f} ms"
    bind_times = f"{fill['bind_first']:.2f} / {fill['bind_last']:.2f} ms"
    rows += [
        [f"fill {n_certs} certs (upload x2, add, SNI bind), httpx x8", fill_rate, ""],
        ["server time per certkey add, first vs last 10 %", add_times, "flat"],
        ["server time per SNI bind, first vs last 10 %", bind_times, "flat"],
        [f"GET sslcertkey listing {n_certs + 1} certkeys", f"{fill['list_ms']:.0f} ms", ""],
    ]
    body = table(["measure", "result", "target / note"], rows)
    body += (
        "\n\nLoopback HTTPS, client and server on the same 2 shared cores, so the client's own cost is "
        "in every rate: the httpx rows are bound by the client (the aiohttp client on the same server "
        "is several times faster). Server times come from the simulator's request log "
        "(`RequestRecord.duration`: parsing, auth, handler; not TLS or HTTP framing)."
    )
    return "NITRO simulator: start time and request rate", body
