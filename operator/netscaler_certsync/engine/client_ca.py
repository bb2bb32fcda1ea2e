"""Keeping one vserver's client-authentication CAs as asked, make-before-break, and previewing it.

The CAs of a bundle (`domain.client_ca.parse_ca_bundle`) are bound to the vserver with `-CA` (and
the chosen `-crlCheck` / `-ocspCheck`). What to write is decided by one planner,
`engine/plan_client_ca.py`, for the apply (`sync_client_auth`, which runs the operations) and the
preview (`plan_client_auth`, a dry run and `netscaler-certsync plan`: reads only). A change of
bundle adds and binds every new CA *before* unbinding an old one; a change of checks rebinds one
CA of ours at a time. Ownership: we unbind only CA bindings we created (`owned`, carried in the
sync's records) and delete only CA certkeys whose file this cluster wrote, once nothing binds or
links them. A CA binding someone else made is never touched, even when its certkey is one we want.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass

from netscaler_certsync.domain import DEFAULT_NAME_LIMIT, CertInfo, reasons
from netscaler_certsync.domain.errors import DomainError
from netscaler_certsync.engine.errors import classify, to_aborted
from netscaler_certsync.engine.model import BoundCA, ClientAuth, ClientAuthResult, ClientCARecord
from netscaler_certsync.engine.operations import Kind, Operation
from netscaler_certsync.engine.plan_client_ca import (
    Preview,
    VServerPlan,
    as_asked,
    plan_vserver,
    read_vserver,
    shown_checks,
)
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
    rebound: tuple[str, ...] = ()
    """Bindings of ours bound again because their checks were not those asked."""
    checks: tuple[BoundCA, ...] = ()
    """The checks NITRO shows on each CA of `bound` after the run."""
    unmet: tuple[str, ...] = ()
    """CAs of `bound` whose checks NITRO shows other than asked after the run (someone else's)."""


async def _run(client: NitroClient, op: Operation) -> None:
    """One operation of a client-CA plan, as NITRO takes it."""
    if op.kind is Kind.UPLOAD:
        await client.upload_file(op.name, op.content or b"", override=True)
    elif op.kind is Kind.ADD:
        await client.add_certkey(op.name, op.cert or "")
    elif op.kind is Kind.BIND:
        await client.bind_certkey(
            op.vserver or "", op.name, ca=True, crlcheck=op.crlcheck, ocspcheck=op.ocspcheck
        )
    elif op.kind is Kind.UNBIND:
        await client.unbind_certkey(op.vserver or "", op.name, ca=True)
    elif op.kind is Kind.DELETE:
        await client.delete_certkey(op.name)
    elif op.kind is Kind.DELETE_FILE:
        await client.delete_file(op.name)
    else:  # pragma: no cover - the planner makes no other kind
        raise AssertionError(f"not a client-CA operation: {op.kind}")


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
    view = await read_vserver(client, vserver, cas, owned, name_limit)
    p: VServerPlan = plan_vserver(
        view, cas, owned, cluster=cluster, crlcheck=crlcheck, ocspcheck=ocspcheck, name_limit=name_limit
    )
    if on_intent is not None and set(p.added) - owned:
        await on_intent(p.intent)
    for op in p.operations:
        await _run(client, op)
    shown = {b.certkey: b for b in await client.list_bindings(vserver) if b.ca}
    after = tuple(name for name in p.wanted if name in shown)  # status claims only what NITRO shows
    unmet = tuple(n for n in after if not as_asked(shown[n], crlcheck, ocspcheck))
    return ClientCAResult(
        after,
        (p.owned | set(p.added)) - set(p.removed),
        p.added,
        tuple(p.removed),
        p.rebound,
        shown_checks(shown, after),
        unmet,
    )


def _checks_text(checks: Sequence[BoundCA]) -> str:
    def one(c: BoundCA) -> str:
        return f"{c.certkey} (crlCheck {c.crlcheck or 'not set'}, ocspCheck {c.ocspcheck or 'not set'})"

    return ", ".join(one(c) for c in checks)


def _shown(result: ClientCAResult, want: ClientAuth) -> ClientAuthResult:
    changed = bool(result.added or result.removed or result.rebound)
    if not want.cas:
        removed = ", ".join(result.removed)
        message = f"removed client CA(s) {removed}" if removed else "none of ours bound"
        return ClientAuthResult(want.vserver, (), reasons.Removed, message, changed=changed)
    missing = len(want.cas) - len(result.bound)
    if missing:  # NITRO does not show what was bound: status says so, never claims it
        message = f"{missing} of {len(want.cas)} client CA(s) not shown bound after the run"
        return ClientAuthResult(
            want.vserver, result.bound, reasons.ApplianceError, message, failed=True, checks=result.checks
        )
    verb = "bound" if result.added or result.removed else "already bound"
    message = f"{len(result.bound)} client CA(s) {verb} with -CA"
    if result.rebound:
        message += f"; {len(result.rebound)} bound again with the asked checks"
    ours = [c for c in result.checks if c.certkey in result.unmet and c.certkey in result.owned]
    if ours:  # bound again and NITRO still shows other checks: said, never claimed
        message = f"NITRO shows other checks than asked after binding {_checks_text(ours)}"
        return ClientAuthResult(
            want.vserver, result.bound, reasons.ApplianceError, message, failed=True, checks=result.checks
        )
    theirs = [c for c in result.checks if c.certkey in result.unmet]
    if theirs:  # bound by someone else with other checks: theirs, never rebound; status says so
        message += f"; not bound by this operator, kept with other checks: {_checks_text(theirs)}"
    return ClientAuthResult(
        want.vserver, result.bound, reasons.Synced, message, changed=changed, checks=result.checks
    )


def _by_vserver(
    wants: Sequence[ClientAuth], previous: Sequence[ClientCARecord]
) -> tuple[dict[str, ClientAuth], dict[str, frozenset[str]]]:
    """Each vserver to keep (`wants`, and those of ours nothing asks for any more: emptied) and
    the CA bindings the records say are ours there."""
    owned: dict[str, frozenset[str]] = {}
    for record in previous:
        owned[record.vserver] = owned.get(record.vserver, frozenset()) | {record.certkey}
    by_vserver = {want.vserver: want for want in wants}
    for vserver in owned.keys() - by_vserver.keys():  # asked no more: ours go
        by_vserver[vserver] = ClientAuth(vserver)
    return dict(sorted(by_vserver.items())), owned


def _failed(vserver: str, exc: ne.NitroError | DomainError) -> ClientAuthResult:
    """One vserver's failure; trouble with the whole appliance (transport, login, permissions) aborts."""
    if isinstance(exc, ne.NitroError) and classify(exc).aborts:
        raise to_aborted(exc) from exc
    reason = exc.reason if isinstance(exc, DomainError) else classify(exc).reason
    return ClientAuthResult(vserver, (), reason, str(exc), failed=True)


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
    by_vserver, owned = _by_vserver(wants, previous)
    results: list[ClientAuthResult] = []
    for vserver, want in by_vserver.items():
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
            results.append(_failed(vserver, exc))
            continue  # what it may have bound stays recorded as ours (the intent)
        owned[vserver] = result.owned
        results.append(_shown(result, want))
    asked = {want.vserver for want in wants}
    shown = tuple(r for r in results if r.vserver in asked or r.changed or r.failed)
    return shown, _records(owned)


async def plan_client_auth(
    client: NitroClient,
    wants: Sequence[ClientAuth],
    previous: Sequence[ClientCARecord],
    *,
    cluster: str,
    name_limit: int = DEFAULT_NAME_LIMIT,
    adding: frozenset[str] = frozenset(),
) -> tuple[tuple[Operation, ...], tuple[ClientAuthResult, ...]]:
    """What `sync_client_auth` would write, read-only: the operations and, per vserver, what NITRO
    shows now. `adding`: CA certkeys the certificates' plan adds before (a chain CA the bundle
    shares), which the client CAs then find instead of adding."""
    by_vserver, owned = _by_vserver(wants, previous)
    preview = Preview(added=set(adding))
    ops: list[Operation] = []
    results: list[ClientAuthResult] = []
    for vserver, want in by_vserver.items():
        mine = owned.get(vserver, frozenset())
        try:
            if want.problem is not None:
                results.append(await _kept(client, want, mine))
                continue
            view = await read_vserver(client, vserver, want.cas, mine, name_limit)
            p = plan_vserver(
                view,
                want.cas,
                mine,
                cluster=cluster,
                crlcheck=want.crlcheck,
                ocspcheck=want.ocspcheck,
                name_limit=name_limit,
                preview=preview,
            )
        except (ne.NitroError, DomainError) as exc:
            results.append(_failed(vserver, exc))
            continue
        ops += p.operations
        bound = tuple(n for n in p.wanted if n in view.bound)  # as NITRO shows it now
        result = ClientAuthResult(vserver, bound, *_planned(p, want), checks=shown_checks(view.bound, bound))
        if want.cas or p.operations:
            results.append(result)
    return tuple(ops), tuple(results)


def _planned(p: VServerPlan, want: ClientAuth) -> tuple[str, str]:
    """A preview's reason and message: what the apply would do, in the status's words."""
    if not p.operations:
        if not want.cas:
            return reasons.Removed, "none of ours bound"
        return reasons.Synced, f"{len(p.wanted)} client CA(s) already bound with -CA"
    done = [
        f"{verb} {', '.join(names)}"
        for verb, names in (
            ("bind", p.added),
            ("bind again with the asked checks", p.rebound),
            ("unbind", p.removed),
        )
        if names
    ]
    return reasons.Planned, f"dry run: would {'; '.join(done)}; nothing was written"


async def _kept(client: NitroClient, want: ClientAuth, mine: frozenset[str]) -> ClientAuthResult:
    assert want.problem is not None
    shown = {b.certkey: b for b in await client.list_bindings(want.vserver) if b.ca}
    still = tuple(sorted(mine & shown.keys()))
    kept = f"; the {len(still)} client CA(s) bound before stay bound" if still else ""
    return ClientAuthResult(
        want.vserver,
        still,
        want.problem.reason,
        want.problem.message + kept,
        failed=True,
        checks=shown_checks(shown, still),
    )


def _records(owned: dict[str, frozenset[str]]) -> tuple[ClientCARecord, ...]:
    return tuple(sorted(ClientCARecord(vs, name) for vs, names in owned.items() for name in names))


__all__ = ["ClientCAResult", "plan_client_auth", "sync_client_auth", "sync_client_cas"]
