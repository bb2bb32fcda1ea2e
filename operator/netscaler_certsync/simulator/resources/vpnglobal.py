"""`vpnglobal_sslcertkey_binding`: certkeys bound to the VPN global configuration.

It matters to a certificate deployer for one reason: NetScaler refuses to update a certkey in
place (and to remove it) while it is bound to VPN global, with 1541 (NetScalerToolkit docs,
"NITRO reports this as error 1541"). The binding has no name: bind with PUT/POST, unbind with
`DELETE …?args=certkeyname:<name>` or `POST ?action=unbind`.
"""

from __future__ import annotations

from netscaler_certsync.simulator.errors import NitroError
from netscaler_certsync.simulator.resources.registry import Ctx, Record, read, require, write

RESOURCE = "vpnglobal_sslcertkey_binding"


@write(RESOURCE, "add")
def bind(ctx: Ctx, item: Record) -> None:
    name = str(require(item, "certkeyname")[0])
    if name not in ctx.part.certkeys:
        raise NitroError(1540, name)
    if name in ctx.part.vpn_global:
        raise NitroError(273, "certkeyname", name)
    ctx.part.vpn_global.add(name)
    ctx.part.changed()


@write(RESOURCE, "delete")
def unbind(ctx: Ctx, item: Record) -> None:
    name = str(require(item, "certkeyname")[0])
    if name not in ctx.part.vpn_global:
        raise NitroError(1542)
    ctx.part.vpn_global.discard(name)
    ctx.part.changed()


@read(RESOURCE)
def get(ctx: Ctx) -> list[Record]:
    return [{"certkeyname": name} for name in sorted(ctx.part.vpn_global)]
