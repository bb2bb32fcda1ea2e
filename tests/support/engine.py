"""The engine driven as the operator drives it, against the simulator: desired certificates, the
`Harness` that carries records (intent first, result after) and engine state between applies, and
the appliance's state read back as plain data."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Callable, Sequence
from dataclasses import replace
from typing import Any

from certsync_devkit.pki import Issued, pem_bundle
from netscaler_certsync.domain import parse_material, render_certkey_name
from netscaler_certsync.engine import (
    ApplianceResult,
    Appliances,
    BindingSpec,
    ClientAuth,
    DesiredCertificate,
    Records,
    SyncOptions,
    appliance_key,
    sync_appliance,
)
from netscaler_certsync.nitro import Credentials, NitroClient, RequestEvent, RetryPolicy, TLSConfig
from netscaler_certsync.simulator import Simulator, SimulatorConfig

SIM_CONFIG = SimulatorConfig(
    ssl_vservers=("vs_https", "vs_two", "vs_sni"),
    sni_vservers=("vs_sni",),
    non_ssl_vservers=("vs_http",),
    log_requests=False,
)
OWNER = "shop/web-certs"
ADMIN = Credentials("nsroot", "nsroot")


def desired(
    leaf: Issued,
    chain: Sequence[Issued] = (),
    *,
    secret: str = "web-tls",
    bindings: Sequence[BindingSpec] = (),
    name: str | None = None,
) -> DesiredCertificate:
    material = parse_material(pem_bundle([leaf, *chain]), leaf.key_pem, allow_expired=True)
    name = name or render_certkey_name(
        "{{commonName}}-{{certificateId}}", namespace="shop", secret_name=secret, common_name=leaf.common_name
    )
    return DesiredCertificate(f"shop/{secret}", name, material, tuple(bindings))


class Harness:
    """Runs applies against one simulator like the operator does: one engine state (`appliances`,
    a fresh "process"), and records carried from one apply to the next, the intent stored before
    the first write (as the operator stores it in the status) and the result after."""

    def __init__(
        self,
        sim: Simulator,
        *,
        appliances: Appliances | None = None,
        credentials: Credentials = ADMIN,
        **options: Any,
    ) -> None:
        self.sim = sim
        self.credentials = credentials
        self.records = Records()
        self.options = SyncOptions(**{"owner": OWNER, **options})
        self.appliances = appliances if appliances is not None else Appliances()
        self.intents: list[Records] = []
        self.hooks: list[Callable[[RequestEvent], None]] = []
        """Called after each NITRO request of the applies (e.g. to cut one off at a given point)."""

    async def store_intent(self, records: Records) -> None:
        self.intents.append(records)
        self.records = replace(records, pending=True)  # as reconcile/intent.py stores it

    def restart(self) -> None:
        """A new operator process: the engine state is gone, the stored records stay."""
        self.appliances = Appliances()

    def client(self, **kwargs: Any) -> NitroClient:
        kwargs.setdefault("tls", TLSConfig(ca_pem=self.sim.ca_pem))
        kwargs.setdefault("retry", RetryPolicy(attempts=2, base_delay=0.0))
        kwargs.setdefault("on_request", self.hooks)
        return NitroClient(self.sim.url, self.credentials, **kwargs)

    async def apply(
        self, certs: Sequence[DesiredCertificate], client_auth: Sequence[ClientAuth] = (), **overrides: Any
    ) -> ApplianceResult:
        options = SyncOptions(**{**self.options.__dict__, **overrides})
        async with self.client() as client:
            result = await sync_appliance(
                client,
                certs,
                self.records,
                options,
                appliances=self.appliances,
                appliance=appliance_key(self.sim.url),
                on_intent=self.store_intent,
                client_auth=client_auth,
            )
        if not options.dry_run:
            self.records = result.records
        return result

    def writes(self) -> list[Any]:
        return [r for r in self.sim.requests if r.is_write and r.resource not in ("login", "logout")]


def appliance(sim: Simulator) -> dict[str, Any]:
    """The simulator's state as plain data (certkeys, files, links, bindings, saved config)."""
    return sim.state.dump()


def certkeys(sim: Simulator) -> dict[str, dict[str, Any]]:
    return {n: ck for n, ck in appliance(sim)["certkeys"].items() if not ck.get("builtin")}


def files(sim: Simulator) -> set[str]:
    return {path.rsplit("/", 1)[-1] for path in appliance(sim)["files"]} - {"ns-server.cert", "ns-server.key"}


def bindings(sim: Simulator) -> set[tuple[str, str, bool]]:
    return {(b["vserver"], b["certkey"], b["snicert"]) for b in appliance(sim)["bindings"]}


def orphans(sim: Simulator) -> set[str]:
    """Files no certkey uses."""
    used = set()
    for ck in certkeys(sim).values():
        used |= {f.rsplit("/", 1)[-1] for f in (ck["cert"], ck["key"]) if f}
    return files(sim) - used


async def cut_off_after_bind(
    h: Harness, certs: list[DesiredCertificate], client_auth: Sequence[ClientAuth] = ()
) -> None:
    """Apply `certs` and cancel the apply the moment its first bind has succeeded, so that its
    result is never stored or saved: as if the process were killed before it wrote status."""
    task: asyncio.Task[object] | None = None

    def cut(event: RequestEvent) -> None:
        if event.operation == "bind" and event.status is not None and event.status < 300 and task:
            task.cancel()

    h.hooks.append(cut)
    task = asyncio.create_task(h.apply(certs, client_auth))
    with contextlib.suppress(asyncio.CancelledError):
        await task
    h.hooks.remove(cut)
    assert task.cancelled()
