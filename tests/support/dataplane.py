"""The engine as the operator drives it, for the data-plane tier: one certificate (Secret shop/web)
deployed to a simulator whose SSL vservers answer TLS."""

from __future__ import annotations

from collections.abc import Sequence

from certsync_devkit.pki import Issued, pem_bundle
from netscaler_certsync.domain import parse_material
from netscaler_certsync.engine import (
    ApplianceResult,
    Appliances,
    BindingSpec,
    DesiredCertificate,
    Records,
    SyncOptions,
    appliance_key,
    sync_appliance,
)
from netscaler_certsync.nitro import Credentials, NitroClient, RetryPolicy, TLSConfig
from netscaler_certsync.simulator import Simulator


def desired(
    leaf: Issued,
    chain: Sequence[Issued] = (),
    *,
    ca: Issued | None = None,
    vserver: str = "vs_https",
    sni: bool = False,
) -> DesiredCertificate:
    """The certificate of Secret shop/web as the operator hands it to the engine."""
    material = parse_material(pem_bundle([leaf, *chain]), leaf.key_pem, ca.cert_pem if ca else None)
    return DesiredCertificate("shop/web", "web", material, (BindingSpec(vserver, sni),))


class Deployer:
    """Applies through the engine like the operator does, carrying the records along."""

    def __init__(self, sim: Simulator) -> None:
        self.sim = sim
        self.records = Records()
        self.appliances = Appliances()

    def client(self) -> NitroClient:
        return NitroClient(
            self.sim.url,
            Credentials("nsroot", "nsroot"),
            tls=TLSConfig(ca_pem=self.sim.ca_pem),
            retry=RetryPolicy(attempts=2, base_delay=0.0),
        )

    async def apply(self, *certs: DesiredCertificate, **options: object) -> ApplianceResult:
        async with self.client() as client:
            result = await sync_appliance(
                client,
                certs,
                self.records,
                SyncOptions(owner="shop/web", **options),  # type: ignore[arg-type]
                appliances=self.appliances,
                appliance=appliance_key(self.sim.url),
            )
        assert not result.failed, result.failed
        self.records = result.records
        return result
