"""Read the client-authentication CA bundles a CertificateSync's bindings name (`clientAuth`).

One reader for both sources: a key of a Secret (`k8s.read_key`, any Secret type) or of a
ConfigMap (`k8s.read_configmap_key`: trust-manager writes a `Bundle` there). The PEM is parsed by
`domain.client_ca.parse_ca_bundle`. A bundle that cannot be used becomes a `ClientAuth` with a
`problem` (ConfigMapNotFound, SecretNotFound, MissingData, InvalidPEM, ChainInvalid): the engine
then changes nothing on that vserver, and the status and a Warning Event name the reason.
Each bundle is read once per reconcile, however many bindings name it.
"""

from __future__ import annotations

from netscaler_certsync.domain import CertInfo, DomainError
from netscaler_certsync.domain.client_ca import parse_ca_bundle
from netscaler_certsync.domain.errors import MaterialError
from netscaler_certsync.engine import ClientAuth
from netscaler_certsync.k8s import ConfigMapError, SecretError, read_configmap_key, read_key
from netscaler_certsync.reconcile import reasons as k8s_reasons
from netscaler_certsync.reconcile.context import OperatorContext
from netscaler_certsync.reconcile.specs import BundleRef, SyncSpec


async def _bundle(ctx: OperatorContext, namespace: str, ref: BundleRef) -> bytes:
    """The bundle's bytes, or a `DomainError` naming why there are none."""
    where = f"{ref.kind} {namespace}/{ref.name}"
    try:
        if ref.kind == "ConfigMap":
            found = await ctx.get_configmap(namespace, ref.name)
            if found is None:
                raise DomainError(k8s_reasons.ConfigMapNotFound, f"{where} (client CA bundle) does not exist")
            return read_configmap_key(found, ref.key)
        secret = await ctx.get_secret(namespace, ref.name)
        if secret is None:
            raise DomainError(k8s_reasons.SecretNotFound, f"{where} (client CA bundle) does not exist")
        return read_key(secret, ref.key)
    except (ConfigMapError, SecretError) as exc:
        raise DomainError(exc.reason, str(exc)) from exc


async def client_auth_wants(ctx: OperatorContext, namespace: str, spec: SyncSpec) -> tuple[ClientAuth, ...]:
    """Per binding with `clientAuth`, the CAs its vserver should trust (or why it cannot be told)."""
    read: dict[BundleRef, tuple[CertInfo, ...] | DomainError] = {}
    wants = []
    for binding in spec.bindings:
        auth = binding.client_auth
        if auth is None:
            continue
        ref = auth.ca_from
        if ref not in read:
            what = f"{ref.kind} {namespace}/{ref.name} key {ref.key!r}"
            try:
                read[ref] = parse_ca_bundle(await _bundle(ctx, namespace, ref), what)
            except MaterialError as exc:
                read[ref] = DomainError(exc.reason, exc.message)
            except DomainError as exc:
                read[ref] = exc
        got = read[ref]
        if isinstance(got, DomainError):
            wants.append(ClientAuth(binding.vserver, problem=got))
        else:
            wants.append(ClientAuth(binding.vserver, got, auth.crl_check, auth.ocsp_check))
    return tuple(wants)
