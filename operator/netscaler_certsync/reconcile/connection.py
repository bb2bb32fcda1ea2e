"""NetScalerConnection: how to reach one appliance (or HA pair), and whether it answers.

`resolve_target` turns the spec plus its Secrets into an `ApplianceTarget` (no I/O to the
appliance); `check_connection` logs in, reads the version and HA state, and picks the primary of
an HA pair, since writes must go to the primary only. Both raise `ReconcileError` with a named
reason for every failure a user can act on.
"""

from __future__ import annotations

import base64
import binascii
import datetime as dt
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, replace
from typing import Any

from netscaler_certsync.domain import reasons
from netscaler_certsync.engine import inventory
from netscaler_certsync.engine.locks import appliance_key
from netscaler_certsync.k8s import CredentialsSecret, SecretError, keys
from netscaler_certsync.nitro import Credentials, NitroClient, TLSConfig, errors
from netscaler_certsync.reconcile import conditions
from netscaler_certsync.reconcile import reasons as k8s_reasons
from netscaler_certsync.reconcile.connection_triggers import SyncUse, backoff
from netscaler_certsync.reconcile.context import OperatorContext, SecretGetter
from netscaler_certsync.reconcile.errors import ReconcileError, transient
from netscaler_certsync.reconcile.failures import appliance_failure, failure
from netscaler_certsync.reconcile.outcome import Event, Outcome, from_error
from netscaler_certsync.reconcile.specs import ConnectionSpec, parse_connection
from netscaler_certsync.timestamps import rfc3339, utc_now


@dataclass(frozen=True)
class ApplianceTarget:
    """Everything needed to open a NITRO session to one NetScalerConnection."""

    namespace: str
    name: str
    endpoints: tuple[str, ...]
    credentials: Credentials
    tls: TLSConfig
    partition: str | None
    timeout: float

    @property
    def key(self) -> str:
        """Identity of the appliance for the one-writer lock: same endpoints and partition."""
        return "|".join((*sorted(self.endpoints), self.partition or ""))

    @property
    def label(self) -> str:
        """How metrics and logs name this connection."""
        return f"{self.namespace}/{self.name}"

    def client(self, endpoint: str | None = None, **kwargs: Any) -> NitroClient:
        return NitroClient(
            endpoint or self.endpoints[0],
            self.credentials,
            tls=self.tls,
            timeout=self.timeout,
            partition=self.partition,
            **kwargs,
        )


@dataclass(frozen=True)
class ConnectionHealth:
    primary_endpoint: str
    version: str
    ha_state: str
    checked_at: dt.datetime


def _decode(secret: Mapping[str, Any], key: str) -> str | None:
    raw = (secret.get("data") or {}).get(key)
    if raw is None:
        return None
    try:
        return base64.b64decode(raw, validate=True).decode()
    except (binascii.Error, UnicodeDecodeError):
        return None


async def resolve_target(
    namespace: str, name: str, spec: ConnectionSpec, get_secret: SecretGetter
) -> ApplianceTarget:
    creds_secret = await get_secret(namespace, spec.credentials_secret)
    if creds_secret is None:
        raise failure(
            k8s_reasons.CredentialsNotFound,
            f"Secret {namespace}/{spec.credentials_secret} with the appliance credentials does not exist",
        )
    try:
        creds = CredentialsSecret.from_raw(creds_secret)
    except SecretError as exc:
        raise failure(
            k8s_reasons.CredentialsNotFound,
            f"Secret {namespace}/{spec.credentials_secret}: {exc}; it needs keys username and password",
        ) from None
    if not creds.username or not creds.password:
        raise failure(
            k8s_reasons.CredentialsNotFound,
            f"Secret {namespace}/{spec.credentials_secret} has an empty username or password",
        )
    ca_pem = None
    if spec.ca is not None:
        ca_secret = await get_secret(namespace, spec.ca.name)
        if ca_secret is None:
            raise failure(
                k8s_reasons.CANotFound,
                f"Secret {namespace}/{spec.ca.name} with the appliance's CA does not exist",
            )
        ca_pem = _decode(ca_secret, spec.ca.key)
        if not ca_pem:
            raise failure(
                k8s_reasons.CANotFound,
                f"Secret {namespace}/{spec.ca.name} has no key {spec.ca.key!r} (the appliance's CA)",
            )
    tls = TLSConfig(
        ca_pem=ca_pem,
        server_name=spec.server_name,
        insecure=spec.insecure_skip_verify,
        allow_http=spec.allow_http,
    )
    return ApplianceTarget(
        namespace=namespace,
        name=name,
        endpoints=spec.endpoints,
        credentials=Credentials(creds.username, creds.password),
        tls=tls,
        partition=spec.partition,
        timeout=spec.timeout_seconds,
    )


async def check_connection(
    target: ApplianceTarget,
    clock: Callable[[], dt.datetime] = utc_now,
    **client_options: Any,
) -> ConnectionHealth:
    """Log in to each endpoint, read version and HA state; return the primary's health."""
    seen: list[tuple[str, str, str]] = []
    failures: list[ReconcileError] = []
    for endpoint in target.endpoints:
        try:
            async with target.client(endpoint, **client_options) as client:
                version = await client.version()
                ha = await client.ha_state()
        except (errors.NitroError, OSError) as exc:
            failures.append(appliance_failure(exc, endpoint))
            continue
        state = (ha.local_state or "Primary") if ha.configured else "Standalone"
        seen.append((endpoint, version.version, state))
        if ha.is_primary:
            return ConnectionHealth(endpoint, version.version, state, clock())
    if failures and not seen:
        raise failures[0]
    states = ", ".join(f"{e} is {s}" for e, _, s in seen) or "no node answered"
    raise failure(
        k8s_reasons.NoPrimary,
        f"no primary node to write to ({states}); writes go to the primary of an HA pair only",
    )


def _tls_warning(spec: ConnectionSpec) -> tuple[str, str] | None:
    """Why the appliance's certificate is not verified by configuration, if it is not."""
    if any(e.startswith("http://") for e in spec.endpoints):
        return (
            k8s_reasons.InsecureHTTP,
            "the endpoint uses http:// (allowInsecureHTTP: true): the password and private keys "
            "cross the network unencrypted and the appliance is not verified",
        )
    if spec.insecure_skip_verify:
        return (
            k8s_reasons.InsecureSkipVerify,
            "TLS verification of the appliance is disabled (tls.insecureSkipVerify: true)",
        )
    return None


#: What a failed check says about the login: refused, or not known because it was never tried.
_NOT_TRIED = "Unknown"


def _access_conditions(
    raw_spec: Mapping[str, Any], error: ReconcileError | None
) -> list[conditions.Condition]:
    """TLSVerified and Authenticated: what the last check found about the appliance's certificate
    and the login. A check that did not get that far says Unknown, with the reason it stopped."""
    try:
        spec: ConnectionSpec | None = parse_connection(raw_spec)
    except ReconcileError:
        spec = None
    reason = error.reason if error is not None else ""
    warning = _tls_warning(spec) if spec is not None else None
    if warning is not None:
        tls = conditions.Condition(conditions.TLS_VERIFIED, "False", *warning)
    elif reason == reasons.TLSVerificationFailed:
        tls = conditions.Condition(conditions.TLS_VERIFIED, "False", reason, error.message if error else "")
    elif error is None or reason in (
        reasons.AuthenticationFailed,
        reasons.NotAuthorized,
        k8s_reasons.NoPrimary,
    ):
        tls = conditions.Condition(
            conditions.TLS_VERIFIED, "True", reasons.Verified, "The appliance's certificate is verified"
        )
    else:
        tls = conditions.Condition(
            conditions.TLS_VERIFIED, _NOT_TRIED, reason, "not checked: " + error.message
        )
    if error is None or reason in (reasons.NotAuthorized, k8s_reasons.NoPrimary):
        auth = conditions.Condition(
            conditions.AUTHENTICATED, "True", k8s_reasons.LoggedIn, "The appliance accepted the credentials"
        )
    elif reason == reasons.AuthenticationFailed:
        auth = conditions.Condition(conditions.AUTHENTICATED, "False", reason, error.message)
    else:
        auth = conditions.Condition(
            conditions.AUTHENTICATED, _NOT_TRIED, reason, "not checked: " + error.message
        )
    return [tls, auth]


def is_ready(status: Mapping[str, Any] | None) -> bool:
    return (conditions.get((status or {}).get("conditions"), conditions.READY) or {}).get("status") == "True"


def _same_failure(status: Mapping[str, Any], error: ReconcileError) -> bool:
    ready = conditions.get(status.get("conditions"), conditions.READY) or {}
    stored = str(ready.get("message") or "")  # may be truncated
    return ready.get("reason") == error.reason and bool(stored) and error.message.startswith(stored)


async def reconcile_connection(
    ctx: OperatorContext, namespace: str, name: str, spec: Mapping[str, Any], status: Mapping[str, Any]
) -> Outcome:
    """Validate, log in, read version and HA state; the status a user reads with `kubectl get`."""
    now = ctx.clock()
    stamp = {"lastCheckedTime": rfc3339(now), "clusterIdentity": ctx.cluster.status()}
    try:
        parsed = parse_connection(spec)
        target = await resolve_target(namespace, name, parsed, ctx.get_secret)
        hook = ctx.metrics.nitro_hook(target.namespace, target.name)
        health = await check_connection(target, clock=ctx.clock, on_request=[hook])
    except ReconcileError as error:
        ctx.metrics.connection_up.labels(namespace, name).set(0)
        streak = ctx.failure_streak(keys.CONNECTION_KIND, namespace, name, failed=True)
        failed = from_error(backoff(error, streak), status=stamp)
        failed = replace(failed, conditions=[*failed.conditions, *_access_conditions(spec, error)])
        if _same_failure(status, error):  # retried every few seconds: one Event, not one a retry
            failed = replace(failed, events=())
        return failed
    ctx.failure_streak(keys.CONNECTION_KIND, namespace, name, failed=False)
    ctx.metrics.connection_up.labels(namespace, name).set(1)
    was_ready = is_ready(status)
    message = f"{health.version}; {health.ha_state}; writes go to {health.primary_endpoint}"
    conds = list(conditions.ready(k8s_reasons.Connected, message))
    events = [] if was_ready else [Event("Normal", k8s_reasons.Connected, message)]
    conds += _access_conditions(spec, None)
    warning = _tls_warning(parsed)
    if warning is not None and not was_ready:
        events.append(Event("Warning", warning[0], warning[1]))
    shown = _inventory(ctx, target, health, now)
    return Outcome(
        conditions=conds,
        status={
            **stamp,
            "version": health.version,
            "haState": health.ha_state,
            "primaryEndpoint": health.primary_endpoint,
            **({"inventory": shown} if shown is not None else {}),
        },
        events=events,
    )


def _inventory(
    ctx: OperatorContext, target: ApplianceTarget, health: ConnectionHealth, now: dt.datetime
) -> dict[str, Any] | None:
    """`status.inventory` and the expiry gauge of every certkey, from the listing the last apply
    to the primary made (no request of its own); None before any apply listed it."""
    entry = ctx.appliances.peek(appliance_key(health.primary_endpoint, target.partition))
    if entry is None or entry.listing is None:
        return None
    found = inventory.build(entry.listing, ctx.cluster.tag if ctx.cluster.id else None, now)
    ctx.metrics.record_inventory(
        target.namespace, target.name, ((r.name, r.owner, r.not_after) for r in found.rows)
    )
    return found.counts()


#: How soon a held deletion looks again whether its CertificateSyncs are gone (no I/O: an index).
IN_USE_RETRY_SECONDS = 3.0


def hold_deletion(status: Mapping[str, Any], users: Iterable[SyncUse]) -> Outcome | None:
    """A deleted connection stays (its finalizer held) while CertificateSyncs use it.

    Their own deletion needs it to remove what they deployed, and a sync left without its
    connection would find out only at its next re-check. The Event is posted when the list of
    syncs changes, not at every look.
    """
    names = sorted({u.name for u in users})
    if not names:
        return None
    shown = ", ".join(names[:10]) + (f" and {len(names) - 10} more" if len(names) > 10 else "")
    message = (
        f"deletion waits until no CertificateSync uses this connection; still used by {len(names)}: {shown}"
    )
    error = transient(k8s_reasons.ConnectionInUse, message, retry_after=IN_USE_RETRY_SECONDS)
    ready = conditions.get(status.get("conditions"), conditions.READY) or {}
    events = [] if ready.get("message") == message else [Event("Warning", error.reason, message)]
    return Outcome(conditions=conditions.progressing(error.reason, message), events=events, error=error)
