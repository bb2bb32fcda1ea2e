"""The sync engine against the simulator: requests per deploy and per no-op, and deploy wall time.

Request counts come from the simulator's own request log, so they are exact. Wall times are for
this machine and the in-process simulator over loopback HTTPS; the injected latency stands in
for a real appliance's per-request cost.
"""

from __future__ import annotations

import time
from collections import Counter
from dataclasses import dataclass

from bench.report import table
from certsync_devkit.pki import TestPKI, pem_bundle
from netscaler_certsync.domain import parse_material, render_certkey_name
from netscaler_certsync.engine import (
    ApplianceResult,
    BindingSpec,
    DesiredCertificate,
    Records,
    SyncOptions,
    sync_appliance,
)
from netscaler_certsync.engine.appliances import Appliances
from netscaler_certsync.nitro import Credentials, NitroClient, RetryPolicy, TLSConfig
from netscaler_certsync.simulator import FaultRule, Simulator, SimulatorConfig, run_simulator

CONFIG = SimulatorConfig(ssl_vservers=("vs_https", "vs_sni"), sni_vservers=("vs_sni",), log_requests=False)
OPTIONS = SyncOptions(owner="bench/engine")


def certificates(pki: TestPKI, n: int, *, chain: bool) -> list[DesiredCertificate]:
    out = []
    for i in range(n):
        leaf = pki.leaf(f"host{i}.example.com")
        material = parse_material(pem_bundle([leaf, pki.intermediate] if chain else [leaf]), leaf.key_pem)
        name = render_certkey_name(
            "{{commonName}}-{{certificateId}}",
            namespace="bench",
            secret_name=f"s{i}",
            common_name=leaf.common_name,
        )
        binding = BindingSpec("vs_https") if n == 1 else BindingSpec("vs_sni", sni=True)
        out.append(DesiredCertificate(f"bench/s{i}", name, material, (binding,)))
    return out


@dataclass
class Run:
    result: ApplianceResult
    seconds: float
    kinds: Counter[str]

    @property
    def reads(self) -> int:
        return sum(v for k, v in self.kinds.items() if k.startswith("GET"))

    @property
    def writes(self) -> int:
        return sum(v for k, v in self.kinds.items() if not k.startswith(("GET", "login", "logout")))


def _kind(method: str, resource: str, action: str | None) -> str:
    if resource in ("login", "logout"):
        return resource
    return f"{method} {resource}{'?action=' + action if action else ''}"


async def apply(sim: Simulator, certs: list[DesiredCertificate], previous: Records) -> Run:
    sim.clear_requests()
    client = NitroClient(
        sim.url,
        Credentials("nsroot", "nsroot"),
        tls=TLSConfig(ca_pem=sim.ca_pem),
        retry=RetryPolicy(attempts=1),
    )
    start = time.perf_counter()
    async with client:
        result = await sync_appliance(client, certs, previous, OPTIONS, appliances=Appliances())
    seconds = time.perf_counter() - start
    kinds = Counter(_kind(r.method, r.resource, r.action) for r in sim.requests)
    failed = [c for c in result.certificates if c.state != "Synced"]
    assert not failed, failed[:3]
    return Run(result, seconds, kinds)


def _kinds(kinds: Counter[str]) -> str:
    return ", ".join(f"{k} {v}" for k, v in sorted(kinds.items()) if k not in ("login", "logout"))


async def run(quick: bool) -> tuple[str, str]:
    pki = TestPKI.create("Bench")
    sizes = (1, 20, 100) if quick else (1, 100, 1000)
    latencies = (0, 5)
    rows, noop_rows, renew_rows = [], [], []
    first: Run | None = None
    for latency in latencies:
        for n in sizes:
            certs = certificates(pki, n, chain=False)
            async with run_simulator(CONFIG) as sim:
                if latency:
                    sim.faults.add(FaultRule(kind="latency", delay=latency / 1000))
                deploy = await apply(sim, certs, Records())
                again = await apply(sim, certs, deploy.result.records)
                if latency == 0:
                    renewed = certificates(pki, n, chain=False)
                    renew = await apply(sim, renewed, again.result.records)
                    renew_rows.append(
                        [
                            n,
                            f"{renew.seconds:.2f}",
                            renew.reads,
                            renew.writes,
                            f"{(renew.writes - 1) / n:.2f}",
                            _kinds(renew.kinds),
                        ]
                    )
                assert sim.check_invariants() == []
            if n == 1 and latency == 0:
                first = deploy
            rows.append(
                [
                    n,
                    latency,
                    f"{deploy.seconds:.2f}",
                    deploy.reads,
                    deploy.writes,
                    f"{(deploy.writes - 1) / n:.2f}",
                    _kinds(deploy.kinds),
                ]
            )
            noop_rows.append([n, latency, f"{again.seconds:.3f}", again.reads, again.writes])
    assert first is not None
    body = [
        "One certificate, one binding, no chain (first deploy), in order:",
        "",
        "```",
        *[f"{k}: {v}" for k, v in sorted(first.kinds.items())],
        "```",
        "",
        f"= **{first.writes - 1} writes plus one save** (budget: at most 4 plus one save).",
        "",
        "### Initial deploy (SNI bindings when more than one certificate; client concurrency 4)",
        "",
        table(
            ["certs", "latency ms", "wall s", "reads", "writes", "writes/cert (excl. save)", "requests"], rows
        ),
        "",
        "### No-op re-apply of the same set (records from the deploy)",
        "",
        table(["certs", "latency ms", "wall s", "reads", "writes"], noop_rows),
        "",
        "### Renewal of every certificate in place (`update` keeps names and bindings), no latency",
        "",
        table(["certs", "wall s", "reads", "writes", "writes/cert (excl. save)", "requests"], renew_rows),
        "",
        "Per renewed certificate: two uploads under new content-addressed names, one `update`, and two",
        "deletes of the old files once nothing uses them (make-before-break); one save for the whole apply.",
        "",
        "Reads of a no-op stay constant (one list of certkeys, one bulk list of bindings) whatever the",
        "number of certificates; the first apply of a process also lists the files once, to find leftovers.",
    ]
    return "Sync engine: requests and wall time", "\n".join(body)
