"""The engine decides whether to save from what it knows, never by asking the appliance.

`show ns config` (NITRO `GET nsconfig`) is not in the least-privilege command policy of
docs/netscaler-setup.md. Asking it made every first sync after a start that wrote nothing (a
failing first sync, every unchanged sync after a restart) report `ConfigNotSaved` and save
needlessly next time (issue 17). Here the applies run as a user restricted to exactly that policy.
"""

from __future__ import annotations

import dataclasses
from collections.abc import AsyncIterator

import pytest

from certsync_devkit.pki import TestPKI
from certsync_devkit.policy import command_policy
from netscaler_certsync.domain import reasons
from netscaler_certsync.engine import BindingSpec, CertState, SyncAborted
from netscaler_certsync.nitro import Credentials
from netscaler_certsync.simulator import RestrictedUser, Simulator, run_simulator
from tests.support.engine import SIM_CONFIG, Harness, cut_off_after_bind, desired

USER = Credentials("certsync", "certsync-pw")
HTTPS = BindingSpec("vs_https")


@pytest.fixture
async def sim() -> AsyncIterator[Simulator]:
    """The engine tier's simulator, with a user restricted to the documented command policy."""
    restricted = RestrictedUser(USER.username, USER.password, command_policy())
    config = dataclasses.replace(SIM_CONFIG, restricted_users=(restricted,))
    async with run_simulator(config) as simulator:
        yield simulator
        assert simulator.check_invariants() == []


def _harness(sim: Simulator) -> Harness:
    return Harness(sim, credentials=USER)


def _asked(sim: Simulator) -> int:
    return sum(1 for r in sim.requests if r.resource == "nsconfig" and not r.is_write)


def _saves(sim: Simulator) -> int:
    return sum(1 for r in sim.requests if r.resource == "nsconfig" and r.is_write)


def _refused(sim: Simulator) -> list[str]:
    return [f"{r.method} {r.resource}" for r in sim.requests if r.status == 403]


async def test_a_first_sync_that_fails_before_writing_reports_its_own_reason(
    sim: Simulator, pki: TestPKI
) -> None:
    result = await _harness(sim).apply([desired(pki.leaf(), bindings=[BindingSpec("vs_missing")])])
    assert [c.reason for c in result.certificates] == [reasons.VServerNotFound]
    assert result.not_saved is None and not result.records.unsaved
    assert (_asked(sim), _saves(sim), _refused(sim)) == (0, 0, [])


async def test_a_restart_with_nothing_to_do_reports_synced_and_does_not_save(
    sim: Simulator, pki: TestPKI
) -> None:
    h = _harness(sim)
    leaf = pki.leaf()
    await h.apply([desired(leaf, bindings=[HTTPS])])
    sim.requests.clear()
    h.restart()  # a new operator process (helm upgrade)
    result = await h.apply([desired(leaf, bindings=[HTTPS])])
    assert [c.state for c in result.certificates] == [CertState.SYNCED]
    assert result.not_saved is None and not result.saved and result.writes == 0
    assert (_asked(sim), _saves(sim), _refused(sim)) == (0, 0, [])


async def test_writes_of_an_apply_cut_short_are_saved_by_the_next_apply_in_the_process(
    sim: Simulator, pki: TestPKI
) -> None:
    h = _harness(sim)
    await cut_off_after_bind(h, [desired(pki.leaf(), bindings=[HTTPS])])
    assert _saves(sim) == 0
    other = Harness(sim, appliances=h.appliances, credentials=USER, owner="shop/other")
    result = await other.apply([])  # another sync, nothing of its own to write
    assert result.saved and result.not_saved is None
    assert (_asked(sim), _saves(sim), _refused(sim)) == (0, 1, [])


async def test_a_process_stopped_after_its_intent_has_the_next_process_save(
    sim: Simulator, pki: TestPKI
) -> None:
    h = _harness(sim)
    leaf = pki.leaf()
    await cut_off_after_bind(h, [desired(leaf, bindings=[HTTPS])])
    assert h.records.pending and _saves(sim) == 0
    h.restart()
    result = await h.apply([desired(leaf, bindings=[HTTPS])])
    assert result.saved and not result.records.pending
    assert (_asked(sim), _saves(sim), _refused(sim)) == (0, 1, [])
    sim.requests.clear()
    quiet = await h.apply([desired(leaf, bindings=[HTTPS])])  # saved now: nothing left to save
    assert not quiet.saved and _saves(sim) == 0


async def test_an_apply_with_nothing_to_send_still_proves_its_credentials(
    sim: Simulator, pki: TestPKI
) -> None:
    """Without the `nsconfig` read, an apply that reused another session's snapshot and had
    nothing to write sent no request at all: wrong credentials went unnoticed (Unchanged)."""
    leaf = pki.leaf()
    first = Harness(sim, credentials=USER, snapshot_max_age=60)
    await first.apply([desired(leaf, bindings=[HTTPS])])
    wrong = Harness(
        sim, appliances=first.appliances, credentials=Credentials(USER.username, "wrong"), snapshot_max_age=60
    )
    wrong.records = first.records
    with pytest.raises(SyncAborted) as err:
        await wrong.apply([desired(leaf, bindings=[HTTPS])])
    assert err.value.reason == reasons.AuthenticationFailed
