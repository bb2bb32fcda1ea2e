"""Gather a CertificateSync's certificates from Kubernetes: explicit Secrets and a label selector.

Each selected Secret becomes a `SourceCertificate`: either parsed material ready for the engine,
or a named problem (missing Secret, wrong type, bad PEM, a password that does not open a
keystore...) that is reported for that certificate alone; one bad Secret never blocks the others.
How a Secret holds its certificate (a `SecretSource`: PEM under which keys, or PKCS#12 and the
Secret with its password) comes from the spec; `k8s.read_certificate` reads it.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from netscaler_certsync.domain.errors import MaterialError
from netscaler_certsync.domain.material import CertificateMaterial, parse_material
from netscaler_certsync.domain.pkcs12 import open_pkcs12
from netscaler_certsync.k8s import MaterialInputs, SecretError, SecretSource, keys, read_certificate
from netscaler_certsync.reconcile import reasons as k8s_reasons
from netscaler_certsync.reconcile.context import OperatorContext
from netscaler_certsync.reconcile.errors import invalid
from netscaler_certsync.reconcile.specs import SyncSpec


@dataclass(frozen=True)
class SourceCertificate:
    namespace: str
    secret_name: str
    certkey_name: str | None  # fixed by the spec, else rendered from the template
    material: CertificateMaterial | None
    resource_version: str | None = None
    reason: str | None = None  # set when material is None
    message: str = ""


def selector_string(selector: Mapping[str, Any]) -> str:
    """A metav1.LabelSelector as the query string the API server filters by."""
    parts = [f"{k}={v}" for k, v in sorted((selector.get("matchLabels") or {}).items())]
    for expr in selector.get("matchExpressions") or []:
        key, op, values = expr.get("key"), expr.get("operator"), expr.get("values") or []
        if op == "In":
            parts.append(f"{key} in ({','.join(values)})")
        elif op == "NotIn":
            parts.append(f"{key} notin ({','.join(values)})")
        elif op == "Exists":
            parts.append(str(key))
        elif op == "DoesNotExist":
            parts.append(f"!{key}")
        else:
            raise invalid(k8s_reasons.InvalidSpec, f"secretSelector: unknown operator {op!r}")
    if not parts:
        raise invalid(
            k8s_reasons.InvalidSpec, "secretSelector must not be empty (it would select every Secret)"
        )
    return ",".join(parts)


def _material(inputs: MaterialInputs, now: Any) -> CertificateMaterial:
    if inputs.keystore is not None:
        opened = open_pkcs12(inputs.keystore, inputs.password, inputs.names[0])
        return parse_material(
            opened.cert_pem,
            opened.key_pem,
            now=now,
            names=inputs.names,
            passphrase=inputs.password,
            encrypt_key=inputs.encrypt_key,
        )
    return parse_material(
        inputs.cert_pem,
        inputs.key_pem,
        inputs.ca_pem,
        now=now,
        names=inputs.names,
        passphrase=inputs.password,
        encrypt_key=inputs.encrypt_key,
    )


def to_source(
    namespace: str,
    secret_name: str,
    secret: Mapping[str, Any] | None,
    certkey_name: str | None,
    ctx: OperatorContext,
    include_ca_crt: bool = False,
    source: SecretSource | None = None,
    password_secret: Mapping[str, Any] | None = None,
) -> SourceCertificate:
    """One Secret as a certificate; `password_secret` is the Secret `source.password_secret` names."""

    def problem(reason: str, message: str, rv: str | None = None) -> SourceCertificate:
        return SourceCertificate(namespace, secret_name, certkey_name, None, rv, reason, message)

    if secret is None:
        return problem(k8s_reasons.SecretNotFound, f"Secret {namespace}/{secret_name} does not exist")
    rv = (secret.get("metadata") or {}).get("resourceVersion")
    if source is not None and source.password_secret is not None and password_secret is None:
        message = (
            f"Secret {namespace}/{source.password_secret} with the password of "
            f"{namespace}/{secret_name} does not exist"
        )
        return problem(k8s_reasons.SecretNotFound, message, rv)
    try:
        inputs = read_certificate(
            secret, include_ca_crt=include_ca_crt, source=source, password_secret=password_secret
        )
        material = _material(inputs, ctx.clock())
    except SecretError as exc:
        return problem(exc.reason, str(exc), rv)
    except MaterialError as exc:
        return problem(exc.reason, f"Secret {namespace}/{secret_name}: {exc.message}", rv)
    return SourceCertificate(namespace, secret_name, certkey_name, material, rv)


async def _password_secret(
    ctx: OperatorContext, namespace: str, source: SecretSource | None
) -> Mapping[str, Any] | None:
    if source is None or source.password_secret is None:
        return None
    return await ctx.get_secret(namespace, source.password_secret)


async def gather_sources(ctx: OperatorContext, namespace: str, spec: SyncSpec) -> list[SourceCertificate]:
    """The sync's certificates in a stable order: explicit ones first, then selected ones by name."""
    sources: list[SourceCertificate] = []
    seen: set[str] = set()
    for ref in spec.certificates:
        if ref.secret_name in seen:
            continue
        seen.add(ref.secret_name)
        secret = await ctx.get_secret(namespace, ref.secret_name)
        password = await _password_secret(ctx, namespace, ref.source) if secret is not None else None
        sources.append(
            to_source(
                namespace,
                ref.secret_name,
                secret,
                ref.certkey_name,
                ctx,
                spec.include_ca_crt,
                ref.source,
                password,
            )
        )
    if spec.secret_selector is not None:
        wanted = keys.SOURCE_SECRET_TYPES if spec.secret_source is not None else (keys.TLS_SECRET_TYPE,)
        label_selector = selector_string(spec.secret_selector)
        # A declared source reads Opaque Secrets too: list by the labels alone (the selector is
        # the sync's own, so this stays tight); otherwise the server filters on the TLS type.
        selected: Sequence[Mapping[str, Any]] = (
            await ctx.list_secrets(namespace, label_selector, None)
            if spec.secret_source is not None
            else await ctx.list_secrets(namespace, label_selector)
        )
        password = await _password_secret(ctx, namespace, spec.secret_source) if selected else None
        for secret in sorted(selected, key=lambda s: s["metadata"]["name"]):
            name = secret["metadata"]["name"]
            if name in seen or secret.get("type") not in wanted:
                continue
            seen.add(name)
            sources.append(
                to_source(
                    namespace, name, secret, None, ctx, spec.include_ca_crt, spec.secret_source, password
                )
            )
    return sources
