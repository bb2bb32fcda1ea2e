"""Coerce what real NetScalers send into predictable Python values.

Real devices are loose: numbers arrive as strings (`"30"`), a type with no objects omits its
array key entirely, `nsversion` is an object where the docs draw an array, `count=yes` answers
`[{"__count": N}]` with N a number or a string, subjects and issuers start with a space, and
dates are OpenSSL style (`Apr  5 09:46:59 2018 GMT`, day padded with a space). Everything here is
pure and lenient on values, strict only on the overall shape (a wrong shape is a ProtocolError).
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Mapping
from typing import Any

from netscaler_certsync.nitro.errors import ProtocolError
from netscaler_certsync.nitro.models import (
    CertBinding,
    CertKey,
    CertLink,
    ConfigState,
    HANode,
    HAState,
    NSVersion,
    SSLVServer,
    SystemFile,
)

_TRUE = {"true", "yes", "enabled", "on", "1"}
_VERSION = re.compile(r"NS(\d+\.\d+):\s*Build\s+(\d+(?:\.\d+)*)", re.I)


def rows(body: Mapping[str, Any], key: str) -> list[dict[str, Any]]:
    """The objects under `key`: missing → [], one object → [it], array → the array."""
    value = body.get(key)
    if value is None:
        return []
    if isinstance(value, dict):
        return [value]
    if isinstance(value, list) and all(isinstance(item, dict) for item in value):
        return value
    raise ProtocolError(f"expected objects under {key!r}, got {type(value).__name__}")


def as_int(value: Any) -> int | None:
    """`80`, `"80"` → 80; None, "" or anything non-numeric → None."""
    if isinstance(value, bool):
        return int(value)
    if isinstance(value, int):
        return value
    if isinstance(value, str):
        text = value.strip()
        if re.fullmatch(r"[-+]?\d+", text):
            return int(text)
    return None


def as_bool(value: Any) -> bool:
    """True for true, "true", "YES", "ENABLED", 1...; everything else is False."""
    if isinstance(value, bool):
        return value
    if isinstance(value, int):
        return value != 0
    if isinstance(value, str):
        return value.strip().lower() in _TRUE
    return False


def as_str(value: Any) -> str | None:
    """A stripped string, or None for missing/empty."""
    if value is None:
        return None
    text = str(value).strip()
    return text or None


def parse_openssl_date(value: Any) -> dt.datetime | None:
    """`Apr  5 09:46:59 2018 GMT` (or ISO 8601) → aware UTC datetime; None if unparseable."""
    text = as_str(value)
    if text is None:
        return None
    normalized = " ".join(text.split())
    for fmt in ("%b %d %H:%M:%S %Y GMT", "%b %d %H:%M:%S %Y"):
        try:
            return dt.datetime.strptime(normalized, fmt).replace(tzinfo=dt.UTC)
        except ValueError:
            continue
    try:
        parsed = dt.datetime.fromisoformat(normalized.replace("Z", "+00:00"))
    except ValueError:
        return None
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=dt.UTC)


def count(body: Mapping[str, Any], key: str) -> int:
    """The N of `count=yes` (`[{"__count": N}]`, N maybe a string); no rows means 0."""
    items = rows(body, key)
    if not items:
        return 0
    raw = items[0].get("__count")
    number = as_int(raw)
    if number is None:
        raise ProtocolError(f"count of {key!r} is not a number: {raw!r}")
    return number


def _types(value: Any) -> tuple[str, ...]:
    if isinstance(value, str):
        return tuple(part.strip() for part in value.split(",") if part.strip())
    if isinstance(value, list):
        return tuple(str(part).strip() for part in value)
    return ()


def key_type(publickey: str | None) -> str | None:
    """`RSA` or `EC` from the appliance's public key algorithm (`rsaEncryption`, `id-ecPublicKey`)."""
    text = (publickey or "").lower()
    if "rsa" in text:
        return "RSA"
    if "ec" in text:  # id-ecPublicKey; ECDSA/EC as some builds may word it
        return "EC"
    return None


def certkey(row: Mapping[str, Any]) -> CertKey:
    serial = as_str(row.get("serial"))
    return CertKey(
        name=str(row.get("certkey", "")),
        cert=as_str(row.get("cert")),
        key=as_str(row.get("key")),
        serial=serial.replace(":", "").upper() if serial else None,
        subject=as_str(row.get("subject")),
        issuer=as_str(row.get("issuer")),
        not_before=parse_openssl_date(row.get("clientcertnotbefore")),
        not_after=parse_openssl_date(row.get("clientcertnotafter")),
        days_to_expiration=as_int(row.get("daystoexpiration")),
        status=as_str(row.get("status")),
        certificate_types=_types(row.get("certificatetype")),
        linked_to=as_str(row.get("linkcertkeyname")),
        inform=as_str(row.get("inform")),
        key_type=key_type(as_str(row.get("publickey"))),
    )


def binding(row: Mapping[str, Any], vserver: str | None = None) -> CertBinding:
    return CertBinding(
        vserver=str(row.get("vservername") or vserver or ""),
        certkey=str(row.get("certkeyname", "")),
        sni=as_bool(row.get("snicert")),
        ca=as_bool(row.get("ca")),
        crlcheck=as_str(row.get("crlcheck")),
        ocspcheck=as_str(row.get("ocspcheck")),
    )


def system_file(row: Mapping[str, Any], location: str, content: bytes | None = None) -> SystemFile:
    return SystemFile(
        filename=str(row.get("filename", "")),
        location=as_str(row.get("filelocation")) or location,
        size=as_int(row.get("filesize")),
        modified=as_str(row.get("filemodifiedtime")),
        is_directory="DIRECTORY" in _types(row.get("filemode")),
        content=content,
    )


def ssl_vserver(row: Mapping[str, Any]) -> SSLVServer:
    return SSLVServer(name=str(row.get("vservername", "")), sni_enabled=as_bool(row.get("snienable")))


def cert_link(row: Mapping[str, Any]) -> CertLink:
    return CertLink(certkey=str(row.get("certkeyname", "")), linked_to=str(row.get("linkcertkeyname", "")))


def ns_version(body: Mapping[str, Any]) -> NSVersion:
    items = rows(body, "nsversion")
    if not items or not as_str(items[0].get("version")):
        raise ProtocolError("nsversion reply carries no version")
    text = str(items[0]["version"]).strip()
    match = _VERSION.search(text)
    return NSVersion(
        version=text,
        release=match.group(1) if match else None,
        build=match.group(2).removesuffix(".nc") if match else None,
        mode=as_int(items[0].get("mode")),
    )


def ha_state(body: Mapping[str, Any]) -> HAState:
    nodes = tuple(
        HANode(
            id=as_int(row.get("id")) or 0,
            name=as_str(row.get("name")),
            ipaddress=as_str(row.get("ipaddress")),
            state=as_str(row.get("state")),
            hastatus=as_str(row.get("hastatus")),
        )
        for row in rows(body, "hanode")
    )
    local = next((node for node in nodes if node.id == 0), None)
    return HAState(configured=len(nodes) > 1, local_state=local.state if local else None, nodes=nodes)


def config_state(body: Mapping[str, Any]) -> ConfigState:
    items = rows(body, "nsconfig")
    if not items:
        raise ProtocolError("nsconfig reply carries no nsconfig object")
    row = items[0]
    return ConfigState(
        changed=as_bool(row.get("configchanged")),
        last_changed=as_str(row.get("lastconfigchangedtime")),
        last_saved=as_str(row.get("lastconfigsavetime")),
    )


__all__ = [
    "as_bool",
    "as_int",
    "as_str",
    "binding",
    "cert_link",
    "certkey",
    "config_state",
    "count",
    "ha_state",
    "ns_version",
    "parse_openssl_date",
    "rows",
    "ssl_vserver",
    "system_file",
]
