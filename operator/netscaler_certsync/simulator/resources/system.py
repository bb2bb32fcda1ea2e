"""Appliance-wide resources: `nsconfig` (get, save), `nsversion`, `hanode` (config and stat),
`nspartition` (list, Switch) and the vserver lists (`sslvserver`, `lbvserver`, ...)."""

from __future__ import annotations

from netscaler_certsync.simulator.errors import NitroError
from netscaler_certsync.simulator.resources.bindings import ssl_vserver
from netscaler_certsync.simulator.resources.registry import Ctx, Record, boolean, flag, read, require, write
from netscaler_certsync.simulator.state import VServer


def _time(stamp: object) -> str:
    return "" if stamp is None else f"{stamp:%a %b} {stamp.day:2d} {stamp:%H:%M:%S %Y}"  # type: ignore[attr-defined]


@read("nsconfig")
def get_config(ctx: Ctx) -> Record:
    part = ctx.part
    return {
        "configchanged": part.configchanged,
        "lastconfigchangedtime": _time(part.last_changed),
        "lastconfigsavetime": _time(part.last_saved),
        "systemtype": "Stand-alone" if ctx.ha_state == "standalone" else "HA",
        "primaryip": "127.0.0.1",
    }


@write("nsconfig", "save")
def save(ctx: Ctx, item: Record) -> None:
    targets = ctx.state.partitions.values() if boolean(item, "all") else [ctx.part]
    for part in targets:
        part.save()


@read("nsversion")
def get_version(ctx: Ctx) -> Record:
    return {"installedversion": False, "version": ctx.state.version, "mode": "1"}


_HA = {"standalone": "Primary", "primary": "Primary", "secondary": "Secondary"}


@read("hanode")
def get_hanode(ctx: Ctx) -> list[Record]:
    state = ctx.ha_state
    local: Record = {
        "id": "0",
        "name": "simulator",
        "ipaddress": "127.0.0.1",
        "state": _HA[state],
        "hastatus": "ENABLED" if state != "standalone" else "DISABLED",
        "hasync": "ENABLED",
        "haprop": "ENABLED",
        "enaifaces": "",
    }
    if state == "standalone":
        return [local]
    peer = dict(local, id="1", name="peer", ipaddress="127.0.0.2")
    peer["state"] = "Secondary" if state == "primary" else "Primary"
    return [local, peer]


@read("stat:hanode")
def stat_hanode(ctx: Ctx) -> Record:
    state = ctx.ha_state
    return {
        "hacurstatus": "NO" if state == "standalone" else "YES",
        "hacurmasterstate": "SECONDARY" if state == "secondary" else "PRIMARY",
        "hacurstate": "UP",
    }


@read("nspartition")
def get_partitions(ctx: Ctx) -> list[Record]:
    names = [n for n in ctx.state.partitions if n != "default"]
    if ctx.request.name is not None:
        if ctx.request.name not in ctx.state.partitions:
            raise NitroError(258, "partitionname", ctx.request.name)
        names = [ctx.request.name]
    return [{"partitionname": n, "partitionid": i + 1} for i, n in enumerate(names)]


@write("nspartition", "switch")
def switch(ctx: Ctx, item: Record) -> None:
    name = str(require(item, "partitionname")[0])
    if name not in ctx.state.partitions:
        raise NitroError(258, "partitionname", name)
    ctx.session.partition = name


def _vserver_record(vs: VServer) -> Record:
    return {
        "vservername": vs.name,
        "snienable": "ENABLED" if vs.snienable else "DISABLED",
        "clientauth": "ENABLED" if vs.clientcert else "DISABLED",
        **({"clientcert": vs.clientcert} if vs.clientcert else {}),
        "sslprofile": "",
        "ssl3": "DISABLED",
        "tls12": "ENABLED",
        "tls13": "DISABLED",
    }


@read("sslvserver")
def get_sslvservers(ctx: Ctx) -> list[Record]:
    if ctx.request.name is not None:
        return [_vserver_record(ssl_vserver(ctx, ctx.request.name))]
    return [_vserver_record(vs) for vs in ctx.part.vservers.values() if vs.ssl]


@write("sslvserver", "set")
def set_sslvserver(ctx: Ctx, item: Record) -> None:
    vserver = ssl_vserver(ctx, str(require(item, "vservername")[0]))
    if "snienable" in item:
        vserver.snienable = flag(item["snienable"])
    if "clientauth" in item or "clientcert" in item:
        enabled = flag(item["clientauth"]) if "clientauth" in item else vserver.clientcert is not None
        mode = str(item.get("clientcert") or vserver.clientcert or "Mandatory").capitalize()
        if mode not in ("Mandatory", "Optional"):
            raise NitroError(1097, "clientcert", item.get("clientcert"))
        vserver.clientcert = mode if enabled else None
    ctx.part.changed()


def _typed_vservers(kind: str) -> None:
    def get(ctx: Ctx) -> list[Record]:
        found = [vs for vs in ctx.part.vservers.values() if vs.kind == kind]
        if ctx.request.name is not None:
            found = [vs for vs in found if vs.name == ctx.request.name]
            if not found:
                raise NitroError(258, "name", ctx.request.name)
        return [
            {
                "name": vs.name,
                "servicetype": "SSL" if vs.ssl else "HTTP",
                "curstate": "UP",
                "ipv46": "0.0.0.0",  # noqa: S104 - a field value, not a bind
            }
            for vs in found
        ]

    read(f"{kind}vserver")(get)


for _kind in ("lb", "cs", "vpn"):
    _typed_vservers(_kind)


@read("nshardware")
def get_hardware(ctx: Ctx) -> Record:
    return {
        "hwdescription": "NetScaler Virtual Appliance (simulated)",
        "sysid": "450070",
        "manufactureday": "1",
        "manufacturemonth": "1",
        "manufactureyear": "2024",
        "cpufrequncy": "2400",  # sic: the appliance's spelling
        "hostid": "0",
        "host": "simulator",
        "serialno": f"SIM{ctx.config.seed:08d}",
        "encodedserialno": "",
    }
