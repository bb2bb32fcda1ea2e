"""Operator-wide state the reconcilers share: Kubernetes access, clocks, per-object locks, and the
engine's per-appliance state (`appliances`: locks, snapshots, saves; engine/appliances.py).

One `OperatorContext` lives for the life of the operator. Reconcile functions take it explicitly,
so tests can build one with fakes and no kopf at all.
"""

from __future__ import annotations

import asyncio
import contextlib
import contextvars
import datetime as dt
from collections.abc import AsyncIterator, Awaitable, Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from netscaler_certsync.engine import Appliances
from netscaler_certsync.k8s import keys
from netscaler_certsync.k8s.named_secret_watch import NamedSecretWatch
from netscaler_certsync.metrics import Metrics
from netscaler_certsync.reconcile.claims import ClaimIndex
from netscaler_certsync.reconcile.drift import DriftSchedule
from netscaler_certsync.reconcile.echoes import StatusEchoes
from netscaler_certsync.reconcile.identity import ClusterIdentity
from netscaler_certsync.reconcile.sessions import NitroSessions
from netscaler_certsync.reconcile.triggers import TriggerIndex
from netscaler_certsync.timestamps import utc_now

#: (namespace, name) -> the Secret as the API returns it, or None when absent.
SecretGetter = Callable[[str, str], Awaitable[Mapping[str, Any] | None]]
#: (namespace, name) -> the ConfigMap as the API returns it, or None when absent (CA bundles).
ConfigMapGetter = Callable[[str, str], Awaitable[Mapping[str, Any] | None]]
#: (namespace, label selector string[, field selector]) -> Secrets matching them, selected on the
#: server; the field selector defaults to the TLS type, None lists every type (declared sources).
SecretLister = Callable[..., Awaitable[Sequence[Mapping[str, Any]]]]
#: (namespace, name, JSON merge patch of `status`) -> a CertificateSync's status patched (stored).
#: (namespace, name, status) -> the resourceVersion the patch made (None if not known).
StatusPatcher = Callable[[str, str, Mapping[str, Any]], Awaitable[str | None]]
#: (plural of our kinds, namespace, name, annotation, value) -> the annotation set on the object.
Annotator = Callable[[str, str, str, str, str], Awaitable[None]]
#: (namespace, name) -> the CertificateSync as the API returns it now, or None when absent.
SyncGetter = Callable[[str, str], Awaitable[Mapping[str, Any] | None]]
#: (involved object, type, reason, message) -> a core/v1 Event posted about the object.
EventPoster = Callable[[Mapping[str, Any], str, str, str], Awaitable[None]]


async def _no_status_writer(*_: object) -> None:
    raise RuntimeError("the operator's Kubernetes client is not attached")


async def _no_configmaps(*_: object) -> Mapping[str, Any] | None:
    raise RuntimeError("the operator's Kubernetes client is not attached")


async def _no_syncs(*_: object) -> Mapping[str, Any] | None:
    raise RuntimeError("the operator's Kubernetes client is not attached")


#: The current reconcile's `change_turn` slot, given back early by `OperatorContext.applied()`.
_early_release: contextvars.ContextVar[Callable[[], None] | None] = contextvars.ContextVar(
    "change_slot", default=None
)


@dataclass
class OperatorOptions:
    """Knobs of `netscaler-certsync run`; defaults suit production, tests shorten the timers."""

    health_check_tick_seconds: float = 15.0
    drift_check_tick_seconds: float = 30.0
    watch_secrets: bool = True
    nitro_max_concurrency: int = 4
    drift_concurrency: int = 2
    """Drift re-checks running at once (see `OperatorContext.drift_turn`)."""
    change_concurrency: int = 32
    """Reconciles of created, changed or resumed CertificateSyncs running at once (see
    `OperatorContext.change_turn`); renewals and deletions do not wait for these slots."""
    cluster_id: str | None = None
    """The cluster identity tagged into every object on the appliance (`--cluster-id`); None:
    the UID of the kube-system Namespace (docs/decisions/090-cluster-identity-in-file-names.md)."""
    shard: str | None = None
    """`--shard`: watch only the NetScalerConnections and CertificateSyncs labelled with it
    (`keys.SHARD_LABEL`, selected by the API server); None: every object."""
    snapshot_max_age_seconds: float = 10.0
    """Reconciles on one appliance share a full listing of its certkeys for this long (see
    engine/snapshot.py); a change made by hand on the appliance is seen this much later."""
    max_retry_delay_seconds: float | None = None
    """At most this long before kopf retries a transient failure; None: the failure table's own
    delays (reconcile/failures.py). Tests shorten it so a retry does not cost them 30 s of waiting."""


@dataclass
class OperatorContext:
    get_secret: SecretGetter
    list_secrets: SecretLister
    options: OperatorOptions = field(default_factory=OperatorOptions)
    clock: Callable[[], dt.datetime] = utc_now
    triggers: TriggerIndex = field(default_factory=TriggerIndex)
    metrics: Metrics = field(default_factory=Metrics)
    sessions: NitroSessions = field(default_factory=NitroSessions)
    appliances: Appliances = field(default_factory=Appliances)
    cluster: ClusterIdentity = field(default_factory=ClusterIdentity)
    """Whose objects on the appliance are ours; settled at startup (reconcile/identity.py)."""
    claims: ClaimIndex = field(default_factory=ClaimIndex)
    """Which certificate of which sync is the default of each vserver (reconcile/claims.py)."""
    patch_sync_status: StatusPatcher = _no_status_writer
    """Used to store what an apply may create before it writes (reconcile/intent.py)."""
    echoes: StatusEchoes = field(default_factory=StatusEchoes)
    """The versions of CertificateSyncs only our intent writes made (reconcile/echoes.py)."""
    annotate: Annotator = _no_status_writer
    """Sets the trigger annotations that hand work to another object's handlers (a connection's
    changed Secret, a connection that turned Ready: reconcile/connection_triggers.py)."""
    get_configmap: ConfigMapGetter = _no_configmaps
    """Reads the ConfigMaps of client-auth CA bundles (reconcile/client_auth.py)."""
    get_sync: SyncGetter = _no_syncs
    """Reads a CertificateSync afresh for its periodic re-check (handlers/drift.py)."""
    post_event: EventPoster = _no_status_writer
    """Posts the Events of a re-check, which runs outside kopf's handlers (handlers/drift.py)."""
    drift: DriftSchedule = field(default_factory=DriftSchedule)
    """When each CertificateSync is re-checked next (reconcile/drift.py)."""
    secret_refs: NamedSecretWatch | None = None
    """The watch of the Secrets NetScalerConnections reference, once the client is attached."""
    stopping: bool = False
    """Set by the cleanup activity before it closes the clients: kopf's timers outlive it (for up
    to its 5 s grace for stray tasks), and a re-check started then would use closed clients."""
    _connection_secrets: dict[tuple[str, str], tuple[str, Mapping[str, Any]]] = field(
        default_factory=dict, repr=False
    )
    _locks: dict[tuple[str, str, str], asyncio.Lock] = field(default_factory=dict, repr=False)
    _rechecks: dict[tuple[str, str, str], dt.datetime] = field(default_factory=dict, repr=False)
    _wakes: set[tuple[str, str, str]] = field(default_factory=set, repr=False)
    _streaks: dict[tuple[str, str, str], int] = field(default_factory=dict, repr=False)
    # Pending Secret marks: (mark, due now). Due now until a reconcile takes it; a mark kept for a
    # failed re-check's retry is not (its retry time is a re-check time, `_rechecks`).
    _secret_marks: dict[tuple[str, str], tuple[str, bool]] = field(default_factory=dict, repr=False)
    _answered_marks: dict[tuple[str, str], str] = field(default_factory=dict, repr=False)
    _drift_slots: asyncio.Semaphore | None = field(default=None, repr=False)
    _change_slots: asyncio.Semaphore | None = field(default=None, repr=False)

    def __post_init__(self) -> None:
        self.sessions.max_concurrency = self.options.nitro_max_concurrency
        self.drift.tick = self.options.drift_check_tick_seconds
        self.claims.requeue = self._look_again

    def _look_again(self, sync: str) -> None:
        namespace, name = sync.split("/", 1)
        self.wake(keys.SYNC_KIND, namespace, name)

    async def connection_secret(self, namespace: str, name: str) -> Mapping[str, Any] | None:
        """A Secret a NetScalerConnection references (credentials, CA), read once per version its
        watch (`secret_refs`) reports rather than once per reconcile of every CertificateSync;
        read afresh whenever it is not watched or the watch has not seen it yet. A change reaches
        the watch a moment after the API server: a reconcile in that moment uses the old content,
        as a GET just before the change would have, and the change re-triggers the connection."""
        key = (namespace, name)
        version = self.secret_refs.version(key) if self.secret_refs is not None else None
        cached = self._connection_secrets.get(key)
        if version is not None and cached is not None and cached[0] == version:
            return cached[1]
        secret = await self.get_secret(namespace, name)
        read = str(((secret or {}).get("metadata") or {}).get("resourceVersion") or "")
        if version is not None and secret is not None and read == version:
            self._connection_secrets[key] = (version, secret)
        else:
            self._connection_secrets.pop(key, None)
        return secret

    def object_lock(self, kind: str, namespace: str, name: str) -> asyncio.Lock:
        """Serialises reconciles of one object (a timer and a change handler may overlap)."""
        return self._locks.setdefault((kind, namespace, name), asyncio.Lock())

    @contextlib.asynccontextmanager
    async def drift_turn(self, kind: str, namespace: str, name: str) -> AsyncIterator[bool]:
        """The object lock for a periodic re-check, or False when it should not run now.

        Re-checks wait for one of a few slots *before* they take the object lock: a re-check
        queued for the appliance (last in line, engine/locks.py) while holding its object's lock
        would make that object's renewal wait for every re-check ahead of it (see
        docs/decisions/013-slots-before-object-locks.md). One that finds its object busy (a
        change being reconciled) skips this tick.
        """
        lock = self.object_lock(kind, namespace, name)
        if lock.locked() or self.stopping:
            yield False
            return
        if self._drift_slots is None:
            self._drift_slots = asyncio.Semaphore(max(1, self.options.drift_concurrency))
        async with self._drift_slots:
            if lock.locked():
                yield False
                return
            async with lock:
                yield True

    @contextlib.asynccontextmanager
    async def change_turn(self, kind: str, namespace: str, name: str) -> AsyncIterator[None]:
        """The object lock for a spec reconcile, once one of a few slots is free.

        1,000 CertificateSyncs created (or resumed at start-up) at once would otherwise each read
        their Secrets and parse their certificates before queueing for the appliance, all held
        in memory together. The slot comes first, so a waiting reconcile holds no object lock
        and a renewal of the same object is not held up by the queue. The slot is given back as
        soon as the appliance has the writes (`applied()`), not after the configuration save that
        follows: saves are shared by the applies queued behind each other (engine/saves.py), and
        slots held through a slow save kept the next applies from queueing up to share it.
        """
        if self._change_slots is None:
            self._change_slots = asyncio.Semaphore(max(1, self.options.change_concurrency))
        slots = self._change_slots
        await slots.acquire()
        held = True

        def give_back() -> None:
            nonlocal held
            if held:
                held = False
                slots.release()

        token = _early_release.set(give_back)
        try:
            async with self.object_lock(kind, namespace, name):
                yield
        finally:
            _early_release.reset(token)
            give_back()

    @staticmethod
    def applied() -> None:
        """This reconcile's writes are on the appliance: give back its `change_turn` slot, if any."""
        release = _early_release.get()
        if release is not None:
            release()

    def forget(self, kind: str, namespace: str, name: str) -> None:
        self._locks.pop((kind, namespace, name), None)
        self._rechecks.pop((kind, namespace, name), None)
        self._wakes.discard((kind, namespace, name))
        self._streaks.pop((kind, namespace, name), None)
        if kind == keys.SYNC_KIND:
            self.echoes.forget(namespace, name)
            self.drift.remove((namespace, name))
            self.drop_secret_mark(namespace, name)

    def failure_streak(self, kind: str, namespace: str, name: str, *, failed: bool) -> int:
        """Count consecutive failed checks of an object (0 after a success): for retry backoff."""
        key = (kind, namespace, name)
        if not failed:
            self._streaks.pop(key, None)
            return 0
        self._streaks[key] = self._streaks.get(key, 0) + 1
        return self._streaks[key]

    def schedule_recheck(self, kind: str, namespace: str, name: str, after: float | None) -> None:
        """Look at a stalled object again after `after` seconds (None: only on a change)."""
        if after is None:
            self._rechecks.pop((kind, namespace, name), None)
        else:
            when = self.clock() + dt.timedelta(seconds=after)
            self._rechecks[(kind, namespace, name)] = when
            if kind == keys.SYNC_KIND:
                self.drift.sooner((namespace, name), when)

    def wake(self, kind: str, namespace: str, name: str) -> None:
        """Look at an object again at its next tick because something outside it changed (another
        sync released a default slot, the appliance lost its configuration).

        Kept apart from `schedule_recheck`: the wake may come while the object's own reconcile
        is still running, and that reconcile ends by setting its own re-check (often "only on a
        change"), which must not erase the wake. Only the run that the wake starts takes it."""
        self._wakes.add((kind, namespace, name))
        if kind == keys.SYNC_KIND:
            self.drift.sooner((namespace, name), self.clock())

    def take_wake(self, kind: str, namespace: str, name: str) -> None:
        """The re-check is starting: wakes before this point are answered by it."""
        self._wakes.discard((kind, namespace, name))

    def secret_marked(self, namespace: str, name: str, mark: str) -> None:
        """A Secret the CertificateSync uses changed and its `secret-changed` mark is now `mark`:
        a re-check reconciles it at once (handlers/drift.py), as kopf's handler of the mark does.

        kopf hands an object's event to its handler only after it has processed the events before
        it; after a relist of every watch that is every CertificateSync (seconds at 10,000). The
        two paths answer the mark once between them (decision 237): a reconcile takes it under the
        object lock (`take_secret_mark`), and kopf's handler skips a mark a re-check answered."""
        self._secret_marks[(namespace, name)] = (mark, True)
        # A real change, each once: not held to a tick after the sync's previous re-check.
        self.drift.sooner((namespace, name), self.clock(), floor=False)

    def has_secret_mark(self, namespace: str, name: str) -> bool:
        return (namespace, name) in self._secret_marks

    def take_secret_mark(self, namespace: str, name: str) -> str | None:
        """A re-check's reconcile starts (under the object lock): it answers the pending mark."""
        pending = self._secret_marks.pop((namespace, name), None)
        if pending is None:
            return None
        self._answered_marks[(namespace, name)] = pending[0]
        return pending[0]

    def drop_secret_mark(self, namespace: str, name: str) -> None:
        """The sync is not this operator's to renew now (gone, in another shard, autoSync off)."""
        self._secret_marks.pop((namespace, name), None)
        self._answered_marks.pop((namespace, name), None)

    def retry_secret_mark(self, namespace: str, name: str, mark: str) -> None:
        """The re-check that took `mark` failed transiently: its retry (scheduled by the caller)
        answers it, as a renewal, unless a newer mark came meanwhile."""
        self._secret_marks.setdefault((namespace, name), (mark, False))

    def answer_secret_mark(self, namespace: str, name: str, mark: str) -> bool:
        """kopf's handler of `mark` holds the object lock: False if a re-check answered it already
        (or keeps it for its own retry); True if the handler must reconcile, which answers a
        pending mark too (it reads the Secrets now, at least as new as that mark). kopf's own
        answers are not recorded: its retries of a failed handler deliver the same mark again."""
        key = (namespace, name)
        if self._answered_marks.get(key) == mark:
            del self._answered_marks[key]
            return False
        self._secret_marks.pop(key, None)
        return True

    def next_check(
        self, kind: str, namespace: str, name: str, periodic: dt.datetime | None
    ) -> dt.datetime | None:
        """When the object is due a look: a wake now, else the earlier of its re-check and
        `periodic` (its drift or health interval); None: only on a change."""
        if (kind, namespace, name) in self._wakes:
            return self.clock()
        times = [t for t in (periodic, self._rechecks.get((kind, namespace, name))) if t is not None]
        return min(times) if times else None

    def schedule_sync_check(self, namespace: str, name: str, periodic: dt.datetime | None) -> None:
        """Set a CertificateSync's next re-check from its status (`periodic`), as a watch event
        or a re-check that found nothing due does; a Secret mark no reconcile took yet keeps it
        due now (one kept for a failed re-check's retry waits for the retry's time).

        kopf's event of the mark's own PATCH usually arrives before a worker took the sync: set
        from the status alone, it pushed the renewal to the drift interval, and the renewal
        waited for kopf's handler of the mark (seconds after a relist of every sync)."""
        key = (namespace, name)
        self.drift.set(key, self.next_check(keys.SYNC_KIND, namespace, name, periodic))
        if self._secret_marks.get(key, ("", False))[1]:
            self.drift.sooner(key, self.clock(), floor=False)

    def recheck_due(self, kind: str, namespace: str, name: str) -> bool:
        if (kind, namespace, name) in self._wakes:
            return True
        when = self._rechecks.get((kind, namespace, name))
        return when is not None and self.clock() >= when
