"""The operator process collects young garbage rarely enough that a relist's pages die first."""

from __future__ import annotations

import gc

from netscaler_certsync import runtime


def test_the_operator_process_tunes_the_collector_for_relists() -> None:
    saved = gc.get_threshold()
    try:
        runtime.tune_collector()
        young, *_ = gc.get_threshold()
        assert young >= 50_000, "a relist of thousands of objects would run a full collection each second"
    finally:
        gc.set_threshold(*saved)
