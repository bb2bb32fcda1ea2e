"""`sslvserver_sslcertkey_binding` (bind, unbind, get, bulkbindings) and the reverse lookups
`sslcertkey_sslvserver_binding` and `sslcertkey_binding` (nitro.md section 6)."""

from __future__ import annotations

from netscaler_certsync.simulator.errors import NitroError
from netscaler_certsync.simulator.resources.registry import Ctx, Record, boolean, flag, read, require, write
from netscaler_certsync.simulator.state import Binding, VServer

RESOURCE = "sslvserver_sslcertkey_binding"


def ssl_vserver(ctx: Ctx, name: str) -> VServer:
    vserver = ctx.part.vservers.get(name)
    if vserver is None:
        raise NitroError(461, name)
    if not vserver.ssl:
        raise NitroError(1544)
    return vserver


def _check_mode(value: object, key: str) -> str | None:
    if value in (None, ""):
        return None
    mode = str(value).capitalize()
    if mode not in ("Mandatory", "Optional"):
        raise NitroError(1097, key, value)
    return mode


@write(RESOURCE, "add")
def bind(ctx: Ctx, item: Record) -> None:
    vs_name, ck_name = (str(v) for v in require(item, "vservername", "certkeyname"))
    vserver = ssl_vserver(ctx, vs_name)
    certkey = ctx.part.certkeys.get(ck_name)
    if certkey is None:
        raise NitroError(1540, ck_name)
    sni, ca = boolean(item, "snicert"), boolean(item, "ca")
    if sni and ca:
        raise NitroError(1092, "snicert", "ca")
    if not ca and certkey.key is None and ctx.config.quirks.bind_without_key == "reject":
        raise NitroError(1547)  # a server certificate needs its private key on the appliance
    key = (ck_name, sni, ca)
    if key in vserver.bindings:
        raise NitroError(273, "certkeyname", ck_name)
    if sni:
        if not vserver.snienable:
            raise NitroError(3627)
        if not certkey.info.common_name:
            raise NitroError(3628)
        if any(domain in vserver.sni_domains for domain in certkey.info.domains):
            raise NitroError(1674)
    elif not ca:
        # A new default server certificate replaces the previous one of its key type (CTX109711);
        # one RSA and one ECDSA default certificate coexist (CTX224272, NetScaler's ECDSA docs).
        for old in vserver.defaults():
            if ctx.part.certkeys[old].family == certkey.family:
                ctx.part.remove_binding(vs_name, (old, False, False))
                ctx.warnings.append((1546, "Current certificate replaces the previous binding"))
    binding = Binding(
        vs_name,
        ck_name,
        snicert=sni,
        ca=ca,
        crlcheck=_check_mode(item.get("crlcheck"), "crlcheck"),
        ocspcheck=_check_mode(item.get("ocspcheck"), "ocspcheck"),
        skipcaname=boolean(item, "skipcaname"),
    )
    ctx.part.add_binding(binding)
    ctx.part.changed()


@write(RESOURCE, "delete")
def unbind(ctx: Ctx, item: Record) -> None:
    vs_name, ck_name = (str(v) for v in require(item, "vservername", "certkeyname"))
    vserver = ssl_vserver(ctx, vs_name)
    key = (ck_name, boolean(item, "snicert"), boolean(item, "ca"))
    if key not in vserver.bindings:
        raise NitroError(1542)
    ctx.part.remove_binding(vs_name, key)
    ctx.part.changed()


def _record(binding: Binding) -> Record:
    out: Record = {
        "vservername": binding.vserver,
        "certkeyname": binding.certkey,
        "ca": binding.ca,
        "snicert": binding.snicert,
        "skipcaname": binding.skipcaname,
        "cleartextport": 0,
    }
    if binding.crlcheck:
        out["crlcheck"] = binding.crlcheck
    if binding.ocspcheck:
        out["ocspcheck"] = binding.ocspcheck
    return out


@read(RESOURCE)
def get(ctx: Ctx) -> list[Record]:
    name = ctx.request.name
    if name is None:
        if not flag(ctx.request.query.get("bulkbindings")):
            raise NitroError(1095, "vservername")
        return [_record(b) for vs in ctx.part.vservers.values() if vs.ssl for b in vs.bindings.values()]
    return [_record(b) for b in ssl_vserver(ctx, name).bindings.values()]


def _reverse(ctx: Ctx, name: str) -> list[Record]:
    return [
        {
            "certkey": name,
            "servername": b.vserver,
            "vservername": b.vserver,
            "vserver": True,
            "ca": b.ca,
            "snicert": b.snicert,
            "data": 0,
            "version": 2,
        }
        for b in ctx.part.bindings_of(name)
    ]


def _existing(ctx: Ctx) -> str:
    name = ctx.request.name
    if name is None:
        raise NitroError(1095, "certkey")
    if name not in ctx.part.certkeys:
        raise NitroError(258, "certkey", name)
    return name


@read("sslcertkey_sslvserver_binding")
def get_reverse(ctx: Ctx) -> list[Record]:
    return _reverse(ctx, _existing(ctx))


@read("sslcertkey_binding")
def get_aggregate(ctx: Ctx) -> list[Record]:
    name = _existing(ctx)
    out: Record = {"certkey": name}
    reverse = _reverse(ctx, name)
    if reverse:
        out["sslcertkey_sslvserver_binding"] = reverse
    return [out]
