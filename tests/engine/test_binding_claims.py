"""One default certificate per (appliance, vserver, key type) across CertificateSyncs (issue 13).

Two syncs, in one namespace or two, that deploy to one simulator with a default binding on one
vserver: the earliest sync (creationTimestamp) keeps the vserver, the later one's certificate is
held back (`BindingConflict`, naming the winner), is not written, and nothing flaps. RSA and ECDSA
defaults do not clash. After a restart, a later sync does not take a slot before the earlier
syncs have reconciled. The reconciler runs without kopf against the simulator over HTTPS.
"""

from __future__ import annotations

import base64
import datetime as dt
from collections.abc import Mapping
from typing import Any

from certsync_devkit.pki import TestPKI
from netscaler_certsync.engine import Appliances
from netscaler_certsync.k8s import keys
from netscaler_certsync.reconcile.certificatesync import SyncRequest, reconcile_sync
from netscaler_certsync.reconcile.context import OperatorContext
from netscaler_certsync.reconcile.outcome import Outcome
from netscaler_certsync.simulator import Simulator
from tests.support.engine import bindings
from tests.support.waiting import FakeClock

NOW = dt.datetime.now(dt.UTC)
EARLY, LATE = "2026-01-01T00:00:00Z", "2026-02-01T00:00:00Z"


def _secret(ns: str, name: str, data: Mapping[str, bytes], type_: str = "Opaque") -> dict[str, Any]:
    return {
        "metadata": {"namespace": ns, "name": name},
        "type": type_,
        "data": {k: base64.b64encode(v).decode() for k, v in data.items()},
    }


class World:
    """Namespaces with one connection ("ns") each to the simulator, and TLS Secrets."""

    def __init__(self, sim: Simulator, pki: TestPKI) -> None:
        self.sim, self.pki = sim, pki
        self.secrets: dict[tuple[str, str], dict[str, Any]] = {}
        self.connections: dict[tuple[str, str], Mapping[str, Any]] = {}
        self.ctx = self.context()

    def context(self) -> OperatorContext:
        async def get_secret(namespace: str, name: str) -> Mapping[str, Any] | None:
            return self.secrets.get((namespace, name))

        async def list_secrets(namespace: str, selector: str) -> list[Mapping[str, Any]]:
            return []

        async def patch_sync_status(namespace: str, name: str, status: Mapping[str, Any]) -> None:
            pass

        return OperatorContext(
            get_secret=get_secret,
            list_secrets=list_secrets,
            patch_sync_status=patch_sync_status,
            clock=lambda: NOW,  # frozen: a due recheck stays due until it runs
            appliances=Appliances(FakeClock()),
        )

    def namespace(self, ns: str) -> None:
        self.secrets[(ns, "creds")] = _secret(ns, "creds", {"username": b"nsroot", "password": b"nsroot"})
        self.secrets[(ns, "ca")] = _secret(ns, "ca", {"ca.crt": self.sim.ca_pem or b""})
        self.connections[(ns, "ns")] = {
            "spec": {
                "endpoint": self.sim.url,
                "credentialsSecretRef": {"name": "creds"},
                "tls": {"caSecretRef": {"name": "ca"}},
            },
            "status": {},
        }

    def tls(self, ns: str, name: str, key_type: str = "ec") -> None:
        self.namespace(ns)
        leaf = self.pki.leaf(f"{name}.example.com", key_type=key_type)
        data = {"tls.crt": leaf.cert_pem, "tls.key": leaf.key_pem}
        self.secrets[(ns, name)] = _secret(ns, name, data, "kubernetes.io/tls")

    async def reconcile(
        self, ns: str, name: str, secret: str, created: str, status: Mapping[str, Any] | None = None
    ) -> Outcome:
        spec = {
            "connectionRefs": [{"name": "ns"}],
            "certificates": [{"secretName": secret}],
            "bindings": [{"vserver": "vs_https"}],
        }
        request = SyncRequest(ns, name, 1, spec, status or {}, "spec", created=created)
        try:
            return await reconcile_sync(self.ctx, request, self.connections)
        finally:
            await self.ctx.sessions.close()

    def requeued(self, ns: str, name: str) -> bool:
        return self.ctx.recheck_due(keys.SYNC_KIND, ns, name)


def _entry(outcome: Outcome) -> Mapping[str, Any]:
    return outcome.status["certificates"][0]


def _ready(outcome: Outcome) -> str | None:
    return next((c.status for c in outcome.conditions if c.type == "Ready"), None)


def _writes(sim: Simulator) -> list[Any]:
    return [r for r in sim.requests if r.method != "GET" and r.resource not in ("login", "logout")]


async def _two_syncs_one_vserver(sim: Simulator, pki: TestPKI, ns_early: str, ns_late: str) -> None:
    w = World(sim, pki)
    w.tls(ns_early, "www")
    w.tls(ns_late, "shop")
    first = await w.reconcile(ns_early, "early", "www", EARLY)
    sim.clear_requests()
    late = await w.reconcile(ns_late, "late", "shop", LATE)
    entry = _entry(late)
    assert (entry["state"], entry["reason"]) == ("Failed", "BindingConflict")
    assert f"{ns_early}/early" in entry["message"] and f"{ns_early}/www" in entry["message"]
    assert _ready(late) == "False"
    warnings = [e for e in late.events if e.type == "Warning" and e.reason == "BindingConflict"]
    assert warnings and f"{ns_early}/early" in warnings[0].message
    assert _writes(sim) == []  # not applied: not uploaded, not bound, nothing flaps
    winner = _entry(first)["certKeyName"]
    assert [b for b in bindings(sim) if b[0] == "vs_https"] == [("vs_https", winner, False)]
    again = await w.reconcile(ns_early, "early", "www", EARLY, first.status)
    assert (_entry(again)["state"], _ready(again)) == ("Synced", "True")  # the winner stays Ready
    assert _writes(sim) == []


async def test_two_syncs_in_one_namespace_the_later_is_held_back(sim: Simulator, pki: TestPKI) -> None:
    await _two_syncs_one_vserver(sim, pki, "shop", "shop")


async def test_two_syncs_in_two_namespaces_the_later_is_held_back(sim: Simulator, pki: TestPKI) -> None:
    await _two_syncs_one_vserver(sim, pki, "shop", "blog")


async def test_an_earlier_sync_takes_its_slot_and_the_displaced_one_is_looked_at_again(
    sim: Simulator, pki: TestPKI
) -> None:
    w = World(sim, pki)
    w.tls("a", "www")
    w.tls("b", "shop")
    late = await w.reconcile("b", "late", "shop", LATE)  # alone, it binds
    assert _entry(late)["state"] == "Synced"
    early = await w.reconcile("a", "early", "www", EARLY)
    assert _entry(early)["state"] == "Synced"
    assert w.requeued("b", "late")  # told at once that it lost the slot
    sim.clear_requests()
    late = await w.reconcile("b", "late", "shop", LATE, late.status)
    assert _entry(late)["reason"] == "BindingConflict"
    assert _writes(sim) == []  # left as it is: the loser does not take the default back


async def test_rsa_and_ecdsa_defaults_of_two_syncs_do_not_conflict(sim: Simulator, pki: TestPKI) -> None:
    w = World(sim, pki)
    w.tls("a", "www", key_type="rsa")
    w.tls("b", "shop", key_type="ec")
    rsa = await w.reconcile("a", "early", "www", EARLY)
    ecdsa = await w.reconcile("b", "late", "shop", LATE)
    for outcome in (rsa, ecdsa):
        assert _entry(outcome).get("reason") != "BindingConflict"
        assert _entry(outcome)["state"] == "Synced"
    assert not w.requeued("a", "early")
    both = sorted((_entry(rsa)["certKeyName"], _entry(ecdsa)["certKeyName"]))
    assert sorted(b[1] for b in bindings(sim) if b[0] == "vs_https" and not b[2]) == both
    rsa = await w.reconcile("a", "early", "www", EARLY, rsa.status)  # and it is still served
    assert (_entry(rsa)["verified"], _ready(rsa)) == (True, "True")


async def test_after_a_restart_a_later_sync_waits_for_the_earlier_ones(sim: Simulator, pki: TestPKI) -> None:
    w = World(sim, pki)
    w.tls("a", "www")
    w.tls("b", "shop")
    early = await w.reconcile("a", "early", "www", EARLY)
    # The operator restarts: a fresh index that knows both syncs from kopf's listing.
    w.ctx = w.context()
    w.ctx.claims.known("a/early", EARLY)
    w.ctx.claims.known("b/late", LATE)
    sim.clear_requests()
    late = await w.reconcile("b", "late", "shop", LATE)  # its turn comes first
    assert _entry(late)["reason"] == "BindingConflict"
    assert "a/early" in _entry(late)["message"]
    assert _writes(sim) == []  # the earlier sync's default is not stolen
    assert not w.requeued("b", "late")
    again = await w.reconcile("a", "early", "www", EARLY, early.status)
    assert _entry(again)["state"] == "Synced"
    assert w.requeued("b", "late")  # the earlier sync reported: the later one looks again
    late = await w.reconcile("b", "late", "shop", LATE, late.status)
    assert "CertificateSync a/early, created earlier" in _entry(late)["message"]
    winner = _entry(early)["certKeyName"]
    assert [b for b in bindings(sim) if b[0] == "vs_https"] == [("vs_https", winner, False)]


async def test_a_wake_that_comes_while_the_waiting_sync_is_still_finishing_is_not_lost(
    sim: Simulator, pki: TestPKI
) -> None:
    """CI failure: the earlier sync reported between the later one's claim and the end of its
    handler, whose "stalled: look again only on a change" erased the wake; it waited forever."""
    w = World(sim, pki)
    w.tls("a", "www")
    w.tls("b", "shop")
    w.ctx.claims.known("a/early", EARLY)
    w.ctx.claims.known("b/late", LATE)
    late = await w.reconcile("b", "late", "shop", LATE)
    assert "waiting for 1 CertificateSync" in _entry(late)["message"]
    await w.reconcile("a", "early", "www", EARLY)  # reports while "late" is still writing status
    w.ctx.schedule_recheck(keys.SYNC_KIND, "b", "late", None)  # what finish() does for a stall
    assert w.requeued("b", "late")
    w.ctx.take_wake(keys.SYNC_KIND, "b", "late")  # its re-check starts: the wake is answered
    assert not w.requeued("b", "late")
