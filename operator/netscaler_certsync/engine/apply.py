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
from dataclasses import dataclass, field

from netscaler_certsync.domain import reasons
from netscaler_certsync.engine.errors import SyncAborted, aborts, to_aborted
from netscaler_certsync.engine.model import BindingSpec
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
    ca_aliases: dict[str, str] = field(default_factory=dict)
    """CA fingerprint → the name it already had on the appliance (found at apply time)."""
    bound: dict[str, set[BindingSpec]] = field(default_factory=dict)
    """certkey → bindings this operator made and has not undone: updated the moment each bind,
    unbind or delete succeeds, so it stays true even when the apply is cancelled right after
    (see `sync._journal`)."""

    def intend(self, op: Operation) -> None:
        """Before a bind is sent: if the apply is cancelled while the request is in flight, the
        appliance may have bound it, so it counts as ours until an answer says otherwise."""
        if op.kind is Kind.BIND and op.vserver is not None:
            self.bound.setdefault(op.name, set()).add(BindingSpec(op.vserver, op.sni))

    def refused(self, op: Operation) -> None:
        """The appliance answered that a bind was not made."""
        if op.kind is Kind.BIND and op.vserver is not None:
            self.bound.get(op.name, set()).discard(BindingSpec(op.vserver, op.sni))

    def took_effect(self, op: Operation) -> None:
        self.applied.append(op)
        if op.kind is Kind.BIND and op.vserver is not None:
            self.bound.setdefault(op.name, set()).add(BindingSpec(op.vserver, op.sni))
        elif op.kind is Kind.UNBIND and op.vserver is not None:
            self.bound.get(op.name, set()).discard(BindingSpec(op.vserver, op.sni))
        elif op.kind is Kind.DELETE:
            self.bound.pop(op.name, None)


async def _add(client: NitroClient, op: Operation, out: ApplyOutcome, location: str) -> bool:
    assert op.cert is not None
    try:
        await client.add_certkey(op.name, op.cert, op.key)
        return True
    except ne.AlreadyExistsError as exc:
        existing = ne.existing_name_for_content(exc)
        if existing == op.name:
            return False
        if existing and op.ca_fp:
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


async def _run(client: NitroClient, op: Operation, out: ApplyOutcome, location: str) -> bool:
    """Perform one operation; True when it wrote something, False when its effect was already there."""
    k = op.kind
    if k is Kind.UPLOAD:
        assert op.content is not None
        try:
            await client.upload_file(op.name, op.content, location=location)
        except ne.APIError as exc:
            if ne.is_file_exists(exc) or ne.is_already_exists(exc):
                return False  # content-addressed: the name says the content is ours and right
            raise
        return True
    if k is Kind.ADD:
        return await _add(client, op, out, location)
    if k is Kind.CHANGE:
        assert op.cert is not None
        await client.change_certkey(op.name, op.cert, op.key, nodomaincheck=True)
        return True
    if k is Kind.LINK:
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
    if k is Kind.UNLINK:
        try:
            await client.unlink_certkey(op.name)
        except ne.APIError as exc:
            if ne.is_not_found(exc) or ne.has_code(exc, ne.ErrorCode.NO_CA_LINK):
                return False
            raise
        return True
    if k is Kind.BIND:
        assert op.vserver is not None
        try:
            await client.bind_certkey(op.vserver, op.name, sni=op.sni)
        except ne.APIError as exc:
            if ne.is_already_exists(exc):
                return False
            if ne.has_code(exc, ne.ErrorCode.NOT_SSL_VSERVER):
                raise OperationFailed(
                    reasons.VServerNotSSL, f"vserver {op.vserver} is not an SSL vserver"
                ) from None
            if ne.is_vserver_missing(exc) or ne.is_not_found(exc):
                raise OperationFailed(
                    reasons.VServerNotFound, f"no SSL virtual server named {op.vserver}"
                ) from None
            raise
        return True
    if k is Kind.UNBIND:
        assert op.vserver is not None
        try:
            await client.unbind_certkey(op.vserver, op.name, sni=op.sni)
        except ne.APIError as exc:
            if ne.is_binding_missing(exc) or ne.is_not_found(exc):
                return False
            raise
        return True
    if k is Kind.DELETE:
        try:
            await client.delete_certkey(op.name)
        except ne.APIError as exc:
            if ne.is_not_found(exc):
                return False
            raise
        return True
    try:
        await client.delete_file(op.name, location=location)
    except ne.APIError as exc:
        if ne.is_not_found(exc) or ne.is_file_missing(exc):
            return False
        raise
    return True


def _failure(op: Operation, exc: ne.NitroError) -> tuple[str, str]:
    if ne.is_key_mismatch(exc):
        return reasons.KeyMismatch, f"the appliance says certificate and key do not match ({op.describe()})"
    return reasons.ApplianceError, f"{op.describe()} failed: {exc}"


async def run_group(
    client: NitroClient, ops: list[Operation], out: ApplyOutcome, counter: Counter, location: str
) -> None:
    for op in ops:
        blocked = next((n for n in (op.group, *op.needs) if n in out.failed), None)
        if blocked is not None:
            out.failed.setdefault(op.group, out.failed[blocked])
            return
        out.intend(op)
        try:
            wrote = await _run(client, op, out, location)
        except OperationFailed as exc:
            out.refused(op)
            out.failed[op.group] = (exc.reason, exc.message)
            log.warning("%s: %s (%s)", op.describe(), exc.message, exc.reason)
            return
        except ne.NitroError as exc:
            if aborts(exc):
                raise to_aborted(exc) from exc
            if isinstance(exc, ne.APIError):
                out.refused(op)
            out.failed[op.group] = _failure(op, exc)
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
