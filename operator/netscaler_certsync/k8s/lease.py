"""Leader election on a coordination.k8s.io/v1 Lease, and the time this process may still write.

client-go's algorithm (tools/leaderelection) on the operator's own `KubeClient`, timed by this
process's monotonic clock, never by the timestamps in the object (the nodes' clocks differ):

* A candidate reads the Lease. It takes it when it is absent, released (no holder), or when its
  holder has not renewed it for the Lease's `leaseDurationSeconds` since this candidate first saw
  the current `renewTime`. Takes and renewals are PUTs carrying the resourceVersion just read, so
  of two racing candidates the API server lets one win (the other gets 409).
* The holder renews every retry period. It stops leading when no renewal succeeded within the
  renew deadline, counted from when the last successful one was *sent* (a slow answer never
  extends it), or as soon as it sees another holder. One try may take at most half the time left
  before that deadline (never less than a retry period): an API server that stalls one request
  (busy relisting every watch) leaves room for another try instead of costing the Lease.
* Release (a graceful stop): no holder and a 1 s duration, so the next candidate takes it at its
  next try instead of waiting for it to expire.

`write_budget()` is the fence's question: may a write start now, and for how long? Only while
holding, less than the renew deadline after the last successful renewal was sent, and not before
the takeover grace after taking over an *expired* Lease (its old holder may have had a request
under way). The budget ends where the Lease would end for everyone else (sent + duration), so no
write this process starts can still be running when another process may take over.

`ElectorThread` runs the campaign in its own thread, event loop and client: a busy operator loop
(a relist of thousands of objects) cannot hold up a renewal.

`ApplianceClaims` (shards only): one more Lease per appliance this process writes to, taken by the
same algorithm on the first write there, renewed after each renewal of the election's Lease (all
claims at once, beside the election, each try limited as the election's) and released with it.
The fence asks it too, so one appliance has one writer even while its group moves between shards:
the new shard writes only once the old one has let go (drained) or its claim has expired. A claim
whose renewals fail is logged once per streak of failures, again when it renews or is dropped.
"""

from __future__ import annotations

import asyncio
import contextlib
import datetime as dt
import hashlib
import logging
import math
import os
import random
import socket
import threading
import time
import uuid
from collections.abc import Callable, Mapping
from dataclasses import dataclass, replace
from typing import Any

import httpx

from netscaler_certsync.k8s import keys
from netscaler_certsync.k8s.access import ClusterAccess
from netscaler_certsync.k8s.api import KubeClient
from netscaler_certsync.k8s.errors import Conflict, KubernetesError, NotFound

__all__ = [
    "LEASE_GROUP",
    "ApplianceClaims",
    "ElectorThread",
    "LeaseElector",
    "LeaseSettings",
    "default_identity",
]

log = logging.getLogger("netscaler_certsync.lease")

LEASE_GROUP, LEASE_VERSION, LEASE_PLURAL = "coordination.k8s.io", "v1", "leases"
MICRO_TIME = "%Y-%m-%dT%H:%M:%S.%fZ"  # metav1.MicroTime


@dataclass(frozen=True)
class LeaseSettings:
    """One Lease per installation; the durations are client-go's defaults (seconds)."""

    name: str
    namespace: str
    identity: str
    lease_duration: float = 15.0
    renew_deadline: float = 10.0
    retry_period: float = 2.0
    takeover_grace: float = 2.0
    """After taking over an expired Lease, wait this long before the first write: a request its
    old holder sent just before its lease ended may still be executing on the appliance."""
    claims: str | None = None
    """Shards: per-appliance claims are Leases named `<claims>-appliance-<hash>`, one name for
    every shard of the installation; None: no claims (one Lease decides who writes everywhere)."""

    metadata: Mapping[str, Any] | None = None
    """Labels and annotations the Lease is created with (claims: which appliance it is for)."""

    def __post_init__(self) -> None:
        if not self.lease_duration > self.renew_deadline > self.retry_period > 0:
            raise ValueError("leader election needs lease duration > renew deadline > retry period > 0")
        if self.takeover_grace < 0:
            raise ValueError("the takeover grace cannot be negative")


def default_identity() -> str:
    """The pod's name (or host name) and a per-process suffix: a restarted container is a new
    candidate, never mistaken for the process that held the Lease before it."""
    base = os.environ.get("POD_NAME") or socket.gethostname()
    return f"{base}_{uuid.uuid4().hex[:8]}"


def try_limit(left: float, settings: LeaseSettings) -> float:
    """Seconds one renewal try may take when `left` remain before the renew deadline: half of
    it, at least a retry period, never past the deadline. client-go bounds every try by the
    deadline's context; the halving keeps one stalled request from using the whole of it."""
    return min(left, max(settings.retry_period, left / 2))


def describe(exc: BaseException, request: str, limit: float) -> str:
    """What failed, for the log: the exception's type and message (str() alone is empty for
    timeouts) and the request under way. Never a request body: the messages hold method and path."""
    if isinstance(exc, TimeoutError) and not str(exc):
        return f"TimeoutError: no answer to {request or 'the request'} within {limit:.1f} s"
    detail = str(exc) or repr(exc)
    return f"{type(exc).__name__}: {detail}"


def _micro_time(when: dt.datetime) -> str:
    return when.astimezone(dt.UTC).strftime(MICRO_TIME)


class LeaseElector:
    """The algorithm: one `try_acquire_or_renew()` per retry period; `release()` on a clean stop."""

    def __init__(
        self,
        client: KubeClient,
        settings: LeaseSettings,
        *,
        clock: Callable[[], float] = time.monotonic,
        wall: Callable[[], dt.datetime] = lambda: dt.datetime.now(dt.UTC),
    ) -> None:
        self.client = client
        self.settings = settings
        self._clock = clock
        self._wall = wall
        self._lock = threading.Lock()  # the fence reads from the operator's thread
        self._renewed_at: float | None = None
        """When the last successful take or renewal was sent (None: not holding)."""
        self._writes_from = 0.0
        self._observed: tuple[str, str] | None = None  # (holder, renewTime) as last read
        self._observed_at = 0.0
        self._observed_duration = settings.lease_duration
        self.previous_holder: str | None = None
        """Who held the Lease before this process took it ("" when it was free or new)."""
        self.took_over_expired = False
        self.request = ""
        """The API call under way or last made ("PUT leases/<name>"): what a timeout was waiting for."""

    # ------------------------------------------------------------------ the fence's questions
    @property
    def holding(self) -> bool:
        with self._lock:
            return self._renewed_at is not None

    def write_budget(self) -> float:
        """Seconds a write starting now may take; 0 when this process may not write now."""
        s = self.settings
        with self._lock:
            now = self._clock()
            if self._renewed_at is None or now < self._writes_from:
                return 0.0
            if now - self._renewed_at >= s.renew_deadline:
                return 0.0
            return self._renewed_at + s.lease_duration - now

    def grace_left(self) -> float:
        """Seconds until writes may start after a takeover (0: now, or not holding)."""
        with self._lock:
            return max(0.0, self._writes_from - self._clock()) if self._renewed_at is not None else 0.0

    def deadline_passed(self) -> bool:
        """Holding, but no renewal succeeded within the renew deadline: leadership is lost."""
        with self._lock:
            return (
                self._renewed_at is not None
                and self._clock() - self._renewed_at >= self.settings.renew_deadline
            )

    def renewal_due_in(self) -> float:
        """Seconds left before the renew deadline (0 when passed or not holding)."""
        with self._lock:
            if self._renewed_at is None:
                return 0.0
            return max(0.0, self._renewed_at + self.settings.renew_deadline - self._clock())

    def others_expire_in(self) -> float | None:
        """Seconds until the other holder last read may be taken over if it does not renew by then
        (by this process's clock); None when no other holder was seen."""
        holder = self._observed[0] if self._observed else ""
        if not holder or holder == self.settings.identity:
            return None
        return max(0.0, self._observed_at + self._observed_duration - self._clock())

    @property
    def observed_holder(self) -> str | None:
        """The holder as last read (None before the first read)."""
        return self._observed[0] if self._observed else None

    def drop(self) -> None:
        """Stop holding (the fence closes at once)."""
        with self._lock:
            self._renewed_at = None

    # ------------------------------------------------------------------ the API calls
    async def _read(self) -> dict[str, Any] | None:
        s = self.settings
        self.request = f"GET {LEASE_PLURAL}/{s.name}"
        try:
            return await self.client.get_object(LEASE_GROUP, LEASE_VERSION, LEASE_PLURAL, s.namespace, s.name)
        except NotFound:
            return None

    def _spec(self, previous: Mapping[str, Any], *, taking: bool) -> dict[str, Any]:
        s = self.settings
        now = _micro_time(self._wall())
        spec = {
            **previous,
            "holderIdentity": s.identity,
            "leaseDurationSeconds": math.ceil(s.lease_duration),
            "renewTime": now,
        }
        if taking:
            spec["acquireTime"] = now
            spec["leaseTransitions"] = int(previous.get("leaseTransitions") or 0) + (1 if previous else 0)
        return spec

    async def try_acquire_or_renew(self) -> bool:
        """One round: True when this process holds the Lease afterwards."""
        s = self.settings
        sent = self._clock()
        lease = await self._read()
        if lease is None:
            body = {
                "apiVersion": f"{LEASE_GROUP}/{LEASE_VERSION}",
                "kind": "Lease",
                "metadata": {**(s.metadata or {}), "name": s.name, "namespace": s.namespace},
                "spec": self._spec({}, taking=True),
            }
            self.request = f"POST {LEASE_PLURAL} ({s.name})"
            try:
                await self.client.create_object(LEASE_GROUP, LEASE_VERSION, LEASE_PLURAL, s.namespace, body)
            except Conflict:
                return False  # another candidate created it first
            self._hold(sent, previous="", expired=False)
            return True
        spec = dict(lease.get("spec") or {})
        holder = str(spec.get("holderIdentity") or "")
        observed = (holder, str(spec.get("renewTime") or ""))
        if observed != self._observed:
            # When *we* saw it change: the earliest another holder may be considered gone is a
            # full lease duration after this, whatever the timestamp says.
            self._observed, self._observed_at = observed, self._clock()
        mine = holder == s.identity
        if holder and not mine:
            duration = self._observed_duration = float(spec.get("leaseDurationSeconds") or s.lease_duration)
            if self._clock() < self._observed_at + duration:
                self.drop()  # someone else holds it: never lead on
                return False
        metadata = {
            "name": s.name,
            "namespace": s.namespace,
            "resourceVersion": (lease.get("metadata") or {}).get("resourceVersion"),
        }
        body = {**lease, "metadata": {**(lease.get("metadata") or {}), **metadata}}
        body["spec"] = self._spec(spec, taking=not mine)
        self.request = f"PUT {LEASE_PLURAL}/{s.name}"
        try:
            await self.client.replace_object(
                LEASE_GROUP, LEASE_VERSION, LEASE_PLURAL, s.namespace, s.name, body
            )
        except Conflict:
            return False  # changed since we read it: someone else renewed or took it
        if mine:
            with self._lock:
                if self._renewed_at is not None:
                    self._renewed_at = sent
                    return True
        self._hold(sent, previous=holder, expired=bool(holder) and not mine)
        return True

    def _hold(self, sent: float, *, previous: str, expired: bool) -> None:
        with self._lock:
            self._renewed_at = sent
            self._writes_from = sent + (self.settings.takeover_grace if expired else 0.0)
        self.previous_holder, self.took_over_expired = previous, expired

    async def release(self) -> bool:
        """Give the Lease up if this process holds it; True when it was released."""
        if not self.holding:
            return False
        self.drop()  # no write may start from here on
        s = self.settings
        lease = await self._read()
        spec = dict((lease or {}).get("spec") or {})
        if lease is None or spec.get("holderIdentity") != s.identity:
            return False
        now = _micro_time(self._wall())
        spec.update(holderIdentity=None, leaseDurationSeconds=1, renewTime=now, acquireTime=now)
        self.request = f"PUT {LEASE_PLURAL}/{s.name} (release)"
        try:
            await self.client.replace_object(
                LEASE_GROUP, LEASE_VERSION, LEASE_PLURAL, s.namespace, s.name, {**lease, "spec": spec}
            )
        except Conflict:
            return False
        return True


Callback = Callable[[], None]


class ApplianceClaims:
    """Per-appliance Leases held by this process; they live on the elector thread's loop and client.

    `claim(key)` is awaited by the write fence on the operator's loop: the seconds a write to that
    appliance may take (0: another process holds it, or it could not be taken)."""

    def __init__(self, settings: LeaseSettings, *, clock: Callable[[], float] = time.monotonic) -> None:
        self.settings = settings
        self._clock = clock
        self._held: dict[str, LeaseElector] = {}  # changed only on the elector's loop
        self._client: KubeClient | None = None
        self._loop: asyncio.AbstractEventLoop | None = None
        self._failures: dict[str, int] = {}  # claim Lease name -> renewals failed in a row

    def lease_name(self, key: str) -> str:
        return f"{self.settings.claims}-appliance-{hashlib.sha256(key.encode()).hexdigest()[:16]}"

    def attach(self, client: KubeClient, loop: asyncio.AbstractEventLoop) -> None:
        self._client, self._loop = client, loop

    def holder(self, key: str) -> str | None:
        """Who held the claim when last read (for the refusal's message)."""
        elector = self._held.get(key)
        return elector.observed_holder if elector is not None else None

    def retry_in(self, key: str) -> float:
        """After a refusal: seconds until the claim may be ours, when its holder's Lease would
        expire unless renewed (a released claim is taken at the next try); at least a retry period."""
        elector = self._held.get(key)
        horizon = elector.others_expire_in() if elector is not None else None
        return max(self.settings.retry_period, horizon if horizon is not None else 0.0)

    async def claim(self, key: str) -> float:
        elector = self._held.get(key)
        if elector is None or elector.write_budget() <= 0:
            if self._loop is None:
                return 0.0
            await asyncio.wrap_future(asyncio.run_coroutine_threadsafe(self._take(key), self._loop))
            elector = self._held.get(key)
            if elector is None:
                return 0.0
            if (wait := elector.grace_left()) > 0:  # taken over from an expired holder
                await asyncio.sleep(wait)
        return elector.write_budget()

    async def _take(self, key: str) -> None:
        assert self._client is not None
        elector = self._held.get(key)
        if elector is None:
            metadata = {
                "labels": {keys.CLAIM_LABEL: "true"},
                "annotations": {keys.CLAIM_APPLIANCE_ANNOTATION: key},
            }
            settings = replace(self.settings, name=self.lease_name(key), metadata=metadata)
            elector = self._held[key] = LeaseElector(self._client, settings, clock=self._clock)
        limit = self.settings.renew_deadline
        try:
            await asyncio.wait_for(elector.try_acquire_or_renew(), limit)
        except (TimeoutError, KubernetesError) as exc:
            log.warning(
                "appliance claim %s: %s", elector.settings.name, describe(exc, elector.request, limit)
            )

    async def renew_all(self) -> None:
        """One renewal round of every claim held (on the elector's loop), all at once: a claim
        whose renewal stalls holds up neither the others nor the election's next renewal."""
        held = [(key, elector) for key, elector in self._held.items() if elector.holding]
        await asyncio.gather(*(self._renew(key, elector) for key, elector in held))

    async def _renew(self, key: str, elector: LeaseElector) -> None:
        """One try, limited as the election's are (`try_limit`). A failure is logged once per
        streak (the first, with what failed and the time left; the rest at DEBUG), a recovery
        once, and a claim whose renew deadline passed is dropped with a warning: from then on
        writes to its appliance are fenced until the next write takes it again."""
        name = elector.settings.name
        left = elector.renewal_due_in()
        if left > 0:
            limit = max(0.05, try_limit(left, self.settings))
            try:
                renewed = await asyncio.wait_for(elector.try_acquire_or_renew(), limit)
            except (TimeoutError, KubernetesError) as exc:
                self._failed(key, elector, describe(exc, elector.request, limit))
            else:
                if renewed:
                    if failed := self._failures.pop(name, 0):
                        log.info(
                            "appliance claim %s (%s): renewed again; %d attempt(s) had failed",
                            name,
                            key,
                            failed,
                        )
                elif elector.holding:
                    self._failed(key, elector, f"Conflict: {elector.request}: changed since it was read")
                else:  # another process holds it now: the elector stopped holding
                    self._failures.pop(name, None)
                    log.warning(
                        "appliance claim %s (%s): now held by %s; writes to this appliance are fenced",
                        name,
                        key,
                        elector.observed_holder or "another process",
                    )
        if elector.deadline_passed():
            elector.drop()  # fenced; the next write there tries to take it again
            log.warning(
                "appliance claim %s (%s): dropped, not renewed within the renew deadline (%.0f s; "
                "%d attempts failed); writes to this appliance are fenced until it is taken again",
                name,
                key,
                self.settings.renew_deadline,
                self._failures.pop(name, 0),
            )

    def _failed(self, key: str, elector: LeaseElector, what: str) -> None:
        name = elector.settings.name
        failed = self._failures[name] = self._failures.get(name, 0) + 1
        left = elector.renewal_due_in()
        if failed == 1:  # once per streak: a stalled API server fails every claim every round
            log.warning(
                "appliance claim %s (%s): renewal failed: %s; %.1f s left before the renew deadline "
                "(further failures at DEBUG until it renews or is dropped)",
                name,
                key,
                what,
                left,
            )
        else:
            log.debug("appliance claim %s: attempt %d failed: %s; %.1f s left", name, failed, what, left)

    async def release_all(self) -> None:
        async def release(elector: LeaseElector) -> None:
            with contextlib.suppress(TimeoutError, KubernetesError):
                await asyncio.wait_for(elector.release(), self.settings.retry_period)

        await asyncio.gather(*(release(elector) for elector in list(self._held.values())))


class ElectorThread:
    """Campaign for the Lease in a thread of its own (own event loop, own Kubernetes client).

    `on_acquired` and `on_lost` are called from that thread; `on_lost` once this process stops
    holding without having been asked to (renew deadline passed, another holder seen).
    """

    def __init__(
        self,
        access: ClusterAccess,
        settings: LeaseSettings,
        *,
        on_acquired: Callback,
        on_lost: Callback,
        on_released: Callback = lambda: None,
        claims: ApplianceClaims | None = None,
        transport: httpx.AsyncBaseTransport | None = None,
    ) -> None:
        self.claims = claims
        self._transport = transport  # tests: an API server that stalls or fails
        self.access = access
        self.settings = settings
        self._on_acquired, self._on_lost, self._on_released = on_acquired, on_lost, on_released
        self.elector: LeaseElector | None = None
        self._ready = threading.Event()
        self._loop: asyncio.AbstractEventLoop | None = None
        self._stop: asyncio.Event | None = None
        self._release = False
        self._thread = threading.Thread(target=self._main, name="lease-elector", daemon=True)
        self.renewals = 0
        """Successful renewals (not counting the take): for tests and diagnostics."""
        self._failures = 0  # tries failed in a row, for the log

    # ------------------------------------------------------------------ control, any thread
    def start(self) -> ElectorThread:
        self._thread.start()
        self._ready.wait(10)
        return self

    def stop(self, *, release: bool, timeout: float = 10.0) -> None:
        """End the campaign; with `release`, give the Lease up first if held. Blocks until done."""
        self._release = release
        if self._loop is not None and self._stop is not None and self._thread.is_alive():
            self._loop.call_soon_threadsafe(self._stop.set)
        self._thread.join(timeout)

    def write_budget(self) -> float:
        return self.elector.write_budget() if self.elector is not None else 0.0

    def grace_left(self) -> float:
        return self.elector.grace_left() if self.elector is not None else 0.0

    def deadline_passed(self) -> bool:
        return self.elector.deadline_passed() if self.elector is not None else False

    # ------------------------------------------------------------------ the thread
    def _main(self) -> None:
        asyncio.run(self._campaign())

    async def _campaign(self) -> None:
        self._loop, self._stop = asyncio.get_running_loop(), asyncio.Event()
        s = self.settings
        async with KubeClient(self.access, timeout=s.renew_deadline, transport=self._transport) as client:
            self.elector = elector = LeaseElector(client, s)
            if self.claims is not None:
                self.claims.attach(client, asyncio.get_running_loop())
            self._ready.set()
            if await self._acquire(elector):
                self._on_acquired()
                lost = await self._renew(elector)
                if lost:
                    self._on_lost()
                elif self._release and await self._quietly(elector, elector.release(), s.retry_period * 2):
                    self._on_released()
            if self.claims is not None and self._release:
                await self.claims.release_all()  # drained: the next owner of each appliance may write

    async def _attempt(self, elector: LeaseElector, limit: float) -> bool:
        held = bool(await self._quietly(elector, elector.try_acquire_or_renew(), limit))
        self._failures = 0 if held else self._failures
        return held

    async def _quietly(self, elector: LeaseElector, call: Any, limit: float) -> Any:
        limit = max(0.05, limit)
        try:
            return await asyncio.wait_for(call, limit)
        except (TimeoutError, KubernetesError) as exc:
            self._failures += 1
            if elector.holding:
                left = f"{elector.renewal_due_in():.1f} s left before the renew deadline"
            else:
                left = "not holding the Lease"
            log.warning(
                "lease %s/%s: attempt %d failed: %s; %s",
                self.settings.namespace,
                self.settings.name,
                self._failures,
                describe(exc, elector.request, limit),
                left,
            )
            return None

    async def _sleep(self, seconds: float) -> bool:
        """Sleep unless stopped first; True when stopped."""
        assert self._stop is not None
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(self._stop.wait(), seconds)
        return self._stop.is_set()

    async def _acquire(self, elector: LeaseElector) -> bool:
        s = self.settings
        assert self._stop is not None
        while not self._stop.is_set():
            if await self._attempt(elector, s.renew_deadline):
                return True
            # client-go's jitter: candidates that started together do not keep colliding.
            if await self._sleep(s.retry_period * random.uniform(1.0, 1.2)):
                break
        return False

    async def _renew(self, elector: LeaseElector) -> bool:
        """Renew until stopped (False) or until leadership is lost (True)."""
        s = self.settings
        claims: asyncio.Task[None] | None = None
        try:
            while not await self._sleep(s.retry_period):
                left = elector.renewal_due_in()
                if left > 0 and await self._attempt(elector, try_limit(left, s)):
                    self.renewals += 1
                    # The claims' round runs beside the election: a claim renewal the API server
                    # stalls must not delay the next renewal of the election's own Lease.
                    if self.claims is not None and (claims is None or claims.done()):
                        claims = asyncio.create_task(self.claims.renew_all(), name="claim-renewals")
                    continue
                if elector.deadline_passed() or not elector.holding:
                    elector.drop()
                    return True
            return False
        finally:
            if claims is not None:
                claims.cancel()
                await asyncio.gather(claims, return_exceptions=True)
