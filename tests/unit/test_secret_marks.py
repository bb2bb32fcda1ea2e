"""A Secret change's mark is answered once between the re-check that renews at once and kopf's
handler of the mark, whichever holds the object lock first (decision 237)."""

from __future__ import annotations

import datetime as dt
from typing import Any

from netscaler_certsync.k8s import keys
from netscaler_certsync.reconcile.context import OperatorContext

NOW = dt.datetime(2026, 12, 6, 12, 0, tzinfo=dt.UTC)
KEY = ("default", "web")


async def _unused(*_: object) -> Any:
    raise AssertionError("not read in this test")


def _ctx() -> OperatorContext:
    return OperatorContext(get_secret=_unused, list_secrets=_unused, clock=lambda: NOW)


def test_a_mark_makes_the_sync_due_now() -> None:
    ctx = _ctx()
    ctx.drift.set(KEY, NOW + dt.timedelta(hours=1))
    ctx.secret_marked(*KEY, "web@10")
    assert ctx.has_secret_mark(*KEY) and ctx.drift.due_at(KEY) == NOW


def test_a_mark_right_after_a_recheck_is_not_held_to_the_tick() -> None:
    ctx = _ctx()
    ctx.drift.set(KEY, NOW)
    assert ctx.drift.take(NOW) == KEY  # a re-check starts: the next one not before a tick later
    ctx.secret_marked(*KEY, "web@10")
    assert ctx.drift.due_at(KEY) == NOW, "a renewal waited out the drift tick"


def test_kopf_skips_a_mark_the_recheck_answered_but_not_a_newer_one() -> None:
    ctx = _ctx()
    ctx.secret_marked(*KEY, "web@10")
    assert ctx.take_secret_mark(*KEY) == "web@10"  # the re-check renews
    assert not ctx.has_secret_mark(*KEY)
    assert ctx.answer_secret_mark(*KEY, "web@10") is False, "kopf reconciled the same change again"
    ctx.secret_marked(*KEY, "web@11")  # renewed again; kopf delivers it first this time
    assert ctx.answer_secret_mark(*KEY, "web@11") is True
    assert ctx.take_secret_mark(*KEY) is None, "the re-check reconciled what kopf's handler did"


def test_kopf_retrying_its_own_failed_handler_is_never_skipped() -> None:
    ctx = _ctx()
    ctx.secret_marked(*KEY, "web@10")
    assert ctx.answer_secret_mark(*KEY, "web@10") is True  # kopf first; its reconcile fails
    assert ctx.answer_secret_mark(*KEY, "web@10") is True, "kopf's retry was skipped"
    assert not ctx.has_secret_mark(*KEY)


def test_a_transient_failure_keeps_the_mark_for_its_retry_unless_a_newer_one_came() -> None:
    ctx = _ctx()
    ctx.secret_marked(*KEY, "web@10")
    mark = ctx.take_secret_mark(*KEY)
    assert mark is not None
    ctx.retry_secret_mark(*KEY, mark)
    assert ctx.answer_secret_mark(*KEY, "web@10") is False, "kopf must leave the retry to the re-check"
    assert ctx.take_secret_mark(*KEY) == "web@10"  # the retry renews
    ctx.secret_marked(*KEY, "web@12")
    ctx.retry_secret_mark(*KEY, "web@10")
    assert ctx.take_secret_mark(*KEY) == "web@12"


def test_forgetting_a_deleted_sync_drops_its_marks() -> None:
    ctx = _ctx()
    ctx.secret_marked(*KEY, "web@10")
    ctx.forget(keys.SYNC_KIND, *KEY)
    assert not ctx.has_secret_mark(*KEY)
    assert ctx.answer_secret_mark(*KEY, "web@10") is True
