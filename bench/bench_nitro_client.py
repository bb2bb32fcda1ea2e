"""The NITRO client's own CPU per request: httpx's default transport against the lean one.

The operator is CPU-bound in a burst (docs/benchmarks.md, "where 1,000 new CertificateSyncs spend
their time"), and NITRO requests are its largest share. Measured here: the CPU time of the
client's thread (`time.thread_time`) over N sequential certkey reads and N certkey counts
against the simulator over HTTPS in another thread, so the simulator's own
CPU is not counted. Same client, same session, only the transport differs.

Usage: python -m bench nitro_client   (or: python -m bench.bench_nitro_client, to print only)
"""

from __future__ import annotations

import asyncio
import os
import statistics
import time

import httpx

from bench.report import table
from netscaler_certsync.nitro import Credentials, NitroClient, TLSConfig
from netscaler_certsync.nitro.tls import ssl_context
from netscaler_certsync.simulator import SimulatorConfig, SimulatorThread

ROUNDS = 3


async def _measure(sim: SimulatorThread, requests: int, lean: bool) -> tuple[float, float]:
    tls = TLSConfig(ca_pem=sim.ca_pem)
    transport = None if lean else httpx.AsyncHTTPTransport(verify=ssl_context(sim.url, tls))
    async with NitroClient(sim.url, Credentials("nsroot", "nsroot"), tls=tls, transport=transport) as client:
        await client.get_certkey("absent")  # logged in, connection open
        cpu = time.thread_time()
        for _ in range(requests):
            await client.get_certkey("absent")
        read = (time.thread_time() - cpu) / requests
        cpu = time.thread_time()
        for _ in range(requests):
            await client.count_certkeys()
        count = (time.thread_time() - cpu) / requests
    return read, count


def run(quick: bool) -> tuple[str, str, str]:
    requests = 200 if quick else 2000
    sim = SimulatorThread(SimulatorConfig(log_requests=False)).start()
    try:
        results = {
            lean: [asyncio.run(_measure(sim, requests, lean)) for _ in range(ROUNDS)]
            for lean in (False, True)
        }
    finally:
        sim.stop()
    rows = []
    for lean, label in ((False, "httpx default (httpcore, anyio, h11)"), (True, "lean (http_transport.py)")):
        reads = statistics.median(r[0] for r in results[lean]) * 1000
        counts = statistics.median(r[1] for r in results[lean]) * 1000
        rows.append([label, f"{reads:.3f}", f"{counts:.3f}"])
    load = os.getloadavg()[1]
    body = "\n".join(
        [
            f"{requests:,} requests of each kind, sequential, one session over HTTPS to the simulator",
            f"in another thread; the client's thread CPU per request, median of {ROUNDS} rounds.",
            f"5-min load {load:.1f}.",
            "",
            table(["transport", "certkey read, CPU ms/request", "certkey count, CPU ms/request"], rows),
        ]
    )
    lean_ms = statistics.median(r[0] for r in results[True]) * 1000
    base_ms = statistics.median(r[0] for r in results[False]) * 1000
    headline = f"NITRO client CPU per read {base_ms:.3f} ms (httpx default) -> {lean_ms:.3f} ms (lean)"
    return "NITRO client: CPU per request by transport", body, headline


if __name__ == "__main__":
    print(run(quick=bool(os.environ.get("BENCH_QUICK")))[1])
