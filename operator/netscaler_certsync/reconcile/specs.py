"""Frozen models of the two custom resources' specs, parsed once from the raw dicts kopf hands us.

The CRD schema validates shape and applies defaults on a real API server; parsing here repeats
the checks that matter for safety (https unless explicitly allowed, bounded values) because the
operator must also behave on servers or emulators that do not validate. The defaults are written
here once (tests/crds checks that they are the CRD's), and the handlers' timers ask this module
whether a re-check is due rather than read spec fields themselves.
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, Final, Literal
from urllib.parse import urlsplit

from netscaler_certsync.domain.naming import DEFAULT_NAME_LIMIT, DEFAULT_TEMPLATE
from netscaler_certsync.engine.model import Adoption
from netscaler_certsync.engine.verify import DEFAULT_PORT, VerifyTarget
from netscaler_certsync.k8s import SecretSource, keys
from netscaler_certsync.reconcile import reasons as k8s_reasons
from netscaler_certsync.reconcile.errors import invalid
from netscaler_certsync.timestamps import parse_rfc3339

INVALID_SPEC = k8s_reasons.InvalidSpec

#: Defaults of spec fields that are read outside a full parse too (timers, the trigger index).
AUTO_SYNC: Final = True
DRIFT_CHECK_INTERVAL_SECONDS: Final = 600.0
HEALTH_CHECK_INTERVAL_SECONDS: Final = 300.0


@dataclass(frozen=True)
class SecretKeyRef:
    name: str
    key: str


@dataclass(frozen=True)
class ConnectionSpec:
    endpoints: tuple[str, ...]
    credentials_secret: str
    allow_http: bool = False
    ca: SecretKeyRef | None = None
    server_name: str | None = None
    insecure_skip_verify: bool = False
    partition: str | None = None
    timeout_seconds: float = 30.0


@dataclass(frozen=True)
class BundleRef:
    """Where a client-auth CA bundle is: a key of a Secret or of a ConfigMap (same namespace)."""

    kind: Literal["Secret", "ConfigMap"]
    name: str
    key: str


#: `crlCheck` / `ocspCheck` of a CA binding, as NITRO spells them (docs/nitro.md, section 6).
CHECK_VALUES: Final = ("Mandatory", "Optional")


@dataclass(frozen=True)
class ClientAuthSpec:
    """`bindings[].clientAuth`: the CAs the vserver trusts for client certificates."""

    ca_from: BundleRef
    crl_check: str | None = None
    ocsp_check: str | None = None


@dataclass(frozen=True)
class BindingSpec:
    vserver: str
    sni: bool = False
    verify: VerifyTarget | None = None  # where to check by handshake what the vserver serves
    client_auth: ClientAuthSpec | None = None


@dataclass(frozen=True)
class CertificateRef:
    secret_name: str
    certkey_name: str | None = None
    source: SecretSource | None = None  # None: a kubernetes.io/tls Secret's tls.crt / tls.key
    adopt: Adoption | None = None  # take over this existing certkey in place (then it is the name)


@dataclass(frozen=True)
class SyncSpec:
    connections: tuple[str, ...]
    certificates: tuple[CertificateRef, ...] = ()
    secret_selector: Mapping[str, Any] | None = None
    secret_source: SecretSource | None = None  # how Secrets the selector picks are read
    bindings: tuple[BindingSpec, ...] = ()
    name_template: str = DEFAULT_TEMPLATE
    name_max_length: int = DEFAULT_NAME_LIMIT
    preserve_on_renewal: bool = True
    remove_inactive: bool = True
    auto_sync: bool = AUTO_SYNC
    link_chain: bool = True
    include_ca_crt: bool = False
    deletion_policy: str = "Delete"
    dry_run: bool = False
    drift_check_interval_seconds: float = DRIFT_CHECK_INTERVAL_SECONDS
    raw: Mapping[str, Any] = field(default_factory=dict, compare=False, repr=False)


def auto_sync(spec: Mapping[str, Any]) -> bool:
    """Does a Secret change alone sync this CertificateSync?"""
    return bool(spec.get("autoSync", AUTO_SYNC))


def _drift_interval(spec: Mapping[str, Any]) -> float:
    return float(spec.get("driftCheckIntervalSeconds", DRIFT_CHECK_INTERVAL_SECONDS))  # 0: off


def _health_interval(spec: Mapping[str, Any]) -> float:
    return float(spec.get("healthCheckIntervalSeconds") or HEALTH_CHECK_INTERVAL_SECONDS)


def _elapsed(last: Any, now: dt.datetime, interval: float) -> bool:
    # Never done: the create/resume handler is on it (or its retry, or a recheck); a timed check
    # now would only queue a duplicate reconcile behind it.
    return bool(last) and interval > 0 and (now - parse_rfc3339(str(last))).total_seconds() >= interval


def drift_check_due(spec: Mapping[str, Any], status: Mapping[str, Any], now: dt.datetime) -> bool:
    """Is a CertificateSync's periodic re-sync due (driftCheckIntervalSeconds after its last sync)?"""
    return _elapsed(status.get("lastSyncTime"), now, _drift_interval(spec))


def drift_due_at(spec: Mapping[str, Any], status: Mapping[str, Any]) -> dt.datetime | None:
    """When a CertificateSync's periodic re-sync falls due (None: never synced, or checks off)."""
    last, interval = status.get("lastSyncTime"), _drift_interval(spec)
    if not last or interval <= 0:
        return None
    return parse_rfc3339(str(last)) + dt.timedelta(seconds=interval)


def health_check_due(spec: Mapping[str, Any], status: Mapping[str, Any], now: dt.datetime) -> bool:
    """Is a NetScalerConnection's health check due (healthCheckIntervalSeconds after the last)?"""
    return _elapsed(status.get("lastCheckedTime"), now, _health_interval(spec))


def _verify_target(value: Any, where: str) -> VerifyTarget | None:
    if not value:
        return None
    if not isinstance(value, Mapping) or not value.get("host"):
        raise invalid(INVALID_SPEC, f"{where}.host is required")
    return VerifyTarget(
        str(value["host"]), int(value.get("port") or DEFAULT_PORT), value.get("serverName") or None
    )


def _ref_name(value: Any, where: str) -> str:
    if not isinstance(value, Mapping) or not isinstance(value.get("name"), str) or not value["name"]:
        raise invalid(INVALID_SPEC, f"{where}.name is required")
    return value["name"]


def _endpoint(url: Any, allow_http: bool, where: str) -> str:
    if not isinstance(url, str) or not url:
        raise invalid(INVALID_SPEC, f"{where} must be a URL")
    parts = urlsplit(url)
    if parts.scheme not in ("https", "http") or not parts.hostname:
        raise invalid(INVALID_SPEC, f"{where} must be an https:// URL with a host, got {url!r}")
    if parts.scheme == "http" and not allow_http:
        raise invalid(
            INVALID_SPEC, f"{where} uses plain http; set allowInsecureHTTP: true to allow it explicitly"
        )
    return url.rstrip("/")


def parse_connection(spec: Mapping[str, Any]) -> ConnectionSpec:
    allow_http = bool(spec.get("allowInsecureHTTP", False))
    if spec.get("endpoint") and spec.get("endpoints"):
        raise invalid(INVALID_SPEC, "set either endpoint or endpoints, not both")
    if spec.get("endpoints"):
        raw = spec["endpoints"]
        if not isinstance(raw, list) or not 1 <= len(raw) <= 2:
            raise invalid(INVALID_SPEC, "endpoints lists the one or two nodes of an HA pair")
        endpoints = tuple(_endpoint(u, allow_http, f"endpoints[{i}]") for i, u in enumerate(raw))
    else:
        endpoints = (_endpoint(spec.get("endpoint"), allow_http, "endpoint"),)
    tls = spec.get("tls") or {}
    ca = None
    if tls.get("caSecretRef"):
        ca = SecretKeyRef(
            _ref_name(tls["caSecretRef"], "tls.caSecretRef"), tls["caSecretRef"].get("key") or "ca.crt"
        )
    timeout = float(spec.get("timeoutSeconds") or 30)
    if not 1 <= timeout <= 300:
        raise invalid(INVALID_SPEC, "timeoutSeconds must be between 1 and 300")
    return ConnectionSpec(
        endpoints=endpoints,
        credentials_secret=_ref_name(spec.get("credentialsSecretRef"), "credentialsSecretRef"),
        allow_http=allow_http,
        ca=ca,
        server_name=tls.get("serverName") or None,
        insecure_skip_verify=bool(tls.get("insecureSkipVerify", False)),
        partition=spec.get("partition") or None,
        timeout_seconds=timeout,
    )


_SECRET_KEY = re.compile(r"[-._a-zA-Z0-9]{1,253}")


def _data_key(value: Any, default: str, where: str) -> str:
    if value is None or value == "":
        return default
    if not isinstance(value, str) or not _SECRET_KEY.fullmatch(value):
        raise invalid(INVALID_SPEC, f"{where} must be a Secret data key (letters, digits, '-', '_', '.')")
    return value


def parse_source(value: Any, where: str) -> SecretSource | None:
    """`certificates[].source` or `secretSource`: None when absent (a kubernetes.io/tls Secret)."""
    if value is None:
        return None
    if not isinstance(value, Mapping):
        raise invalid(INVALID_SPEC, f"{where} must be an object")
    fmt = value.get("format") or "PEM"
    if fmt not in ("PEM", "PKCS12"):
        raise invalid(INVALID_SPEC, f"{where}.format must be PEM or PKCS12, not {fmt!r}")
    password = value.get("passwordSecretRef")
    encrypt_key = value.get("encryptKey", False)
    if not isinstance(encrypt_key, bool):
        raise invalid(INVALID_SPEC, f"{where}.encryptKey must be true or false")
    if encrypt_key and password is None:
        raise invalid(INVALID_SPEC, f"{where}.encryptKey needs passwordSecretRef (the passphrase)")
    return SecretSource(
        format=fmt,
        certificate_key=_data_key(value.get("certificateKey"), keys.TLS_CRT, f"{where}.certificateKey"),
        private_key_key=_data_key(value.get("privateKeyKey"), keys.TLS_KEY, f"{where}.privateKeyKey"),
        ca_key=_data_key(value.get("caKey"), keys.CA_CRT, f"{where}.caKey"),
        keystore_key=_data_key(value.get("keystoreKey"), keys.KEYSTORE_P12, f"{where}.keystoreKey"),
        password_secret=_ref_name(password, f"{where}.passwordSecretRef") if password is not None else None,
        password_key=_data_key(
            (password or {}).get("key"), keys.PASSWORD_KEY, f"{where}.passwordSecretRef.key"
        ),
        encrypt_key=encrypt_key,
    )


def _adoption(item: Mapping[str, Any], where: str) -> Adoption | None:
    """`certificates[].adopt`: the existing certkey to take over (its name is the certkey name)."""
    adopt = item.get("adopt")
    if adopt is None:
        return None
    if not isinstance(adopt, Mapping) or not adopt.get("certKeyName"):
        raise invalid(INVALID_SPEC, f"{where}.adopt.certKeyName is required")
    name = str(adopt["certKeyName"])
    if item.get("certKeyName") and item["certKeyName"] != name:
        raise invalid(
            INVALID_SPEC,
            f"{where}: certKeyName and adopt.certKeyName differ; the adopted certkey keeps its name",
        )
    return Adoption(name, delete_on_removal=bool(adopt.get("deleteOnRemoval", False)))


def _key_ref(value: Any, where: str) -> tuple[str, str]:
    name = _ref_name(value, where)
    key = value.get("key")
    if not isinstance(key, str) or not _SECRET_KEY.fullmatch(key):
        raise invalid(INVALID_SPEC, f"{where}.key is required (letters, digits, '-', '_', '.')")
    return name, key


def _client_auth(value: Any, where: str) -> ClientAuthSpec | None:
    """`bindings[].clientAuth`: exactly one of caFrom.secretKeyRef / caFrom.configMapKeyRef."""
    if value is None:
        return None
    ca_from = value.get("caFrom") if isinstance(value, Mapping) else None
    if not isinstance(ca_from, Mapping):
        raise invalid(INVALID_SPEC, f"{where}.caFrom is required")
    refs = [k for k in ("secretKeyRef", "configMapKeyRef") if ca_from.get(k) is not None]
    if len(refs) != 1:
        raise invalid(INVALID_SPEC, f"{where}.caFrom needs exactly one of secretKeyRef or configMapKeyRef")
    name, key = _key_ref(ca_from[refs[0]], f"{where}.caFrom.{refs[0]}")
    checks = []
    for field_name in ("crlCheck", "ocspCheck"):
        check = value.get(field_name)
        if check is not None and check not in CHECK_VALUES:
            raise invalid(INVALID_SPEC, f"{where}.{field_name} must be Mandatory or Optional, not {check!r}")
        checks.append(check)
    kind: Literal["Secret", "ConfigMap"] = "Secret" if refs[0] == "secretKeyRef" else "ConfigMap"
    return ClientAuthSpec(BundleRef(kind, name, key), checks[0], checks[1])


def parse_sync(spec: Mapping[str, Any]) -> SyncSpec:
    refs = spec.get("connectionRefs") or []
    if not refs:
        raise invalid(INVALID_SPEC, "connectionRefs must name at least one NetScalerConnection")
    connections = tuple(_ref_name(r, f"connectionRefs[{i}]") for i, r in enumerate(refs))
    certificates = []
    for i, item in enumerate(spec.get("certificates") or []):
        if not isinstance(item, Mapping) or not item.get("secretName"):
            raise invalid(INVALID_SPEC, f"certificates[{i}].secretName is required")
        source = parse_source(item.get("source"), f"certificates[{i}].source")
        adopt = _adoption(item, f"certificates[{i}]")
        name = adopt.certkey if adopt else item.get("certKeyName") or None
        certificates.append(CertificateRef(item["secretName"], name, source, adopt))
    selector = spec.get("secretSelector") or None
    if not certificates and selector is None:
        raise invalid(INVALID_SPEC, "set certificates, secretSelector, or both")
    bindings = []
    for i, item in enumerate(spec.get("bindings") or []):
        if not isinstance(item, Mapping) or not item.get("vserver"):
            raise invalid(INVALID_SPEC, f"bindings[{i}].vserver is required")
        verify = _verify_target(item.get("verify"), f"bindings[{i}].verify")
        client_auth = _client_auth(item.get("clientAuth"), f"bindings[{i}].clientAuth")
        if client_auth is not None and any(b.client_auth and b.vserver == item["vserver"] for b in bindings):
            raise invalid(INVALID_SPEC, f"bindings[{i}]: vserver {item['vserver']} has clientAuth twice")
        bindings.append(BindingSpec(item["vserver"], bool(item.get("sni", False)), verify, client_auth))
    policy = spec.get("deletionPolicy") or "Delete"
    if policy not in ("Delete", "Orphan"):
        raise invalid(INVALID_SPEC, f"deletionPolicy must be Delete or Orphan, not {policy!r}")
    return SyncSpec(
        connections=connections,
        certificates=tuple(certificates),
        secret_selector=selector,
        secret_source=parse_source(spec.get("secretSource"), "secretSource"),
        bindings=tuple(bindings),
        name_template=spec.get("certificateNameTemplate") or DEFAULT_TEMPLATE,
        name_max_length=int(spec.get("certKeyNameMaxLength") or DEFAULT_NAME_LIMIT),
        preserve_on_renewal=bool(spec.get("preserveOnRenewal", True)),
        remove_inactive=bool(spec.get("removeInactive", True)),
        auto_sync=auto_sync(spec),
        link_chain=bool(spec.get("linkChain", True)),
        include_ca_crt=bool(spec.get("includeCACrt", False)),
        deletion_policy=policy,
        dry_run=bool(spec.get("dryRun", False)),
        drift_check_interval_seconds=_drift_interval(spec),
        raw=dict(spec),
    )
