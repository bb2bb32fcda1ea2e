"""Which versions of a CertificateSync only echo our own intent writes (reconcile/echoes.py)."""

from __future__ import annotations

from typing import Any

from netscaler_certsync.k8s import keys
from netscaler_certsync.reconcile.echoes import StatusEchoes
from netscaler_certsync.reconcile.triggers import SECRET_CHANGED

INTENT = [{"name": "adc", "records": {"certificates": [], "pending": True}}]


def _body(version: str, generation: int = 1, **annotations: str) -> dict[str, Any]:
    kopf_state = {f"{keys.STATE_PREFIX}/last-handled-configuration": version}  # kopf's own: not an input
    return {
        "metadata": {
            "namespace": "default",
            "name": "a",
            "uid": "u1",
            "resourceVersion": version,
            "generation": generation,
            "annotations": {**kopf_state, **annotations},
        },
        "status": {"connections": INTENT},
    }


def _reconcile(echoes: StatusEchoes, body: dict[str, Any], *writes: str, finished: bool = True) -> None:
    """A reconcile of `body` that writes intents making `writes` (versions), then ends."""
    assert not echoes.already_reconciled(body)
    for version in writes:
        write = echoes.sending("default", "a", INTENT)
        echoes.sent("default", "a", write, version)
    if finished:
        echoes.finished(body)


def test_our_write_seen_after_its_reconcile_finished_is_an_echo() -> None:
    echoes = StatusEchoes()
    _reconcile(echoes, _body("10"), "11")
    assert echoes.already_reconciled(_body("11"))
    assert echoes.already_reconciled(_body("11")), "however often kopf sees it"


def test_a_version_not_ours_is_reconciled() -> None:
    echoes = StatusEchoes()
    _reconcile(echoes, _body("10"), "11")
    assert not echoes.already_reconciled(_body("12"))


def test_our_write_is_no_echo_while_its_reconcile_has_not_finished() -> None:
    """A reconcile that failed (kopf retries it) or is still running has not done the work."""
    echoes = StatusEchoes()
    _reconcile(echoes, _body("10"), "11", finished=False)
    assert not echoes.already_reconciled(_body("11"))


def test_a_change_our_write_carries_is_reconciled() -> None:
    """A change that landed while the reconcile ran is in our write's version: not an echo."""
    for changed in (
        _body("11", generation=2),  # the spec
        _body("11", **{keys.SYNC_REQUESTED_AT: "now"}),  # a manual request
        _body("11", **{SECRET_CHANGED: "v2"}),  # a Secret's trigger
    ):
        echoes = StatusEchoes()
        _reconcile(echoes, _body("10"), "11")
        assert not echoes.already_reconciled(changed), changed["metadata"]


def test_a_later_reconcile_ends_the_earlier_ones_echoes() -> None:
    echoes = StatusEchoes()
    _reconcile(echoes, _body("10"), "11")
    _reconcile(echoes, _body("12", **{keys.SYNC_REQUESTED_AT: "now"}), finished=False)
    assert not echoes.already_reconciled(_body("11"))


def test_the_watch_event_of_our_write_is_named_once() -> None:
    echoes = StatusEchoes()
    assert not echoes.already_reconciled(_body("10"))
    write = echoes.sending("default", "a", INTENT)
    echoes.sent("default", "a", write, "11")
    assert not echoes.own_write_event(_body("10"))
    assert echoes.own_write_event(_body("11"))
    assert not echoes.own_write_event(_body("11")), "a second delivery is kopf's to judge"


def test_the_watch_event_before_the_writes_answer_is_named_by_content_and_inputs() -> None:
    echoes = StatusEchoes()
    assert not echoes.already_reconciled(_body("10"))
    write = echoes.sending("default", "a", INTENT)
    # a user's change that already carries our status (our write was a no-op) is not ours
    assert not echoes.own_write_event(_body("11", generation=2))
    assert echoes.own_write_event(_body("12"))
    echoes.sent("default", "a", write, "12")
    assert not echoes.own_write_event(_body("12")), "its event was seen: none is left to take out"


def test_a_deleted_sync_is_forgotten() -> None:
    echoes = StatusEchoes()
    _reconcile(echoes, _body("10"), "11")
    echoes.forget("default", "a")
    assert not echoes.already_reconciled(_body("11"))
