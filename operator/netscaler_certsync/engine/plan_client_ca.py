"""Planning one vserver's client-authentication CAs: what NITRO shows, and the writes that make it as asked.

One planner for the apply (`engine/client_ca.py` runs its operations) and the preview (a dry
run, `netscaler-certsync plan`): `read_vserver` lists what the decision needs (reads only) and
`plan_vserver` decides without I/O. The operations, in order:

1. make: each CA of the bundle missing on the appliance is uploaded and added, and every CA not
   bound yet is bound with `-CA` and the asked checks: new trust exists before old trust goes;
2. checks: a CA binding of ours whose `-crlCheck` / `-ocspCheck` NITRO shows other than asked is
   unbound and bound again with them, one CA at a time, while every other CA stays bound. NITRO
   has no update of a binding (the reference page documents add, delete and get only; Terraform's
   `citrixadc_sslvserver_sslcertkey_binding` has no Update and forces a new binding when
   `crlcheck` or `ocspcheck` change), and a second bind of the same binding is refused (273);
3. break: CA bindings of ours the bundle no longer names are unbound, and their CA certkey (file
   written by this cluster, bound and linked by nothing else) deleted with its file.

Only bindings in `owned` (made by us, carried in records) are ever unbound, for a change of checks
as for a removal: a CA someone else bound keeps its binding and its checks.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field

from netscaler_certsync.domain import (
    CertInfo,
    ca_certkey_name,
    ca_file_name,
    file_tag,
    reasons,
    same_serial,
)
from netscaler_certsync.domain.errors import NamingError
from netscaler_certsync.engine.model import BoundCA
from netscaler_certsync.engine.operations import Group, Kind, Operation
from netscaler_certsync.nitro import CertBinding, CertKey, NitroClient


@dataclass(frozen=True)
class CAView:
    """What NITRO shows that one vserver's client-CA plan depends on."""

    vserver: str
    bound: Mapping[str, CertBinding]
    """The vserver's `-CA` bindings, by certkey."""
    certkeys: Mapping[str, CertKey | None]
    """The bundle's CA certkeys and those of ours that may go (None: not on the appliance)."""
    users: Mapping[str, frozenset[str]] = field(default_factory=dict)
    """CA certkeys of ours that may go: the vservers they are bound to."""
    linked: frozenset[str] = frozenset()
    """Certkeys some certificate links to (read only when a CA certkey of ours may go)."""


@dataclass
class Preview:
    """A preview's running account of what the plans of earlier vservers in the same run would
    have written: nothing is applied in between, so the reads of later vservers do not show it."""

    added: set[str] = field(default_factory=set)
    unbound: set[tuple[str, str]] = field(default_factory=set)
    """(certkey, vserver)"""


@dataclass(frozen=True)
class VServerPlan:
    vserver: str
    operations: tuple[Operation, ...]
    wanted: tuple[str, ...]
    """The bundle's CA certkey names, in the bundle's order."""
    owned: frozenset[str]
    """Ours now: `owned` that NITRO still shows bound (a binding someone removed is not ours)."""
    added: tuple[str, ...]
    """CA certkeys this plan binds."""
    rebound: tuple[str, ...]
    """Bindings of ours unbound and bound again with the asked checks."""
    removed: tuple[str, ...]
    """Bindings of ours unbound."""
    foreign: tuple[str, ...]
    """CAs of the bundle bound by someone else with other checks: left as they are."""

    @property
    def intent(self) -> frozenset[str]:
        """What may be ours however the operations end: to record before the first write."""
        return self.owned | set(self.added)


def as_asked(binding: CertBinding, crlcheck: str | None, ocspcheck: str | None) -> bool:
    """The checks NITRO shows are those asked; a check not asked for is not compared (left as
    the binding has it: NITRO's default, or what someone set)."""
    return all(
        asked is None or (shown or "").lower() == asked.lower()
        for asked, shown in ((crlcheck, binding.crlcheck), (ocspcheck, binding.ocspcheck))
    )


def shown_checks(bound: Mapping[str, CertBinding], names: Sequence[str]) -> tuple[BoundCA, ...]:
    return tuple(BoundCA(n, bound[n].crlcheck, bound[n].ocspcheck) for n in names if n in bound)


async def read_vserver(
    client: NitroClient, vserver: str, cas: Sequence[CertInfo], owned: frozenset[str], name_limit: int
) -> CAView:
    """Everything `plan_vserver` needs for `vserver`; reads only."""
    bound = {b.certkey: b for b in await client.list_bindings(vserver) if b.ca}
    wanted = [ca_certkey_name(ca.fingerprint, name_limit) for ca in cas]
    going = sorted((owned & bound.keys()) - set(wanted))
    certkeys = {name: await client.get_certkey(name) for name in [*wanted, *going]}
    users = {name: frozenset(await client.certkey_vservers(name)) for name in going if certkeys[name]}
    linked: frozenset[str] = frozenset()
    if users:
        linked = frozenset(link.linked_to for link in await client.list_cert_links() if link.linked_to)
    return CAView(vserver, bound, certkeys, users, linked)


def _deletable(view: CAView, name: str, cluster: str, preview: Preview) -> bool:
    """A CA certkey this cluster added that nothing binds or links once this vserver lets go."""
    certkey = view.certkeys.get(name)
    tag = file_tag(certkey.cert or "") if certkey is not None else None
    if certkey is None or tag is None or tag.scope is not None or tag.cluster != cluster:
        return False  # not a CA certkey this cluster added: someone else decides about it
    released = {vs for ck, vs in preview.unbound if ck == name} | {view.vserver}
    if view.users.get(name, frozenset()) - released:
        return False
    return name not in view.linked  # a chain's issuer: the chain sync owns its lifetime


def plan_vserver(
    view: CAView,
    cas: Sequence[CertInfo],
    owned: frozenset[str],
    *,
    cluster: str,
    crlcheck: str | None,
    ocspcheck: str | None,
    name_limit: int,
    preview: Preview | None = None,
) -> VServerPlan:
    """The operations that bind exactly `cas` (ours) on the vserver with the asked checks; `cas=()`
    removes ours. A certkey holding another certificate under a CA's name raises NamingError."""
    preview = preview if preview is not None else Preview()
    vs, group = view.vserver, Group.client_ca(view.vserver)

    def bind(name: str) -> Operation:
        return Operation(Kind.BIND, group, name, vserver=vs, ca=True, crlcheck=crlcheck, ocspcheck=ocspcheck)

    def unbind(name: str) -> Operation:
        return Operation(Kind.UNBIND, group, name, vserver=vs, ca=True)

    mine = owned & view.bound.keys()
    ops: list[Operation] = []
    wanted: list[str] = []
    added: list[str] = []
    for ca in cas:  # make
        name = ca_certkey_name(ca.fingerprint, name_limit)
        wanted.append(name)
        existing = view.certkeys.get(name)
        if existing is not None and not same_serial(existing.serial, ca.serial):
            raise NamingError(reasons.NameCollision, f"certkey {name} exists and holds another certificate")
        if existing is None and name not in preview.added:
            filename = ca_file_name(ca.fingerprint, cluster)
            ops.append(Operation(Kind.UPLOAD, group, filename, content=ca.pem.encode()))
            ops.append(Operation(Kind.ADD, group, name, cert=filename, ca_fp=ca.fingerprint))
            preview.added.add(name)
        if name not in view.bound:
            ops.append(bind(name))
            added.append(name)
    rebound: list[str] = []
    foreign: list[str] = []
    for name in wanted:  # checks: one CA at a time, every other one bound meanwhile
        binding = view.bound.get(name)
        if binding is None or as_asked(binding, crlcheck, ocspcheck):
            continue
        if name in mine:
            ops += [unbind(name), bind(name)]
            rebound.append(name)
        else:
            foreign.append(name)
    removed = sorted(mine - set(wanted))
    for name in removed:  # break: only what we bound and no longer want
        ops.append(unbind(name))
        preview.unbound.add((name, vs))
        certkey = view.certkeys.get(name)
        if certkey is not None and certkey.cert and _deletable(view, name, cluster, preview):
            ops.append(Operation(Kind.DELETE, group, name))
            ops.append(Operation(Kind.DELETE_FILE, group, certkey.cert.rsplit("/", 1)[-1]))
    return VServerPlan(
        vs,
        tuple(ops),
        tuple(wanted),
        frozenset(mine),
        tuple(added),
        tuple(rebound),
        tuple(removed),
        tuple(foreign),
    )


__all__ = ["CAView", "Preview", "VServerPlan", "as_asked", "plan_vserver", "read_vserver", "shown_checks"]
