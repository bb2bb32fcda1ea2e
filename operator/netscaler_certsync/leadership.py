"""`netscaler-certsync run` with leader election: a ready standby until this process holds the
operator's Lease, then kopf with every handler, Secret watcher and timer; the write fence in front
of every NITRO write; a clean exit when the Lease is lost; release after a graceful stop.

Process model (see docs/design.md, "High availability"):
* standby: a liveness endpoint of its own (kopf's exists only while kopf runs), metrics, and the
  elector's thread campaigning; it never logs in to an appliance;
* leader: kopf starts at once; after taking over an *expired* Lease its writes wait out the
  takeover grace (the fence waits, reads and kopf's start-up do not);
* Lease lost (renew deadline passed, another holder seen): log, then exit with `LEASE_LOST_EXIT`
  at once, from whichever thread noticed it first; no further write or status patch can leave
  this process, and Kubernetes restarts it as a standby. NITRO sessions it leaves behind end
  with their idle timeout (sent at login);
* SIGTERM: kopf stops watching and lets the handlers in flight finish (their applies and saves,
  `settings.queueing.exit_timeout`); a retry sleeping out its delay is dropped (the next leader
  re-plans from the appliance). Then the Lease is released so a standby takes over at its next
  try instead of after the lease duration, and the process exits.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import signal
import sys
from collections.abc import Callable, Collection
from urllib.parse import urlparse

import aiohttp.web
import kopf

from netscaler_certsync.k8s import ClusterAccess, KubeClient
from netscaler_certsync.k8s.lease import LEASE_GROUP, ApplianceClaims, ElectorThread, LeaseSettings
from netscaler_certsync.nitro import errors
from netscaler_certsync.nitro.session import WriteGuard
from netscaler_certsync.nitro.wire import Call
from netscaler_certsync.reconcile.context import OperatorContext
from netscaler_certsync.reconcile.sessions import ApplianceGuard
from netscaler_certsync.shutdown import run_kopf

__all__ = ["LEASE_LOST_EXIT", "fence", "run_elected"]

log = logging.getLogger("netscaler_certsync.leadership")

#: Exit status after losing the Lease (the container restarts and stands by).
LEASE_LOST_EXIT = 3


def fence(elector: ElectorThread, lost: Callable[[], None]) -> WriteGuard:
    """The NITRO write guard: writes wait out a takeover grace, then may start only while this
    process holds the Lease by its own clock, and may take at most until the Lease would end."""

    async def guard(call: Call) -> float:
        wait = elector.grace_left()
        if wait > 0:
            await asyncio.sleep(wait)
        budget = elector.write_budget()
        if budget <= 0:
            if elector.deadline_passed():
                lost()  # the elector's thread may not have noticed yet (e.g. just after SIGCONT)
            raise errors.WriteFenced(
                f"{call.method} {call.resource}: not sent, this process does not hold the operator's Lease"
            )
        return budget

    return guard


def claim_fence(claims: ApplianceClaims) -> ApplianceGuard:
    """Shards: a write to an appliance also needs this process's claim on it (a Lease per
    appliance), so the shard a group moves to writes only after the old one let go."""

    async def guard(appliance: str, call: Call) -> float:
        budget = await claims.claim(appliance)
        if budget <= 0:
            raise errors.WriteFenced(
                f"{call.method} {call.resource}: not sent, {appliance} is claimed by "
                f"{claims.holder(appliance) or 'another process'} (Lease {claims.lease_name(appliance)})",
                retry_after=claims.retry_in(appliance),
            )
        return budget

    return guard


def exit_lost(settings: LeaseSettings) -> None:
    """Leave now: a deposed leader must not send one more write or status patch."""
    log.critical(
        "lost the Lease %s/%s (%s): exiting so that Kubernetes restarts this process as a standby",
        settings.namespace,
        settings.name,
        settings.identity,
    )
    for handler in logging.getLogger().handlers:
        with contextlib.suppress(Exception):
            handler.flush()
    sys.stdout.flush()
    sys.stderr.flush()
    os._exit(LEASE_LOST_EXIT)


async def _post_event(access: ClusterAccess, settings: LeaseSettings, reason: str, message: str) -> None:
    """An Event on the Lease, as client-go's leader election posts one (best effort)."""
    lease = {
        "apiVersion": f"{LEASE_GROUP}/v1",
        "kind": "Lease",
        "metadata": {"name": settings.name, "namespace": settings.namespace},
    }
    try:
        async with KubeClient(access, timeout=5) as client:
            await client.create_event(lease, reason, message)
    except Exception as exc:  # an Event is worth a try, never a failure
        log.warning("could not post the %s Event: %s", reason, exc)


class _StandbyHealth:
    """`/healthz` while kopf is not running, at kopf's own liveness address."""

    def __init__(self, endpoint: str | None) -> None:
        self._endpoint = endpoint
        self._runner: aiohttp.web.AppRunner | None = None

    async def start(self) -> None:
        if not self._endpoint:
            return
        url = urlparse(self._endpoint)

        async def healthz(_: aiohttp.web.Request) -> aiohttp.web.Response:
            return aiohttp.web.json_response({"standby": True})

        app = aiohttp.web.Application()
        app.router.add_get(url.path or "/", healthz)
        self._runner = aiohttp.web.AppRunner(app, handle_signals=False)
        await self._runner.setup()
        await aiohttp.web.TCPSite(self._runner, url.hostname, url.port or 80, reuse_address=True).start()

    async def stop(self) -> None:
        if self._runner is not None:
            await self._runner.cleanup()
            self._runner = None


async def run_elected(
    registry: kopf.OperatorRegistry,
    ctx: OperatorContext,
    access: ClusterAccess,
    settings: LeaseSettings,
    *,
    clusterwide: bool,
    namespaces: Collection[str],
    liveness: str | None,
) -> int:
    loop = asyncio.get_running_loop()
    stopping, leading = asyncio.Event(), asyncio.Event()
    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, stopping.set)
    metrics = ctx.metrics
    metrics.leader.set(0)
    where = f"{settings.namespace}/{settings.name}"

    def acquired() -> None:
        metrics.leader.set(1)
        metrics.leadership_changes.labels("acquired").inc()
        previous = elector.elector.previous_holder if elector.elector else ""
        how = (
            f"took over from {previous} after its lease expired"
            if elector.elector and elector.elector.took_over_expired
            else f"took over from {previous}"
            if previous
            else "the Lease was free"
        )
        message = f"{settings.identity} became the leader ({how})"
        log.info("Lease %s: %s", where, message)
        asyncio.run_coroutine_threadsafe(_post_event(access, settings, "LeaderElection", message), loop)
        loop.call_soon_threadsafe(leading.set)

    def lost() -> None:
        metrics.leader.set(0)
        metrics.leadership_changes.labels("lost").inc()
        exit_lost(settings)

    gave_up: list[str] = []

    def released() -> None:
        metrics.leader.set(0)
        metrics.leadership_changes.labels("released").inc()
        gave_up.append(f"{settings.identity} released the Lease (stopping)")
        log.info("Lease %s: %s", where, gave_up[-1])

    claims = ApplianceClaims(settings) if settings.claims else None
    elector = ElectorThread(
        access, settings, on_acquired=acquired, on_lost=lost, on_released=released, claims=claims
    )
    ctx.sessions.before_write = fence(elector, lost)
    if claims is not None:
        ctx.sessions.claim = claim_fence(claims)
    ctx.sessions.user_agent = f"netscaler-certsync ({settings.identity})"
    health = _StandbyHealth(liveness)
    await health.start()
    log.info("Lease %s: %s is a standby until it holds the Lease", where, settings.identity)
    elector.start()
    try:
        waiting = [asyncio.create_task(leading.wait()), asyncio.create_task(stopping.wait())]
        await asyncio.wait(waiting, return_when=asyncio.FIRST_COMPLETED)
        for task in waiting:
            task.cancel()
        if not leading.is_set():
            return 0
        await health.stop()

        @kopf.on.cleanup(registry=registry)
        async def release(**_: object) -> None:
            # kopf runs cleanup once every handler in flight has finished: release here, not when
            # kopf.operator() returns (kopf then still waits seconds for stray tasks).
            await asyncio.to_thread(elector.stop, release=True, timeout=settings.renew_deadline)
            while gave_up:
                await _post_event(access, settings, "LeaderElection", gave_up.pop(0))

        await run_kopf(
            registry,
            stopping,
            standalone=True,
            clusterwide=clusterwide,
            namespaces=list(namespaces),
            liveness_endpoint=liveness,
        )
        return 0
    finally:
        await health.stop()
        # Every handler has finished (or the operator never started): give the Lease up.
        await asyncio.to_thread(elector.stop, release=True, timeout=settings.renew_deadline)
        while gave_up:
            await _post_event(access, settings, "LeaderElection", gave_up.pop(0))
