"""Intent before writes: what an apply may create is stored before its first write, so ownership
survives an apply cut off at any point — cancelled, or its process killed before the result was
stored — and a new process (a fresh engine state) still removes what the old one bound.

The harness stores records as the operator does: the intent handed to `on_intent` before the
first write, the result after; `restart()` drops the engine state, as a new process would.
"""

from __future__ import annotations

import pytest

from certsync_devkit.pki import TestPKI
from netscaler_certsync.engine import BindingSpec, CertState, Records
from netscaler_certsync.simulator import FaultRule, Simulator, run_simulator
from tests.support.engine import (
    SIM_CONFIG,
    Harness,
    bindings,
    certkeys,
    cut_off_after_bind,
    desired,
    files,
    orphans,
)

HTTPS, TWO = BindingSpec("vs_https"), BindingSpec("vs_two")


async def test_a_binding_made_by_a_killed_apply_is_removed_by_the_next_process(
    sim: Simulator, pki: TestPKI
) -> None:
    """Defect 5 (issue 14): the binding survived its removal from the spec, and the deletion of
    the sync left certkey, key file and binding behind as "not by this operator"."""
    h = Harness(sim)
    leaf = pki.leaf()
    first = await h.apply([desired(leaf, bindings=[HTTPS])])
    name = first.certificates[0].certkey
    await cut_off_after_bind(h, [desired(leaf, bindings=[HTTPS, TWO])])
    assert ("vs_two", name, False) in bindings(sim)

    h.restart()  # a new process: nothing but the stored records
    removed = await h.apply([desired(leaf, bindings=[HTTPS])])
    assert removed.certificates[0].state == CertState.SYNCED
    assert ("vs_two", name, False) not in bindings(sim)
    assert h.records.certificates[0].bindings == (HTTPS,)

    await cut_off_after_bind(h, [desired(leaf, bindings=[HTTPS, TWO])])
    h.restart()
    deleted = await h.apply([])  # the sync is deleted
    assert [c.state for c in deleted.certificates] == [CertState.REMOVED]
    assert certkeys(sim) == {} and bindings(sim) == set() and files(sim) == set()
    assert orphans(sim) == set()


async def test_a_new_certkey_bound_by_a_killed_apply_is_removed_with_the_sync(
    sim: Simulator, pki: TestPKI
) -> None:
    """A renewal that adds a new certkey (preserveOnRenewal: false) and binds it in place of the
    old one, killed before its result is stored: both certkeys and all bindings go on deletion."""
    h = Harness(sim, preserve_on_renewal=False)
    await h.apply([desired(pki.leaf(), bindings=[HTTPS])])
    await cut_off_after_bind(h, [desired(pki.leaf(), bindings=[HTTPS])])
    assert len(certkeys(sim)) == 2
    h.restart()
    await h.apply([])
    assert certkeys(sim) == {} and bindings(sim) == set() and files(sim) == set()


async def test_intent_is_stored_once_before_the_first_write_and_only_when_new(
    sim: Simulator, pki: TestPKI
) -> None:
    h = Harness(sim)
    leaf = pki.leaf()
    writes_before_store = []

    async def store(records: Records) -> None:
        writes_before_store.append(len([r for r in sim.requests if r.is_write and r.resource != "login"]))
        await Harness.store_intent(h, records)

    h.store_intent = store  # type: ignore[method-assign]
    await h.apply([desired(leaf, bindings=[HTTPS])])
    assert writes_before_store == [0]  # before the first write
    (record,) = h.intents[0].certificates
    assert record.bindings == (HTTPS,)

    await h.apply([desired(leaf, bindings=[HTTPS])])  # nothing to do: nothing stored
    await h.apply([desired(pki.leaf(), bindings=[HTTPS])])  # renewed in place: nothing new to own
    assert len(h.intents) == 1
    await h.apply([desired(pki.leaf(), bindings=[HTTPS, TWO])])  # a new binding: stored first
    assert len(h.intents) == 2 and h.intents[1].certificates[0].bindings == (HTTPS, TWO)


async def test_intent_costs_no_nitro_request(pki: TestPKI) -> None:
    """The same deployment, with and without storing intent, sends the same requests."""
    leaf = pki.leaf()
    sent = []
    for store in (True, False):
        async with run_simulator(SIM_CONFIG) as sim:
            h = Harness(sim)
            if not store:
                h.store_intent = None  # type: ignore[assignment]
            await h.apply([desired(leaf, bindings=[HTTPS])])
            await h.apply([desired(leaf, bindings=[HTTPS, TWO])])
            sent.append([(r.method, r.resource, r.action) for r in sim.requests])
            assert len(h.intents) == (2 if store else 0)
    assert sent[0] == sent[1]


@pytest.mark.parametrize("failure", [RuntimeError("the API server refused the patch")])
async def test_no_write_when_the_intent_cannot_be_stored(
    sim: Simulator, pki: TestPKI, failure: Exception
) -> None:
    h = Harness(sim)

    async def refuse(records: Records) -> None:
        raise failure

    h.store_intent = refuse  # type: ignore[method-assign]
    with pytest.raises(RuntimeError):
        await h.apply([desired(pki.leaf(), bindings=[HTTPS])])
    assert [r for r in sim.requests if r.is_write and r.resource not in ("login", "logout")] == []
    h.store_intent = Harness.store_intent.__get__(h)  # type: ignore[method-assign]
    result = await h.apply([desired(pki.leaf(), bindings=[HTTPS])])  # the next try goes through
    assert result.certificates[0].state == CertState.SYNCED


async def test_a_bind_answered_with_a_server_error_is_still_claimed_and_later_undone(
    sim: Simulator, pki: TestPKI
) -> None:
    """Found by the chaos tier (seed 1): the appliance made the binding and answered 503. The
    result's records dropped the binding, so the sync's deletion took it for someone else's and
    left certkey, files and binding behind. A write whose outcome is unknown stays claimed."""
    h = Harness(sim)
    leaf = pki.leaf()
    sim.faults.add(FaultRule(resource="sslvserver_sslcertkey_binding", method="PUT", phase="after"))
    failed = await h.apply([desired(leaf, bindings=[HTTPS])])
    assert failed.certificates[0].state == CertState.FAILED
    name = h.records.certificates[0].certkey
    assert ("vs_https", name, False) in bindings(sim)  # it did take effect
    assert HTTPS in h.records.certificates[0].bindings

    sim.faults.clear()
    h.restart()
    await h.apply([])  # the sync is deleted
    assert name not in certkeys(sim)
    assert orphans(sim) == set()
    assert not any(b[1] == name for b in bindings(sim))
