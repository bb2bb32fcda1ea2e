"""Planning CA certificates: reuse or install each intermediate once, and link every level.

A CA is found on the appliance under our fingerprint name (added by any cluster), or — NetScaler
refuses to load the same certificate twice — under anyone's name with the same serial and
subject; only when absent is `cs-ca-<cluster>-<fp>.crt` uploaded and `csca-<fp>` added. Issuers
are installed before the certificates they issue, and only *our* CA certkeys are (re)linked:
another cluster's and hand-made ones keep their links.
"""

from __future__ import annotations

from collections.abc import Sequence

from netscaler_certsync.domain import CertInfo, ca_certkey_name, ca_file_name, file_tag, same_serial
from netscaler_certsync.engine.model import DesiredCertificate
from netscaler_certsync.engine.operations import Group, Kind, Operation
from netscaler_certsync.engine.plan_types import PlanContext
from netscaler_certsync.nitro import CertKey


def _norm_dn(dn: str | None) -> frozenset[str]:
    """A distinguished name as a set of `k=v` parts (NetScaler and RFC 4514 order them differently)."""
    return frozenset(p.strip().replace(" = ", "=") for p in (dn or "").split(",") if p.strip())


def _same_certificate(ck: CertKey, ca: CertInfo) -> bool:
    """Whether a certkey NITRO shows is `ca`: serial, subject, issuer and validity all agree.

    NetScaler refuses a second certificate with the same serial from the same issuer (CTX206045),
    but serial and names alone do not make it *our* certificate: a re-signed CA keeps them.
    """
    return (
        same_serial(ck.serial, ca.serial)
        and bool(ck.subject)
        and _norm_dn(ck.subject) == _norm_dn(ca.subject)
        and (not ck.issuer or _norm_dn(ck.issuer) == _norm_dn(ca.issuer))
        and (ck.not_before is None or ck.not_before == ca.not_before)
        and (ck.not_after is None or ck.not_after == ca.not_after)
    )


def find_ca(ctx: PlanContext, ca: CertInfo) -> tuple[str, bool] | None:
    """(name, exists) for a CA certificate, or None when its name is taken by something else."""
    name = ca_certkey_name(ca.fingerprint, ctx.options.name_limit)
    ck = ctx.state.certkeys.get(name)
    if ck is not None:
        tag = file_tag(ctx.state.cert_file(name) or "")
        same = tag is not None and tag.fingerprint == ca.fingerprint[:40]
        same = same or same_serial(ck.serial, ca.serial)
        return (name, True) if same else None
    for other in ctx.state.certkeys.values():
        if other.key is None and _same_certificate(other, ca):
            return other.name, True
    return name, False


def _depth(fp: str, chains: dict[str, tuple[CertInfo, CertInfo | None]]) -> int:
    """How many issuers above `fp` are in the chains (0 for the top-most)."""
    depth, seen = 0, set()
    while fp in chains and fp not in seen:
        seen.add(fp)
        parent = chains[fp][1]
        if parent is None:
            break
        fp, depth = parent.fingerprint, depth + 1
    return depth


def plan_cas(ctx: PlanContext, active: Sequence[DesiredCertificate]) -> None:
    chains: dict[str, tuple[CertInfo, CertInfo | None]] = {}
    for d in active:
        assert d.material is not None
        chain = d.material.chain
        for i, ca in enumerate(chain):
            chains.setdefault(ca.fingerprint, (ca, chain[i + 1] if i + 1 < len(chain) else None))
    order = sorted(chains, key=lambda fp: _depth(fp, chains))  # issuers first
    for fp in order:
        ca, _ = chains[fp]
        found = find_ca(ctx, ca)
        if found is None:
            ctx.ca_failed[fp] = (
                f"CA certkey name {ca_certkey_name(fp, ctx.options.name_limit)} is taken by another "
                "certificate not created by this operator"
            )
            continue
        name, exists = found
        ctx.ca_names[fp] = name
        if not exists:
            group = Group.ca(fp)
            file = ca_file_name(fp, ctx.cluster)
            ctx.new_files.add(file)
            if not ctx.has_file(file):
                ctx.ops.append(Operation(Kind.UPLOAD, group, file, content=ca.pem.encode(), cert=file))
            ctx.ops.append(Operation(Kind.ADD, group, name, cert=file, ca_fp=fp))
    for fp in order:
        ca, parent = chains[fp]
        name = ctx.ca_names.get(fp)
        if name is None or parent is None or parent.fingerprint not in ctx.ca_names:
            continue
        new = name not in ctx.state.certkeys
        if not new and not ctx.owned_ca(name):
            continue  # someone else's CA certkey: its links are theirs
        target = ctx.ca_names[parent.fingerprint]
        current = None if new else ctx.state.certkeys[name].linked_to
        if current == target:
            continue
        group, needs = Group.ca(fp), (Group.ca(parent.fingerprint),)
        if current:
            ctx.ops.append(Operation(Kind.UNLINK, group, name, needs=needs))
        ctx.ops.append(
            Operation(Kind.LINK, group, name, needs=needs, link_to=target, link_to_fp=parent.fingerprint)
        )


def link_ops(
    ctx: PlanContext, d: DesiredCertificate, name: str, *, new: bool
) -> tuple[list[Operation], list[Operation]]:
    """(before-change, after-change) operations that make leaf `name` link to its issuer.

    Unlinking before an update whose issuer changed, and linking after it, keeps NetScaler from
    refusing the update for a link that no longer fits (1587/1590/1591).
    """
    assert d.material is not None
    if not ctx.options.link_chain:
        return [], []
    chain = d.material.chain
    target = ctx.ca_names.get(chain[0].fingerprint) if chain else None
    current = None if new else ctx.state.certkeys[name].linked_to
    if current == target:
        return [], []
    group = Group.cert(d.id)
    before = [Operation(Kind.UNLINK, group, name)] if current else []
    after = (
        [Operation(Kind.LINK, group, name, link_to=target, link_to_fp=chain[0].fingerprint)] if target else []
    )
    return before, after
