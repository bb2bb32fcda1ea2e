"""`sslcertkey`: add, set, change (`?action=update`), link/unlink, delete, get; plus the
read-only `sslcertlink` and `sslcertificatechain` (nitro.md section 5)."""

from __future__ import annotations

import re

from netscaler_certsync.simulator.certs import CertInfo, check_key, parse_certificate
from netscaler_certsync.simulator.errors import ERRORS, NitroError
from netscaler_certsync.simulator.resources.registry import (
    Ctx,
    Record,
    boolean,
    flag,
    number,
    read,
    require,
    text,
    write,
)
from netscaler_certsync.simulator.state import BUILTIN_CERTKEY, CertKey, accessible, now

NAME_RE = re.compile(r"[A-Za-z0-9_][A-Za-z0-9_#. :@=-]*\Z")
SETTABLE = {"certkey", "expirymonitor", "notificationperiod", "deletecertkeyfilesonremoval"}
INFORMS = ("PEM", "DER", "PFX")


def _certkey(ctx: Ctx, name: str) -> CertKey:
    found = ctx.part.certkeys.get(name)
    if found is None:
        raise NitroError(1540, name)
    return found


def _read(ctx: Ctx, given: str) -> bytes:
    """A file a certkey loads; outside the admin partition's own tree it is not accessible (1647)."""
    directory, _ = ctx.part.resolve(given)
    data = ctx.part.read_path(given) if accessible(directory, ctx.part.name) else None
    if data is None:
        raise NitroError(1647)
    return data


def _inform(item: Record, default: str = "PEM") -> str:
    inform = str(item.get("inform") or default).upper()
    if inform not in INFORMS:
        raise NitroError(1097, "inform", inform)
    return inform


def _load(ctx: Ctx, cert: str, key: str | None, inform: str, passplain: str | None) -> CertInfo:
    """Read and check the files as the appliance does: 1647 missing, 1536/1537/1614/1538 content.
    An expired or not-yet-valid certificate loads, with a warning (1589/1588)."""
    cert_data = _read(ctx, cert)
    key_data = _read(ctx, key) if key else None
    info = parse_certificate(cert_data, inform, passplain)
    if info.curve is not None and not ctx.config.ecdsa:
        raise NitroError(1675)  # MPX/FIPS platforms: RSA only
    if info.curve is not None and info.curve not in ctx.config.ecdsa_curves:
        raise NitroError(1676)
    if key_data is not None:
        check_key(key_data, info, inform, passplain, ctx.config.quirks.require_passplain)
    status = info.status(now())
    if status != "Valid":
        ctx.warnings.append((1589, ERRORS[1589][1]) if status == "Expired" else (1588, ERRORS[1588][1]))
    return info


@write("sslcertkey", "add")
def add(ctx: Ctx, item: Record) -> None:
    name, cert = require(item, "certkey", "cert")
    name = str(name)
    if not NAME_RE.match(name):
        raise NitroError(1097, "certkey", name)
    if len(name) > ctx.config.certkey_name_max:
        raise NitroError(1106, "certkeyName", ctx.config.certkey_name_max)
    if name in ctx.part.certkeys:
        if not flag(ctx.request.query.get("idempotent")):
            raise NitroError(273, "certkey", name)
        # idempotent=yes: add-or-update; only what PUT may change is updated, nothing is unset
        set_(ctx, {k: v for k, v in item.items() if k in SETTABLE})
        ctx.status = 200
        return
    key, inform = text(item, "key"), _inform(item)
    info = _load(ctx, str(cert), key, inform, text(item, "passplain"))
    existing = _duplicate_of(ctx, info)
    if existing is not None:
        raise NitroError(273, "certkeyName Contents", existing)
    certkey = CertKey(name, str(cert), key, inform, info, password=boolean(item, "password"))
    certkey.passplain = text(item, "passplain")
    if item.get("expirymonitor") is not None:
        certkey.expirymonitor = "ENABLED" if flag(item["expirymonitor"]) else "DISABLED"
    if item.get("notificationperiod") is not None:
        certkey.notificationperiod = number(item, "notificationperiod", 10, 100)
    if item.get("deletecertkeyfilesonremoval") is not None:
        certkey.deletefiles = _deletefiles(item["deletecertkeyfilesonremoval"])
    # `linkcertkeyname` in an add body is not applied (nitro.md: needs ?action=link).
    ctx.part.add_certkey(certkey)
    ctx.part.changed()


def _duplicate_of(ctx: Ctx, info: CertInfo, but: str | None = None) -> str | None:
    """The certkey already holding this certificate: the same content, or — NetScaler's own rule,
    CTX206045 — "two certificates with the same serial number from the same certification
    authority" (the errorcode for that case is not quoted; 273 is assumed)."""
    owner = ctx.part.by_fingerprint.get(info.fingerprint)
    if owner is not None and owner != but:
        return owner
    for other in ctx.part.certkeys.values():
        if other.name != but and other.info.serial == info.serial and other.info.issuer == info.issuer:
            return other.name
    return None


def _deletefiles(value: object) -> str:
    mode = str(value).upper()
    if mode not in ("NO", "ALWAYS", "IF_EXPIRED"):
        raise NitroError(1097, "deletecertkeyfilesonremoval", value)
    return mode


@write("sslcertkey", "set")
def set_(ctx: Ctx, item: Record) -> None:
    name = require(item, "certkey")[0]
    certkey = _certkey(ctx, str(name))
    extra = sorted(k for k, v in item.items() if k not in SETTABLE and v is not None)
    if extra:
        # Replacing the certificate is `?action=update`, never PUT (nitro.md quirk 6).
        raise NitroError(278, extra[0])
    if "expirymonitor" in item:
        certkey.expirymonitor = "ENABLED" if flag(item["expirymonitor"]) else "DISABLED"
    if "deletecertkeyfilesonremoval" in item:
        certkey.deletefiles = _deletefiles(item["deletecertkeyfilesonremoval"])
    if "notificationperiod" in item:
        certkey.notificationperiod = number(item, "notificationperiod", 10, 100)
    ctx.part.changed()


@write("sslcertkey", "update")
def change(ctx: Ctx, item: Record) -> None:
    """CLI `update ssl certKey`: new files for an existing certkey, keeping its bindings."""
    name = str(require(item, "certkey")[0])
    certkey = _certkey(ctx, name)
    if name in ctx.part.vpn_global:
        raise NitroError(1541)  # no update in place while bound to VPN global (NetScalerToolkit)
    cert = text(item, "cert") or certkey.cert
    key = text(item, "key") or certkey.key
    inform = _inform(item, certkey.inform)
    info = _load(ctx, cert, key, inform, text(item, "passplain"))
    owner = _duplicate_of(ctx, info, but=name)
    if owner is not None:
        raise NitroError(273, "certkeyName Contents", owner)
    if not boolean(item, "nodomaincheck") and not (info.domains & certkey.info.domains):
        raise NitroError(3585)
    certkey.cert, certkey.key, certkey.inform = cert, key, inform
    certkey.passplain = text(item, "passplain") or certkey.passplain
    if "password" in item:
        certkey.password = boolean(item, "password")
    ctx.part.replace_info(certkey, info)
    _break_incompatible_links(ctx, certkey)
    ctx.part.changed()
    _management_follows(ctx, name)


def _management_follows(ctx: Ctx, name: str) -> None:
    """The management endpoint serves `ns-server-certificate`: a change to it shows there."""
    hook = ctx.state.on_management_change
    if hook is not None and name == BUILTIN_CERTKEY and ctx.part.name == "default":
        hook(ctx.part)


def _break_incompatible_links(ctx: Ctx, certkey: CertKey) -> None:
    """After a change, links whose issuer no longer matches are removed, with warning 1587."""
    part, broken = ctx.part, False
    if certkey.link is not None and certkey.info.issuer_key != part.certkeys[certkey.link].info.subject_key:
        part.set_link(certkey.name, None)
        broken = True
    for child in sorted(part.children.get(certkey.name, ())):
        if part.certkeys[child].info.issuer_key != certkey.info.subject_key:
            part.set_link(child, None)
            broken = True
    if broken:
        ctx.warnings.append((1587, ERRORS[1587][1]))


@write("sslcertkey", "link")
def link(ctx: Ctx, item: Record) -> None:
    name, ca_name = (str(v) for v in require(item, "certkey", "linkcertkeyname"))
    certkey, ca = _certkey(ctx, name), _certkey(ctx, ca_name)
    if name == ca_name:
        raise NitroError(1543)
    if certkey.link is not None and ctx.config.quirks.relink == "error":
        raise NitroError(273, "linkcertkeyname", certkey.link)
    if certkey.info.issuer_key != ca.info.subject_key:
        raise NitroError(1548)
    cursor: str | None = ca_name
    while cursor is not None:  # would the chain from the CA come back to this certkey?
        if cursor == name:
            raise NitroError(1677)
        cursor = ctx.part.certkeys[cursor].link
    ctx.part.set_link(name, ca_name)
    ctx.part.changed()
    _management_follows(ctx, name)


@write("sslcertkey", "unlink")
def unlink(ctx: Ctx, item: Record) -> None:
    certkey = _certkey(ctx, str(require(item, "certkey")[0]))
    if certkey.link is None:
        raise NitroError(1545)
    ctx.part.set_link(certkey.name, None)
    ctx.part.changed()
    _management_follows(ctx, certkey.name)


@write("sslcertkey", "delete")
def delete(ctx: Ctx, item: Record) -> None:
    name = str(require(item, "certkey")[0])
    certkey = ctx.part.certkeys.get(name)
    if certkey is None:
        raise NitroError(258, "certkey", name)
    if certkey.builtin:
        raise NitroError(3719)
    if ctx.part.cert_bindings.get(name) or ctx.part.children.get(name) or name in ctx.part.vpn_global:
        raise NitroError(1541)
    ctx.part.remove_certkey(name)
    expired = certkey.info.status(now()) == "Expired"
    by_setting = certkey.deletefiles == "ALWAYS" or (certkey.deletefiles == "IF_EXPIRED" and expired)
    if boolean(item, "deletefromdevice") or by_setting:
        for given in (certkey.cert, certkey.key):
            if given:
                ctx.part.delete_file(*ctx.part.resolve(given))
    ctx.part.changed()


def record(certkey: CertKey) -> Record:
    info, moment = certkey.info, now()
    out: Record = {"certkey": certkey.name, "cert": certkey.cert, "inform": certkey.inform}
    out.update(info.shown)  # fields of the certificate itself, formatted once at add time
    out.update(
        daystoexpiration=info.days_to_expiration(moment),
        priority="0",
        status=info.status(moment),
        data="0",
        expirymonitor=certkey.expirymonitor,
        ocspresponsestatus="NONE",
    )
    if certkey.builtin:
        out["builtin"] = ["BASIC"]
    if certkey.key:
        out["key"] = certkey.key
    if certkey.notificationperiod is not None:
        out["notificationperiod"] = str(certkey.notificationperiod)
    out["deletecertkeyfilesonremoval"] = certkey.deletefiles
    if certkey.link:
        out["linkcertkeyname"] = certkey.link
    return out


@read("sslcertkey")
def get(ctx: Ctx) -> list[Record]:
    name = ctx.request.name
    if name is not None:
        certkey = ctx.part.certkeys.get(name)
        if certkey is None:
            if ctx.config.quirks.missing_certkey_code == 1540:
                raise NitroError(1540, name)  # CIC #37: "Certificate does not exist"
            raise NitroError(258, "certkey", name)
        return [record(certkey)]
    wanted = ctx.request.filters.get("certkey")
    if wanted is not None and not wanted.startswith("/"):  # a plain filter on the key is a lookup
        found = ctx.part.certkeys.get(wanted)
        return [record(found)] if found else []
    return [record(c) for c in ctx.part.certkeys.values()]


@read("sslcertlink")
def get_links(ctx: Ctx) -> list[Record]:
    return [{"certkeyname": c.name, "linkcertkeyname": c.link} for c in ctx.part.certkeys.values() if c.link]


@read("sslcertificatechain")
def get_chain(ctx: Ctx) -> list[Record]:
    name = ctx.request.name
    if name is None:
        raise NitroError(1095, "certkeyname")
    certkey = _certkey(ctx, name)
    linked: list[str] = []
    cursor = certkey
    while cursor.link is not None and len(linked) < 16:
        linked.append(cursor.link)
        cursor = ctx.part.certkeys[cursor.link]
    last = ctx.part.certkeys[linked[-1]] if linked else certkey
    possible = (
        []
        if last.info.self_signed
        else sorted(n for n in ctx.part.by_subject.get(last.info.issuer_key, ()) if n != last.name)
    )
    return [
        {
            "certkeyname": name,
            "chaincomplete": last.info.self_signed,
            "chainlinked": linked,
            "chainpossiblelinks": possible,
        }
    ]
