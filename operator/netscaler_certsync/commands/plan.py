"""`netscaler-certsync plan`: what the operator would do on the appliances, without doing it.

Reads manifests (`-f` files or directories of YAML/JSON, as `kubectl apply -f` takes them) with
NetScalerConnections, CertificateSyncs, Secrets and ConfigMaps (client-auth CA bundles), logs in
to each appliance with the connection's own credentials, lists it (reads only) and runs the
operator's own planners (`engine.sync.gather_and_plan`, then `engine.client_ca.plan_client_auth`
for the bindings' `clientAuth`) for every CertificateSync and connection. Prints each operation
(`+` adds, `~` changes, `-` removes) and a summary line `N to add, M to update, K to remove`.
Exit code 0 when nothing would change, 2 when changes are planned (like
`terraform plan -detailed-exitcode`), 1 on an error (one line on stderr).
"""

from __future__ import annotations

import argparse
import asyncio
import base64
import sys
from collections.abc import Awaitable, Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, TextIO

import yaml

from netscaler_certsync.commands import check_connection
from netscaler_certsync.domain import cluster_tag
from netscaler_certsync.engine import Records, SyncOptions
from netscaler_certsync.engine.client_ca import plan_client_auth
from netscaler_certsync.engine.operations import Kind, Operation
from netscaler_certsync.engine.state import Counter
from netscaler_certsync.engine.sync import gather_and_plan
from netscaler_certsync.k8s import keys
from netscaler_certsync.k8s.access import ClusterAccess
from netscaler_certsync.k8s.api import KubeClient
from netscaler_certsync.k8s.errors import ConfigError, KubernetesError, NotFound
from netscaler_certsync.nitro import errors
from netscaler_certsync.reconcile.certificatesync import desired_certificates
from netscaler_certsync.reconcile.client_auth import client_auth_wants
from netscaler_certsync.reconcile.connection import check_connection as primary_of
from netscaler_certsync.reconcile.connection import resolve_target
from netscaler_certsync.reconcile.context import OperatorContext
from netscaler_certsync.reconcile.errors import ReconcileError
from netscaler_certsync.reconcile.identity import KUBE_SYSTEM, ClusterIdentity
from netscaler_certsync.reconcile.sources import gather_sources
from netscaler_certsync.reconcile.specs import parse_connection, parse_sync

EXIT_NO_CHANGES = 0
EXIT_FAILED = 1
EXIT_CHANGES = 2

KINDS = (keys.CONNECTION_KIND, keys.SYNC_KIND, "Secret", "ConfigMap")
_SUFFIXES = (".yaml", ".yml", ".json")
_ADDS = (Kind.UPLOAD, Kind.ADD, Kind.BIND, Kind.LINK)
_REMOVES = (Kind.DELETE, Kind.DELETE_FILE, Kind.UNBIND, Kind.UNLINK)


class ManifestError(Exception):
    """A manifest that cannot be read or holds what `plan` does not know."""


def register(subparsers: Any) -> None:
    parser = subparsers.add_parser(
        "plan",
        help="show what the operator would change on the appliances for these manifests "
        "(read-only; exit 2 on changes)",
        description=__doc__.split("\n\n")[0] if __doc__ else None,
        epilog="Exit codes: 0 nothing would change, 2 changes are planned, 1 error. It never writes: "
        "the appliance is only listed, with the connection's own credentials.",
    )
    source = parser.add_mutually_exclusive_group(required=True)
    source.add_argument(
        "-f", "--filename", action="append", metavar="PATH",
        help="manifest file or directory (repeatable): NetScalerConnection, CertificateSync, Secret",
    )  # fmt: skip
    source.add_argument(
        "--from-cluster", action="store_true",
        help="plan the CertificateSyncs in the cluster of the current kubeconfig context ($KUBECONFIG)",
    )  # fmt: skip
    parser.add_argument("-n", "--namespace", help="with --from-cluster: only this namespace")
    parser.add_argument(
        "--cluster-id",
        help="the operator's cluster identity (its --cluster-id, or the kube-system Namespace UID; "
        "required with -f, read from the cluster with --from-cluster): what it owns on the "
        "appliance is told by this tag",
    )  # fmt: skip
    parser.set_defaults(handler=run)


def _files(path: Path) -> list[Path]:
    if path.is_dir():
        return sorted(p for p in path.iterdir() if p.suffix in _SUFFIXES and p.is_file())
    return [path]


def load(paths: Iterable[str]) -> list[dict[str, Any]]:
    """Every object in the manifests, in order; ManifestError names the file and what is wrong."""
    objects: list[dict[str, Any]] = []
    for given in paths:
        for path in _files(Path(given)):
            try:
                docs = list(yaml.safe_load_all(path.read_text(encoding="utf-8")))
            except OSError as exc:
                raise ManifestError(f"cannot read {path}: {exc.strerror or exc}") from None
            except (yaml.YAMLError, UnicodeDecodeError) as exc:
                raise ManifestError(f"{path}: not YAML or JSON ({str(exc).splitlines()[0]})") from None
            for doc in docs:
                if doc is None:
                    continue
                kind = doc.get("kind") if isinstance(doc, dict) else None
                if kind not in KINDS:
                    raise ManifestError(f"{path}: unsupported kind {kind!r} (plan reads {', '.join(KINDS)})")
                objects.append(doc)
    return objects


def _secret_data(secret: Mapping[str, Any]) -> dict[str, Any]:
    """A Secret as the API server returns it: `stringData` folded into base64 `data`."""
    data = dict(secret.get("data") or {})
    for key, value in (secret.get("stringData") or {}).items():
        data[key] = base64.b64encode(str(value).encode()).decode()
    return {k: v for k, v in secret.items() if k != "stringData"} | {"data": data}


def _key(obj: Mapping[str, Any]) -> tuple[str, str, str]:
    meta = obj.get("metadata") or {}
    return obj["kind"], meta.get("namespace") or "default", meta.get("name") or ""


@dataclass
class Summary:
    add: int = 0
    update: int = 0
    remove: int = 0
    lines: list[str] = field(default_factory=list)

    def count(self, ops: Sequence[Operation]) -> None:
        """Certkeys added, removed and otherwise changed; their files count with them. Files
        alone (a clean-up of leftover files, no certkey touched) count as removed one by one."""
        certkey_ops = [op for op in ops if op.kind not in (Kind.UPLOAD, Kind.DELETE_FILE)]
        added = {op.name for op in certkey_ops if op.kind is Kind.ADD}
        deleted = {op.name for op in certkey_ops if op.kind is Kind.DELETE}
        self.add += len(added)
        self.remove += len(deleted)
        self.update += len({op.name for op in certkey_ops} - added - deleted)
        if not certkey_ops:
            self.remove += sum(1 for op in ops if op.kind is Kind.DELETE_FILE)

    @property
    def text(self) -> str:
        return f"{self.add} to add, {self.update} to update, {self.remove} to remove"


def _sign(op: Operation) -> str:
    if op.kind is Kind.CHANGE:
        return "~"
    return "-" if op.kind in _REMOVES else "+"


@dataclass(frozen=True)
class Objects:
    """Where `plan_all` finds the objects: in manifests or in the cluster."""

    syncs: Sequence[Mapping[str, Any]]
    get_connection: Callable[[str, str], Awaitable[Mapping[str, Any] | None]]
    get_secret: Callable[[str, str], Awaitable[Mapping[str, Any] | None]]
    list_secrets: Callable[..., Awaitable[Sequence[Mapping[str, Any]]]]
    get_configmap: Callable[[str, str], Awaitable[Mapping[str, Any] | None]]


def from_manifests(objects: Sequence[dict[str, Any]]) -> Objects:
    by_key = {_key(o): o for o in objects}

    async def get_connection(namespace: str, name: str) -> Mapping[str, Any] | None:
        return by_key.get((keys.CONNECTION_KIND, namespace, name))

    async def get_secret(namespace: str, name: str) -> Mapping[str, Any] | None:
        found = by_key.get(("Secret", namespace, name))
        return _secret_data(found) if found else None

    async def list_secrets(namespace: str, selector: str, *_: Any) -> list[Mapping[str, Any]]:
        wanted = dict(part.split("=", 1) for part in selector.split(",") if "=" in part)
        return [
            _secret_data(o)
            for (kind, ns, _n), o in by_key.items()
            if kind == "Secret" and ns == namespace
            and all((o["metadata"].get("labels") or {}).get(k) == v for k, v in wanted.items())
        ]  # fmt: skip

    async def get_configmap(namespace: str, name: str) -> Mapping[str, Any] | None:
        return by_key.get(("ConfigMap", namespace, name))

    syncs = [o for k, o in by_key.items() if k[0] == keys.SYNC_KIND]
    return Objects(syncs, get_connection, get_secret, list_secrets, get_configmap)


async def plan_all(found: Objects, cluster_id: str) -> Summary:
    get_secret = found.get_secret
    ctx = OperatorContext(
        get_secret=get_secret,
        list_secrets=found.list_secrets,
        cluster=ClusterIdentity(cluster_id, "flag"),
        get_configmap=found.get_configmap,
    )
    summary = Summary()
    for obj in found.syncs:
        _, namespace, name = _key(obj)
        spec = parse_sync(obj.get("spec") or {})
        desired = desired_certificates(namespace, spec, await gather_sources(ctx, namespace, spec))
        for d in desired:
            if d.problem is not None:  # kept out of the plan as the operator keeps it out
                summary.lines.append(f"! {namespace}/{name}: {d.id}: {d.problem}")
        client_auth = await client_auth_wants(ctx, namespace, spec)
        for want in client_auth:
            if want.problem is not None:  # its vserver's CAs are left alone, as the operator leaves them
                summary.lines.append(f"! {namespace}/{name}: clientAuth of {want.vserver}: {want.problem}")
        for connection in spec.connections:
            conn = await found.get_connection(namespace, connection)
            if conn is None:
                raise ManifestError(
                    f"CertificateSync {namespace}/{name}: NetScalerConnection {connection} is not found"
                )
            target = await resolve_target(
                namespace, connection, parse_connection(conn.get("spec") or {}), get_secret
            )
            endpoint = target.endpoints[0]
            if len(target.endpoints) > 1:
                endpoint = (await primary_of(target)).primary_endpoint
            options = SyncOptions(
                owner=f"{namespace}/{name}", cluster=cluster_id, preserve_on_renewal=spec.preserve_on_renewal,
                remove_inactive=spec.remove_inactive, link_chain=spec.link_chain, dry_run=True,
                name_limit=spec.name_max_length,
            )  # fmt: skip
            previous = _records(obj.get("status") or {}, connection)
            async with target.client(endpoint, max_concurrency=2) as client:
                _, planned = await gather_and_plan(
                    client, desired, previous, options, Counter(), scan_files=True
                )
                ops = list(planned.operations)
                if client_auth or previous.client_cas:  # after the certificates, as the operator runs it
                    adding = frozenset(op.name for op in ops if op.kind is Kind.ADD and op.key is None)
                    ca_ops, _ = await plan_client_auth(
                        client, client_auth, previous.client_cas, cluster=cluster_tag(cluster_id),
                        name_limit=spec.name_max_length, adding=adding,
                    )  # fmt: skip
                    ops += ca_ops
            summary.lines.append(f"CertificateSync {namespace}/{name} -> {connection} ({endpoint}):")
            summary.lines += [f"  {_sign(op)} {op.describe()}" for op in ops] or ["  (no changes)"]
            summary.count(ops)
    return summary


async def _plan_cluster(args: argparse.Namespace) -> Summary:
    """The CertificateSyncs of the cluster (reads only), with their own status records."""
    async with KubeClient(ClusterAccess.from_kubeconfig()) as kube:
        cluster_id = args.cluster_id or await kube.namespace_uid(KUBE_SYSTEM)

        async def get_connection(namespace: str, name: str) -> Mapping[str, Any] | None:
            try:
                return await kube.get_object(
                    keys.GROUP, keys.VERSION, keys.CONNECTION_PLURAL, namespace, name
                )
            except NotFound:
                return None

        async def get_secret(namespace: str, name: str) -> Mapping[str, Any] | None:
            try:
                return await kube.get_secret(namespace, name)
            except NotFound:
                return None

        async def list_secrets(
            namespace: str, selector: str, field: str | None = keys.TLS_TYPE_FIELD_SELECTOR
        ) -> Sequence[Mapping[str, Any]]:
            return (await kube.list_secrets(namespace, selector, field)).items

        async def get_configmap(namespace: str, name: str) -> Mapping[str, Any] | None:
            try:
                return await kube.get_configmap(namespace, name)
            except NotFound:
                return None

        syncs = await kube.list_objects(keys.GROUP, keys.VERSION, keys.SYNC_PLURAL, args.namespace)
        found = Objects(syncs, get_connection, get_secret, list_secrets, get_configmap)
        return await plan_all(found, cluster_id)


def _records(status: Mapping[str, Any], connection: str) -> Records:
    for entry in status.get("connections") or ():
        if entry.get("name") == connection:
            return Records.from_dict(entry.get("records"))
    return Records()


def run(args: argparse.Namespace, out: TextIO | None = None, err: TextIO | None = None) -> int:
    out = out or sys.stdout
    err = err or sys.stderr
    try:
        if args.from_cluster:
            summary = asyncio.run(_plan_cluster(args))
        else:
            if not args.cluster_id:
                raise ManifestError("--cluster-id is required with -f (the operator's cluster identity)")
            objects = load(args.filename)
            if not any(o["kind"] == keys.SYNC_KIND for o in objects):
                raise ManifestError("no CertificateSync in the manifests: nothing to plan")
            summary = asyncio.run(plan_all(from_manifests(objects), args.cluster_id))
    except ManifestError as exc:
        print(f"error: {exc}", file=err)
        return EXIT_FAILED
    except errors.NitroError as exc:
        print(f"error: {check_connection.describe(exc)}", file=err)
        return EXIT_FAILED
    except ReconcileError as exc:
        print(f"error: {exc.message}", file=err)
        return EXIT_FAILED
    except (KubernetesError, ConfigError) as exc:
        print(f"error: Kubernetes: {exc}", file=err)
        return EXIT_FAILED
    for line in summary.lines:
        print(line, file=out)
    print(f"Plan: {summary.text}.", file=out)
    return EXIT_CHANGES if summary.add + summary.update + summary.remove else EXIT_NO_CHANGES


__all__ = ["load", "plan_all", "register", "run"]
