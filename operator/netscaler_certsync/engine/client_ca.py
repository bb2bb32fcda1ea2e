"""Keeping one vserver's client-authentication CAs as asked, make-before-break.

The CAs of a bundle (`domain.client_ca.parse_ca_bundle`) are bound to the vserver with `-CA` (and
the chosen `-crlCheck` / `-ocspCheck`). A change of bundle adds and binds every new CA *before*
unbinding an old one, so a client whose certificate the old or the new bundle trusts is never
refused in between. Ownership: we unbind only CA bindings we created (`owned`, carried in the
sync's records) and delete only CA certkeys whose file this cluster wrote, once nothing binds
or links them (a chain CA of the same fingerprint shares the certkey and keeps it alive). A CA
binding someone else made is never touched, even when its certkey is one we want bound.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from netscaler_certsync.domain import (
    DEFAULT_NAME_LIMIT,
    CertInfo,
    ca_certkey_name,
    ca_file_name,
    file_tag,
    reasons,
    same_serial,
)
from netscaler_certsync.domain.errors import NamingError
from netscaler_certsync.nitro import NitroClient


@dataclass(frozen=True)
class ClientCAResult:
    bound: tuple[str, ...]
    """The asked-for CA certkeys NITRO shows bound to the vserver with `-CA` after the run."""
    owned: frozenset[str]
    """The CA bindings on this vserver that we made: the only ones a later run may remove."""
    added: tuple[str, ...] = ()
    removed: tuple[str, ...] = ()


async def _ensure_certkey(client: NitroClient, ca: CertInfo, cluster: str, limit: int) -> str:
    name = ca_certkey_name(ca.fingerprint, limit)
    existing = await client.get_certkey(name)
    if existing is None:
        filename = ca_file_name(ca.fingerprint, cluster)
        await client.upload_file(filename, ca.pem.encode(), override=True)
        await client.add_certkey(name, filename)
    elif not same_serial(existing.serial, ca.serial):
        raise NamingError(reasons.NameCollision, f"certkey {name} exists and holds another certificate")
    return name


async def _delete_if_unused(client: NitroClient, name: str, cluster: str) -> bool:
    certkey = await client.get_certkey(name)
    tag = file_tag(certkey.cert or "") if certkey is not None else None
    if certkey is None or tag is None or tag.scope is not None or tag.cluster != cluster:
        return False  # not a CA certkey this cluster added: someone else decides about it
    if await client.certkey_vservers(name):
        return False
    if any(link.linked_to == name for link in await client.list_cert_links()):
        return False  # a chain's issuer: the chain sync owns its lifetime
    await client.delete_certkey(name)
    await client.delete_file(certkey.cert.rsplit("/", 1)[-1])  # type: ignore[union-attr]
    return True


async def sync_client_cas(
    client: NitroClient,
    vserver: str,
    cas: Sequence[CertInfo],
    *,
    owned: frozenset[str],
    cluster: str,
    crlcheck: str | None = None,
    ocspcheck: str | None = None,
    name_limit: int = DEFAULT_NAME_LIMIT,
) -> ClientCAResult:
    """Bind exactly `cas` (ours) for client authentication on `vserver`; `cas=()` removes ours."""
    bound_ca = {b.certkey for b in await client.list_bindings(vserver) if b.ca}
    mine = set(owned & bound_ca)  # a binding someone removed is no longer ours to manage
    wanted: list[str] = []
    added: list[str] = []
    for ca in cas:  # make: every new CA is trusted before any old one goes
        name = await _ensure_certkey(client, ca, cluster, name_limit)
        wanted.append(name)
        if name not in bound_ca:
            await client.bind_certkey(vserver, name, ca=True, crlcheck=crlcheck, ocspcheck=ocspcheck)
            bound_ca.add(name)
            mine.add(name)
            added.append(name)
    removed: list[str] = []
    for name in sorted(mine - set(wanted)):  # break: only what we bound and no longer want
        await client.unbind_certkey(vserver, name, ca=True)
        mine.discard(name)
        removed.append(name)
        await _delete_if_unused(client, name, cluster)
    shown = {b.certkey for b in await client.list_bindings(vserver) if b.ca}
    after = tuple(name for name in wanted if name in shown)  # status claims only what NITRO shows
    return ClientCAResult(after, frozenset(mine), tuple(added), tuple(removed))


__all__ = ["ClientCAResult", "sync_client_cas"]
