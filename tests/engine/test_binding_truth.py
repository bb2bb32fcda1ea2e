"""Status tells the truth about bindings (issue 13): a manual sync request looks at the appliance
as it is now (defect 4), the read-back checks bindings, and two certificates of one sync never
fight over one vserver's default certificate (defect 3).

The reconciler runs without kopf against the simulator over HTTPS on loopback, with the
operator's snapshot reuse on (engine/snapshot.py) and its clock frozen: every listing an earlier
reconcile left is still "young". A binding removed by hand after that listing must be seen by a
`sync-requested-at` request and put back, and status must not say it is in place when it is not.
"""

from __future__ import annotations

import base64
from collections.abc import Mapping
from typing import Any

from certsync_devkit.pki import TestPKI
from netscaler_certsync.engine import Appliances
from netscaler_certsync.nitro import Credentials, NitroClient, TLSConfig
from netscaler_certsync.reconcile.certificatesync import SyncRequest, reconcile_sync
from netscaler_certsync.reconcile.context import OperatorContext, OperatorOptions
from netscaler_certsync.reconcile.outcome import Outcome
from netscaler_certsync.simulator import Simulator
from tests.support.engine import bindings
from tests.support.waiting import FakeClock

NS = "shop"
SPEC = {
    "connectionRefs": [{"name": "ns"}],
    "certificates": [{"secretName": "www"}],
    "bindings": [{"vserver": "vs_https"}],
}


def _secret(name: str, data: Mapping[str, bytes], type_: str = "Opaque") -> dict[str, Any]:
    return {
        "metadata": {"namespace": NS, "name": name},
        "type": type_,
        "data": {k: base64.b64encode(v).decode() for k, v in data.items()},
    }


def _context(sim: Simulator, pki: TestPKI, hosts: tuple[str, ...] = ("www",)) -> OperatorContext:
    secrets = {
        "creds": _secret("creds", {"username": b"nsroot", "password": b"nsroot"}),
        "ca": _secret("ca", {"ca.crt": sim.ca_pem or b""}),
    }
    for host in hosts:
        leaf = pki.leaf(f"{host}.example.com")
        secrets[host] = _secret(
            host, {"tls.crt": leaf.cert_pem, "tls.key": leaf.key_pem}, "kubernetes.io/tls"
        )

    async def get_secret(namespace: str, name: str) -> Mapping[str, Any] | None:
        return secrets.get(name) if namespace == NS else None

    async def list_secrets(namespace: str, selector: str) -> list[Mapping[str, Any]]:
        return []

    async def patch_sync_status(namespace: str, name: str, status: Mapping[str, Any]) -> None:
        pass

    return OperatorContext(
        get_secret=get_secret,
        list_secrets=list_secrets,
        patch_sync_status=patch_sync_status,
        options=OperatorOptions(snapshot_max_age_seconds=60.0),
        appliances=Appliances(FakeClock()),  # never advanced: every snapshot stays young
    )


async def _reconcile(
    ctx: OperatorContext,
    sim: Simulator,
    trigger: str,
    status: Mapping[str, Any],
    spec: Mapping[str, Any] = SPEC,
) -> Outcome:
    connection = {
        "spec": {
            "endpoint": sim.url,
            "credentialsSecretRef": {"name": "creds"},
            "tls": {"caSecretRef": {"name": "ca"}},
        },
        "status": {},
    }
    request = SyncRequest(
        NS, "web", 1, spec, status, trigger, sync_request="now" if trigger == "manual" else None
    )
    return await reconcile_sync(ctx, request, {(NS, "ns"): connection})


def _condition(outcome: Outcome, type_: str) -> str | None:
    return next((c.status for c in outcome.conditions if c.type == type_), None)


async def test_a_manual_request_sees_a_binding_removed_by_hand_and_puts_it_back(
    sim: Simulator, pki: TestPKI
) -> None:
    ctx = _context(sim, pki)
    first = await _reconcile(ctx, sim, "spec", {})
    certkey = first.status["certificates"][0]["certKeyName"]
    assert ("vs_https", certkey, False) in bindings(sim)
    # Someone removes the binding by hand, right after the listing the first reconcile left.
    async with NitroClient(sim.url, Credentials("nsroot", "nsroot"), tls=TLSConfig(ca_pem=sim.ca_pem)) as c:
        await c.unbind_certkey("vs_https", certkey)
    sim.clear_requests()
    forced = await _reconcile(ctx, sim, "manual", first.status)
    await ctx.sessions.close()
    # The request listed the appliance afresh and bound the certificate again.
    listings = [r for r in sim.requests if r.method == "GET" and r.resource == "sslcertkey" and not r.name]
    assert len(listings) == 1
    assert ("vs_https", certkey, False) in bindings(sim)
    assert forced.error is None
    assert _condition(forced, "Ready") == "True"


async def test_a_default_taken_over_within_the_snapshot_age_is_reported_not_claimed(
    sim: Simulator, pki: TestPKI
) -> None:
    ctx = _context(sim, pki)
    first = await _reconcile(ctx, sim, "spec", {})
    certkey = first.status["certificates"][0]["certKeyName"]
    theirs = pki.leaf("theirs.example.com")
    async with NitroClient(sim.url, Credentials("nsroot", "nsroot"), tls=TLSConfig(ca_pem=sim.ca_pem)) as c:
        await c.unbind_certkey("vs_https", certkey)
        await c.upload_file("theirs.crt", theirs.cert_pem)
        await c.upload_file("theirs.key", theirs.key_pem)
        await c.add_certkey("theirs", "theirs.crt", "theirs.key")
        await c.bind_certkey("vs_https", "theirs")
    # A reconcile that may start from the young snapshot does not see the change, but its
    # read-back does: status names the other certkey instead of saying the binding is in place.
    again = await _reconcile(ctx, sim, "spec", first.status)
    await ctx.sessions.close()
    entry = again.status["certificates"][0]
    assert (entry["verified"], entry["verificationReason"]) == (False, "BindingConflict")
    assert "theirs" in entry["verificationMessage"]
    assert _condition(again, "Ready") == "False"
    assert ("vs_https", "theirs", False) in bindings(sim)  # reported, not taken back on a snapshot


def _entry(outcome: Outcome, secret: str) -> Mapping[str, Any]:
    return next(e for e in outcome.status["certificates"] if e["secretName"] == secret)


async def test_two_defaults_in_one_sync_the_later_is_held_back_and_nothing_flaps(
    sim: Simulator, pki: TestPKI
) -> None:
    ctx = _context(sim, pki, hosts=("www", "api"))
    both = {**SPEC, "certificates": [{"secretName": "www"}, {"secretName": "api"}]}
    first = await _reconcile(ctx, sim, "spec", {}, both)
    # "api" comes first by name: it is the vserver's default; "www" is not deployed.
    winner, loser = _entry(first, "api"), _entry(first, "www")
    assert (winner["state"], winner["verified"]) == ("Synced", True)
    assert (loser["state"], loser["reason"]) == ("Failed", "BindingConflict")
    assert "api" in loser["message"]
    assert _condition(first, "Ready") == "False"
    warnings = [e for e in first.events if e.type == "Warning" and e.reason == "BindingConflict"]
    assert warnings and "api" in warnings[0].message
    assert [b for b in bindings(sim) if b[0] == "vs_https"] == [("vs_https", winner["certKeyName"], False)]
    sim.clear_requests()
    again = await _reconcile(ctx, sim, "manual", first.status, both)
    writes = [r for r in sim.requests if r.method != "GET" and r.resource not in ("login", "logout")]
    assert writes == []  # no binding taken back and forth
    assert _entry(again, "www")["reason"] == "BindingConflict"
    # The winner leaves the sync: the loser binds within one reconcile.
    alone = {**SPEC, "certificates": [{"secretName": "www"}]}
    after = await _reconcile(ctx, sim, "spec", again.status, alone)
    await ctx.sessions.close()
    entry = _entry(after, "www")
    assert (entry["state"], entry["verified"]) == ("Synced", True)
    assert [b for b in bindings(sim) if b[0] == "vs_https"] == [("vs_https", entry["certKeyName"], False)]
    assert _condition(after, "Ready") == "True"
