"""Conditions follow metav1.Condition and kstatus: what `kubectl get`, Flux and Argo CD read."""

from __future__ import annotations

import datetime as dt

import pytest

from netscaler_certsync.reconcile import conditions as c

T0 = dt.datetime(2026, 11, 27, 12, 0, 0, tzinfo=dt.UTC)
T1 = T0 + dt.timedelta(minutes=5)


def test_first_write_sets_transition_time_and_generation() -> None:
    out = c.merge_conditions(None, c.ready("Synced", "2 certificates on 1 appliance"), 3, clock=lambda: T0)
    ready = c.get(out, c.READY)
    assert ready == {
        "type": "Ready",
        "status": "True",
        "reason": "Synced",
        "message": "2 certificates on 1 appliance",
        "lastTransitionTime": "2026-11-27T12:00:00Z",
        "observedGeneration": 3,
    }
    assert [x["type"] for x in out] == ["Ready", "Reconciling", "Stalled"]
    assert c.get(out, c.STALLED)["status"] == "False"


def test_transition_time_kept_unless_status_flips() -> None:
    first = c.merge_conditions(None, c.ready("Synced", "ok"), 1, clock=lambda: T0)
    same = c.merge_conditions(first, c.ready("Synced", "still ok"), 2, clock=lambda: T1)
    assert c.get(same, c.READY)["lastTransitionTime"] == "2026-11-27T12:00:00Z"
    assert c.get(same, c.READY)["observedGeneration"] == 2
    flipped = c.merge_conditions(same, c.stalled("KeyMismatch", "key does not match"), 2, clock=lambda: T1)
    assert c.get(flipped, c.READY)["lastTransitionTime"] == "2026-11-27T12:05:00Z"
    assert c.get(flipped, c.STALLED)["status"] == "True"
    assert c.get(flipped, c.RECONCILING)["status"] == "False"


def test_other_condition_types_are_kept() -> None:
    existing = [{"type": "Authenticated", "status": "True", "reason": "LoggedIn", "message": ""}]
    out = c.merge_conditions(existing, c.progressing("Unreachable", "timed out"), 1, clock=lambda: T0)
    assert c.get(out, "Authenticated")["reason"] == "LoggedIn"
    assert c.get(out, c.RECONCILING)["status"] == "True"


@pytest.mark.parametrize("reason", ["", "has space", "1Leading", "trailing,"])
def test_reason_must_be_one_camel_case_word(reason: str) -> None:
    with pytest.raises(ValueError, match="CamelCase"):
        c.Condition("Ready", "True", reason)
