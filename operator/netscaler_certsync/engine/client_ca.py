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

from collections.abc import Awaitable, Callable, Sequence
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
from netscaler_certsync.domain.errors import DomainError, NamingError
from netscaler_certsync.engine.errors import classify, to_aborted
from netscaler_certsync.engine.model import ClientAuth, ClientAuthResult, ClientCARecord
from netscaler_certsync.nitro import NitroClient
from netscaler_certsync.nitro import errors as ne


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
    on_intent: Callable[[frozenset[str]], Awaitable[None]] | None = None,
) -> ClientCAResult:
    """Bind exactly `cas` (ours) for client authentication on `vserver`; `cas=()` removes ours.

    `on_intent(owned)` is awaited before the first write when this run may bind a CA no record
    names yet, with the bindings that are then ours: a run cut short after a bind leaves that
    binding recorded as ours, not taken for someone else's (as `engine.sync.intent_records`).
    """
    bound_ca = {b.certkey for b in await client.list_bindings(vserver) if b.ca}
    mine = set(owned & bound_ca)  # a binding someone removed is no longer ours to manage
    new = {ca_certkey_name(ca.fingerprint, name_limit) for ca in cas} - bound_ca
    if on_intent is not None and new - set(owned):
        await on_intent(frozenset(set(owned) | new))
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


def _shown(result: ClientCAResult, want: ClientAuth) -> ClientAuthResult:
    changed = bool(result.added or result.removed)
    if not want.cas:
        removed = ", ".join(result.removed)
        message = f"removed client CA(s) {removed}" if removed else "none of ours bound"
        return ClientAuthResult(want.vserver, (), reasons.Removed, message, changed=changed)
    missing = len(want.cas) - len(result.bound)
    if missing:  # NITRO does not show what was bound: status says so, never claims it
        message = f"{missing} of {len(want.cas)} client CA(s) not shown bound after the run"
        return ClientAuthResult(want.vserver, result.bound, reasons.ApplianceError, message, failed=True)
    verb = "bound" if changed else "already bound"
    message = f"{len(result.bound)} client CA(s) {verb} with -CA"
    return ClientAuthResult(want.vserver, result.bound, reasons.Synced, message, changed=changed)


async def sync_client_auth(
    client: NitroClient,
    wants: Sequence[ClientAuth],
    previous: Sequence[ClientCARecord],
    *,
    cluster: str,
    name_limit: int = DEFAULT_NAME_LIMIT,
    on_intent: Callable[[tuple[ClientCARecord, ...]], Awaitable[None]] | None = None,
) -> tuple[tuple[ClientAuthResult, ...], tuple[ClientCARecord, ...]]:
    """Every vserver's client CAs as `wants` asks, and ours removed where nothing asks any more.

    A want with a `problem` changes nothing on its vserver (the CAs bound before stay bound and
    ours). A failure on one vserver is reported for it alone; trouble with the whole appliance
    (transport, login, permissions) aborts. Returns the results and the CA bindings ours now.
    """
    owned: dict[str, frozenset[str]] = {}
    for record in previous:
        owned[record.vserver] = owned.get(record.vserver, frozenset()) | {record.certkey}
    by_vserver = {want.vserver: want for want in wants}
    for vserver in owned.keys() - by_vserver.keys():  # asked no more: ours go
        by_vserver[vserver] = ClientAuth(vserver)
    results: list[ClientAuthResult] = []
    for vserver, want in sorted(by_vserver.items()):
        mine = owned.get(vserver, frozenset())

        async def store(intent: frozenset[str], vserver: str = vserver) -> None:
            owned[vserver] = intent
            if on_intent is not None:
                await on_intent(_records(owned))

        try:
            if want.problem is not None:
                results.append(await _kept(client, want, mine))
                continue
            result = await sync_client_cas(
                client,
                vserver,
                want.cas,
                owned=mine,
                cluster=cluster,
                crlcheck=want.crlcheck,
                ocspcheck=want.ocspcheck,
                name_limit=name_limit,
                on_intent=store,
            )
        except (ne.NitroError, DomainError) as exc:
            if isinstance(exc, ne.NitroError) and classify(exc).aborts:
                raise to_aborted(exc) from exc
            reason = exc.reason if isinstance(exc, DomainError) else classify(exc).reason
            results.append(ClientAuthResult(vserver, (), reason, str(exc), failed=True))
            continue  # what it may have bound stays recorded as ours (the intent)
        owned[vserver] = result.owned
        results.append(_shown(result, want))
    asked = {want.vserver for want in wants}
    shown = tuple(r for r in results if r.vserver in asked or r.changed or r.failed)
    return shown, _records(owned)


async def _kept(client: NitroClient, want: ClientAuth, mine: frozenset[str]) -> ClientAuthResult:
    assert want.problem is not None
    shown = {b.certkey for b in await client.list_bindings(want.vserver) if b.ca}
    still = tuple(sorted(mine & shown))
    kept = f"; the {len(still)} client CA(s) bound before stay bound" if still else ""
    return ClientAuthResult(
        want.vserver, still, want.problem.reason, want.problem.message + kept, failed=True
    )


def _records(owned: dict[str, frozenset[str]]) -> tuple[ClientCARecord, ...]:
    return tuple(sorted(ClientCARecord(vs, name) for vs, names in owned.items() for name in names))


__all__ = ["ClientCAResult", "sync_client_auth", "sync_client_cas"]
