"""kopf's retry of a transient failure waits the failure table's delay unless the operator's
options cap it (tests cap it so that checking a retry does not cost them 30 s)."""

from __future__ import annotations

import pytest

from netscaler_certsync.handlers.outcomes import retry_delay
from netscaler_certsync.reconcile import failures
from netscaler_certsync.reconcile.context import OperatorContext, OperatorOptions
from netscaler_certsync.reconcile.reasons import ConfigNotSaved


async def _none(*_: object) -> None:
    return None


def _ctx(**options: float) -> OperatorContext:
    return OperatorContext(get_secret=_none, list_secrets=_none, options=OperatorOptions(**options))


def test_without_a_cap_the_failure_tables_delay_is_kept() -> None:
    table_delay = failures.policy(ConfigNotSaved).retry_after
    assert table_delay == 30
    assert retry_delay(_ctx(), table_delay) == 30


@pytest.mark.parametrize(("delay", "cap", "waited"), [(30.0, 2.0, 2.0), (1.0, 2.0, 1.0), (10.0, 0.5, 0.5)])
def test_a_cap_shortens_only_longer_delays(delay: float, cap: float, waited: float) -> None:
    assert retry_delay(_ctx(max_retry_delay_seconds=cap), delay) == waited
