"""Carry out operations with the NITRO client, one at a time, and record what took effect.

Idempotent on repetition: an operation whose effect is already there is success (a content-
addressed file that exists, a binding already made, a certkey already gone, a link already in
place). A failure stops only its own group (and the groups that need it); errors that concern the
whole appliance (transport, authentication, permission) abort with `SyncAborted`. Cancellation
propagates untouched: whatever was done stays done, and the next apply converges from there.
"""

from __future__ import annotations

import asyncio
import logging
import posixpath
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field

from netscaler_certsync.domain import file_fingerprint, reasons
from netscaler_certsync.engine.errors import SyncAborted, aborts, to_aborted
from netscaler_certsync.engine.operations import Group, GroupKind, Kind, Operation
from netscaler_certsync.engine.state import Counter
from netscaler_certsync.nitro import NitroClient
from netscaler_certsync.nitro import errors as ne

log = logging.getLogger(__name__)


class OperationFailed(Exception):
    def __init__(self, reason: str, message: str) -> None:
        super().__init__(message)
        self.reason = reason
        self.message = message


@dataclass
class ApplyOutcome:
    failed: dict[Group, tuple[str, str]] = field(default_factory=dict)
    """group → (reason, message) of the first failure."""
    done: set[Group] = field(default_factory=set)
    """Groups in which at least one write took effect."""
    applied: list[Operation] = field(default_factory=list)
    uncertain: list[Operation] = field(default_factory=list)
    """Writes that failed with an unknown outcome (a 5xx other than 599): they may have taken
    effect, so what they would create stays claimed in the records."""
    ca_aliases: dict[str, str] = field(default_factory=dict)
    """CA fingerprint → the name it already had on the appliance (found at apply time)."""

    def took_effect(self, op: Operation) -> None:
        self.applied.append(op)


async def _add(client: NitroClient, op: Operation, out: ApplyOutcome, location: str) -> bool:
    assert op.cert is not None
    try:
        await client.add_certkey(op.name, op.cert, op.key, passplain=op.passplain)
        return True
    except ne.AlreadyExistsError as exc:
        existing = ne.existing_name_for_content(exc)
        if existing == op.name:
            return False
        if existing and op.ca_fp:
            if not await _holds_same_certificate(client, existing, op.ca_fp, location):
                # NetScaler refuses a second certificate with the same serial from the same CA
                # (CTX206045): theirs is a different certificate, so it must not stand in for ours.
                raise OperationFailed(
                    reasons.DuplicateCertificate,
                    f"certkey {existing} holds a different certificate with the same serial and issuer "
                    f"as CA certificate {op.ca_fp[:12]}; NetScaler cannot hold both",
                ) from None
            # NetScaler holds this CA already under another name: use that one, drop our file.
            out.ca_aliases[op.ca_fp] = existing
            await client.delete_file(op.cert, location=location)
            return True
        if existing:
            raise OperationFailed(
                reasons.DuplicateCertificate,
                f"this certificate is already installed on the appliance as certkey {existing}",
            ) from None
        found = await client.get_certkey(op.name)
        if found is not None and found.cert and posixpath.basename(found.cert) == op.cert:
            return False  # an earlier, interrupted apply added it
        raise OperationFailed(
            reasons.NameCollision, f"certkey {op.name} already exists and was not created by this operator"
        ) from None


async def _link(client: NitroClient, op: Operation, out: ApplyOutcome, location: str) -> bool:
    assert op.link_to is not None
    if op.group.kind is GroupKind.CA and op.group.name in out.ca_aliases:
        return False  # this CA turned out to be someone else's certkey: its links are theirs
    target = out.ca_aliases.get(op.link_to_fp or "", op.link_to)
    try:
        await client.link_certkey(op.name, target)
    except ne.APIError:
        found = await client.get_certkey(op.name)
        if found is not None and found.linked_to == target:
            return False
        if found is None or not found.linked_to:
            raise
        # Still linked to another CA (the plan updates before it links, trusting the appliance
        # to drop a link that no longer fits): unlink and link again.
        await client.unlink_certkey(op.name)
        await client.link_certkey(op.name, target)
    return True


def _never(_: ne.APIError) -> bool:
    return False


@dataclass(frozen=True)
class _Step:
    """How to carry out one kind of operation.

    `call` sends it (a bool result says whether it wrote; None means it did). A refusal for which
    `done` is true means the effect is already there (success, nothing written); one matched in
    `refusals` is the operation's own failure with a reason the user can act on; any other
    refusal is an ApplianceError (or aborts the apply: `engine.errors.FAILURES`)."""

    call: Callable[[NitroClient, Operation, ApplyOutcome, str], Awaitable[bool | None]]
    done: Callable[[ne.APIError], bool] = _never
    refusals: tuple[tuple[Callable[[ne.APIError], bool], str, Callable[[Operation], str]], ...] = ()


_STEPS: dict[Kind, _Step] = {
    # Content-addressed: the file's name says its content is ours and right.
    Kind.UPLOAD: _Step(
        lambda c, op, out, loc: c.upload_file(op.name, _content(op), location=loc),
        done=lambda e: ne.is_file_exists(e) or ne.is_already_exists(e),
    ),
    # Already there, another's certkey, or the same content under another name: see `_add`.
    Kind.ADD: _Step(_add),
    Kind.CHANGE: _Step(
        lambda c, op, out, loc: c.change_certkey(
            op.name, _cert(op), op.key, nodomaincheck=True, passplain=op.passplain
        )
    ),
    Kind.LINK: _Step(_link),
    Kind.UNLINK: _Step(
        lambda c, op, out, loc: c.unlink_certkey(op.name),
        done=lambda e: ne.is_not_found(e) or ne.has_code(e, ne.ErrorCode.NO_CA_LINK),
    ),
    Kind.BIND: _Step(
        lambda c, op, out, loc: c.bind_certkey(_vserver(op), op.name, sni=op.sni),
        done=ne.is_already_exists,
        refusals=(
            (
                lambda e: ne.has_code(e, ne.ErrorCode.NOT_SSL_VSERVER),
                reasons.VServerNotSSL,
                lambda op: f"vserver {op.vserver} is not an SSL vserver",
            ),
            (
                lambda e: ne.is_vserver_missing(e) or ne.is_not_found(e),
                reasons.VServerNotFound,
                lambda op: f"no SSL virtual server named {op.vserver}",
            ),
        ),
    ),
    Kind.UNBIND: _Step(
        lambda c, op, out, loc: c.unbind_certkey(_vserver(op), op.name, sni=op.sni),
        done=lambda e: ne.is_binding_missing(e) or ne.is_not_found(e),
    ),
    Kind.DELETE: _Step(lambda c, op, out, loc: c.delete_certkey(op.name), done=ne.is_not_found),
    Kind.DELETE_FILE: _Step(
        lambda c, op, out, loc: c.delete_file(op.name, location=loc),
        done=lambda e: ne.is_not_found(e) or ne.is_file_missing(e),
    ),
}


def _content(op: Operation) -> bytes:
    assert op.content is not None
    return op.content


def _cert(op: Operation) -> str:
    assert op.cert is not None
    return op.cert


def _vserver(op: Operation) -> str:
    assert op.vserver is not None
    return op.vserver


async def _holds_same_certificate(client: NitroClient, certkey: str, fingerprint: str, location: str) -> bool:
    """Whether `certkey`'s certificate file is the certificate with `fingerprint` (read back)."""
    found = await client.get_certkey(certkey)
    if found is None or not found.cert:
        return False
    directory, _, filename = found.cert.rpartition("/")
    file = await client.get_file(filename, location=directory or location)
    return file is not None and file.content is not None and file_fingerprint(file.content) == fingerprint


async def _run(client: NitroClient, op: Operation, out: ApplyOutcome, location: str) -> bool:
    """Perform one operation; True when it wrote something, False when its effect was already there."""
    step = _STEPS[op.kind]
    try:
        wrote = await step.call(client, op, out, location)
    except ne.APIError as exc:
        if step.done(exc):
            return False
        for matches, reason, message in step.refusals:
            if matches(exc):
                raise OperationFailed(reason, message(op)) from None
        raise
    return wrote is not False


def _failure(op: Operation, exc: ne.NitroError) -> tuple[str, str]:
    if ne.is_key_mismatch(exc):
        return reasons.KeyMismatch, f"the appliance says certificate and key do not match ({op.describe()})"
    if op.kind is Kind.CHANGE and ne.is_still_referenced(exc):
        return reasons.CertificateInUse, (
            f"{op.describe()}: the appliance refuses to update certkey {op.name} in place while it is "
            "bound to VPN global (or another bind point that forbids it); unbind it there "
            f"(`unbind vpn global -certkeyName {op.name}`), let the operator renew it, then bind it again"
        )
    if ne.is_key_type_refused(exc):
        detail = exc.message if isinstance(exc, ne.APIError) else str(exc)
        return reasons.KeyTypeNotSupported, (
            f"{op.describe()}: the appliance refuses this key type ({detail}); MPX and FIPS "
            "platforms load RSA keys only: issue an RSA certificate for this appliance"
        )
    return reasons.ApplianceError, f"{op.describe()} failed: {exc}"


async def run_group(
    client: NitroClient, ops: list[Operation], out: ApplyOutcome, counter: Counter, location: str
) -> None:
    for op in ops:
        blocked = next((n for n in (op.group, *op.needs) if n in out.failed), None)
        if blocked is not None:
            out.failed.setdefault(op.group, out.failed[blocked])
            return
        try:
            wrote = await _run(client, op, out, location)
        except OperationFailed as exc:
            out.failed[op.group] = (exc.reason, exc.message)
            log.warning("%s: %s (%s)", op.describe(), exc.message, exc.reason)
            return
        except ne.NitroError as exc:
            if aborts(exc):
                raise to_aborted(exc) from exc
            out.failed[op.group] = _failure(op, exc)
            if isinstance(exc, ne.ServerError):
                out.uncertain.append(op)
            log.warning("%s", out.failed[op.group][1])
            return
        out.took_effect(op)
        if wrote:
            out.done.add(op.group)
            log.debug("%s", op.describe())


async def run_concurrently(
    client: NitroClient,
    batch: list[list[Operation]],
    out: ApplyOutcome,
    counter: Counter,
    location: str,
    concurrency: int,
) -> None:
    slots = asyncio.Semaphore(concurrency)

    async def guarded(ops: list[Operation]) -> None:
        async with slots:
            await run_group(client, ops, out, counter, location)

    try:
        async with asyncio.TaskGroup() as tasks:
            for ops in batch:
                tasks.create_task(guarded(ops))
    except* SyncAborted as group_error:
        raise group_error.exceptions[0] from None
