"""Which syncs a relabelled Secret concerns: those whose selection it entered or left."""

from __future__ import annotations

from netscaler_certsync.reconcile.triggers import TriggerIndex

SEL = {"secretSelector": {"matchLabels": {"deploy": "yes"}}}
YES, NO = {"deploy": "yes"}, {}


def deployed(*names: str) -> dict[str, object]:
    return {"certificates": [{"secretName": n, "state": "Synced"} for n in names]}


def test_selected_and_deselected_secrets_reach_the_selector_sync() -> None:
    index = TriggerIndex()
    index.update("ns", "sel", SEL, deployed("a"))
    index.update("ns", "named", {"certificates": [{"secretName": "a"}]})  # labels do not matter to it
    index.update("other", "sel", SEL)
    assert index.relabelled("ns", "b", YES) == ["sel"]  # entered the selection
    assert index.relabelled("ns", "a", NO) == ["sel"]  # left it (the status lists it)
    assert index.relabelled("ns", "c", NO) == []  # neither before nor after


def test_a_quick_deselection_reaches_the_sync_still_deploying_it() -> None:
    index = TriggerIndex()
    index.update("ns", "sel", SEL, deployed())
    assert index.relabelled("ns", "b", YES) == ["sel"]
    # The status does not list "b" yet (its reconcile is running): it must still hear of this.
    assert index.relabelled("ns", "b", NO) == ["sel"]
    assert index.relabelled("ns", "b", NO) == []  # nothing more to tell


def test_the_status_takes_over_from_the_in_memory_mark() -> None:
    index = TriggerIndex()
    index.update("ns", "sel", SEL, deployed())
    index.relabelled("ns", "b", YES)
    index.update("ns", "sel", SEL, deployed("b"))
    index.update("ns", "sel", SEL, {"certificates": [{"secretName": "b", "state": "Removed"}]})
    assert index.relabelled("ns", "b", NO) == []  # removed, and the mark is gone with the status
