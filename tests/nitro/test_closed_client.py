"""A client used after it was closed fails with a NITRO error, not httpx's RuntimeError.

The operator closes clients while other tasks may still hold them: at shutdown (a drift-check
timer still running) and when a connection's settings change (the replaced session is logged out
between reconciles while another sync may be mid-apply). A RuntimeError escaped the error table
and surfaced as a handler traceback; a `SessionClosedError` is a transport failure that nothing
reached the appliance, so the apply stops cleanly and the next reconcile uses the new client.
"""

from __future__ import annotations

import pytest

from netscaler_certsync.engine.errors import classify
from netscaler_certsync.nitro import errors
from netscaler_certsync.simulator import Simulator
from tests.support.nitro import ClientFactory


async def test_a_request_on_a_closed_client_is_a_nitro_error_and_sends_nothing(
    sim: Simulator, make_client: ClientFactory
) -> None:
    client = make_client()
    await client.version()
    await client.close()
    before = len(sim.requests)

    with pytest.raises(errors.SessionClosedError) as caught:
        await client.list_certkeys()

    assert isinstance(caught.value, errors.TransportError) and not caught.value.sent
    assert not errors.is_retryable(caught.value)  # the same closed client would fail again
    assert classify(caught.value).aborts  # the apply stops; nothing half-done to report
    assert len(sim.requests) == before
