"""Recognise the versions of a CertificateSync that only our own intent writes made.

A reconcile stores its intent in the sync's status before its first write (reconcile/intent.py),
so every new sync gets a version of its own in the middle of its create handler. kopf sees that
version twice over, and neither is needed:

* as a watch event, which kopf processes like any other (about 1 ms, a deep copy for its diff),
  though it differs from the version before it only by our status. `own_write_event` names it so
  the watch stream (handlers/relist.py) leaves it out (docs/decisions/214-...).
* late: after its own patch kopf waits at most `consistency_timeout` for the patched version,
  then handles the newest it has. Under load that was our intent's version, which carries
  neither kopf's record of the finished handler nor the final status, so kopf ran the create
  handler again a minute later (one more NITRO write: a save, the records being `pending`).
  `already_reconciled` recognises such a body at the top of the handler (docs/decisions/213-...).

A body is only an echo when nothing the user controls differs from the body the finished reconcile
was handed: the generation (the spec), labels, annotations other than kopf's own (a manual request,
a Secret's or connection's trigger) and the deletion mark. So a change that landed while the
reconcile ran, and that our write's version therefore carries, is reconciled as a change.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from netscaler_certsync.k8s import keys

#: Our own writes a watch event has not shown yet, per sync: one per connection an apply stores
#: an intent for, so a few at most; older ones (a write whose event a relist skipped) are dropped.
_UNSEEN_LIMIT = 8

Key = tuple[str, str]
Inputs = tuple[Any, ...]


def inputs_of(body: Mapping[str, Any]) -> Inputs:
    """What a user can change in `body` that a reconcile acts on (all but status and kopf's state)."""
    meta = body.get("metadata") or {}
    annotations = meta.get("annotations") or {}
    return (
        meta.get("uid"),
        meta.get("generation"),
        meta.get("deletionTimestamp"),
        tuple(sorted((meta.get("labels") or {}).items())),
        tuple(sorted((k, v) for k, v in annotations.items() if not k.startswith(keys.STATE_PREFIX))),
    )


def _key(body: Mapping[str, Any]) -> tuple[Key, str | None]:
    meta = body.get("metadata") or {}
    return (str(meta.get("namespace") or ""), str(meta.get("name") or "")), meta.get("resourceVersion")


class Write:
    """One intent write in flight: the `status.connections` it sends, and whether its watch event
    came before its answer."""

    __slots__ = ("connections", "seen")

    def __init__(self, connections: Sequence[Any]) -> None:
        self.connections = connections
        self.seen = False


class StatusEchoes:
    """Per CertificateSync, the versions our intent writes made, and what the last finished
    reconcile was handed."""

    def __init__(self) -> None:
        self._running: dict[Key, Inputs] = {}  # the reconcile under way: the body it was handed
        self._sending: dict[Key, list[Write]] = {}  # writes in flight
        self._unseen: dict[Key, list[str]] = {}  # versions of our writes no watch event showed yet
        self._written: dict[Key, list[str]] = {}  # versions of the writes of the reconcile under way
        self._done: dict[Key, tuple[tuple[str, ...], Inputs]] = {}  # the last finished reconcile's

    # ------------------------------------------------------------------ the handler's side
    def already_reconciled(self, body: Mapping[str, Any]) -> bool:
        """True if `body` is the version one of our own writes made during a reconcile that has
        finished since, handed the same inputs: reconciling it again could only repeat that one.
        Otherwise a reconcile of `body` is about to start: noted, and the last one's record ends."""
        key, version = _key(body)
        done = self._done.pop(key, None)
        if done is not None and version in done[0] and done[1] == inputs_of(body):
            self._done[key] = done
            return True
        self._running[key] = inputs_of(body)
        return False

    def finished(self, body: Mapping[str, Any]) -> None:
        """The reconcile of `body` ended and kopf records it done (no retry): its writes' versions
        are echoes from now on."""
        key, _ = _key(body)
        inputs = self._running.pop(key, None)
        written = self._written.pop(key, None)
        if inputs is not None and written:
            self._done[key] = (tuple(written), inputs)

    # ------------------------------------------------------------------ reconcile/intent.py's side
    def sending(self, namespace: str, name: str, connections: Sequence[Any]) -> Write:
        """An intent write with this `status.connections` is about to be sent."""
        write = Write(connections)
        self._sending.setdefault((namespace, name), []).append(write)
        return write

    def sent(self, namespace: str, name: str, write: Write, version: str | None) -> None:
        """`write` is done (`version`: the version it made; None: it failed)."""
        key = (namespace, name)
        self._drop_sending(key, write)
        if version is None:
            return
        self._written.setdefault(key, []).append(version)
        if not write.seen:  # its event is still to come
            unseen = self._unseen.setdefault(key, [])
            unseen.append(version)
            del unseen[:-_UNSEEN_LIMIT]

    # ------------------------------------------------------------------ the watch stream's side
    def own_write_event(self, body: Mapping[str, Any]) -> bool:
        """True once for the watch event of each of our intent writes: the version that write made,
        which differs from the one before only by our status. Its answer may not have arrived
        before its event: then the event is ours if it carries the connections being written and
        the inputs of the reconcile writing them (a user's change in between is not ours)."""
        key, version = _key(body)
        unseen = self._unseen.get(key)
        if unseen and version in unseen:
            unseen.remove(version)
            if not unseen:
                del self._unseen[key]
            return True
        sending = self._sending.get(key)
        if not sending:
            return False
        connections = (body.get("status") or {}).get("connections")
        for write in sending:
            if not write.seen and write.connections == connections:
                if self._running.get(key) != inputs_of(body):
                    return False
                write.seen = True
                return True
        return False

    def forget(self, namespace: str, name: str) -> None:
        """The sync is gone."""
        key = (namespace, name)
        for table in (self._running, self._sending, self._unseen, self._written, self._done):
            table.pop(key, None)

    def _drop_sending(self, key: Key, write: Write) -> None:
        sending = self._sending.get(key)
        if sending is None:
            return
        sending[:] = [w for w in sending if w is not write]
        if not sending:
            del self._sending[key]
