"""Gather a CertificateSync's certificates from Kubernetes: explicit Secrets and a label selector.

Each selected Secret becomes a `SourceCertificate`: either parsed material ready for the engine,
or a named problem (missing Secret, wrong type, bad PEM...) that is reported for that certificate
alone; one bad Secret never blocks the others.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from netscaler_certsync.domain.errors import MaterialError
from netscaler_certsync.domain.material import CertificateMaterial, parse_material
from netscaler_certsync.k8s import SecretError, keys, read_certificate
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


def to_source(
    namespace: str,
    secret_name: str,
    secret: Mapping[str, Any] | None,
    certkey_name: str | None,
    ctx: OperatorContext,
    include_ca_crt: bool = False,
) -> SourceCertificate:
    def problem(reason: str, message: str, rv: str | None = None) -> SourceCertificate:
        return SourceCertificate(namespace, secret_name, certkey_name, None, rv, reason, message)

    if secret is None:
        return problem(k8s_reasons.SecretNotFound, f"Secret {namespace}/{secret_name} does not exist")
    rv = (secret.get("metadata") or {}).get("resourceVersion")
    try:
        inputs = read_certificate(secret, include_ca_crt=include_ca_crt)
        material = parse_material(inputs.cert_pem, inputs.key_pem, inputs.ca_pem, now=ctx.clock())
    except SecretError as exc:
        return problem(exc.reason, str(exc), rv)
    except MaterialError as exc:
        return problem(exc.reason, f"Secret {namespace}/{secret_name}: {exc.message}", rv)
    return SourceCertificate(namespace, secret_name, certkey_name, material, rv)


async def gather_sources(ctx: OperatorContext, namespace: str, spec: SyncSpec) -> list[SourceCertificate]:
    """The sync's certificates in a stable order: explicit ones first, then selected ones by name."""
    sources: list[SourceCertificate] = []
    seen: set[str] = set()
    for ref in spec.certificates:
        if ref.secret_name in seen:
            continue
        seen.add(ref.secret_name)
        secret = await ctx.get_secret(namespace, ref.secret_name)
        sources.append(
            to_source(namespace, ref.secret_name, secret, ref.certkey_name, ctx, spec.include_ca_crt)
        )
    if spec.secret_selector is not None:
        selected: Sequence[Mapping[str, Any]] = await ctx.list_secrets(
            namespace, selector_string(spec.secret_selector)
        )
        for secret in sorted(selected, key=lambda s: s["metadata"]["name"]):
            name = secret["metadata"]["name"]
            if name in seen or secret.get("type") != keys.TLS_SECRET_TYPE:
                continue
            seen.add(name)
            sources.append(to_source(namespace, name, secret, None, ctx, spec.include_ca_crt))
    return sources
