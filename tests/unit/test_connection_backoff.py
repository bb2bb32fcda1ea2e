"""A NetScalerConnection that cannot reach its appliance is retried after 2, 4, 8 s... up to the
failure table's delay, and starts again at 2 s after a success (the check itself is real: a
login to a closed port on 127.0.0.1). The NITRO client's own backoff between its attempts inside
one check (tests/nitro pins it) is set to zero here: it is real waiting, not what this test is about."""

from __future__ import annotations

import asyncio
import base64
import socket
from typing import Any

import pytest

from netscaler_certsync.nitro import RetryPolicy
from netscaler_certsync.reconcile.connection import reconcile_connection
from netscaler_certsync.reconcile.context import OperatorContext


def _closed_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _b64(text: str) -> str:
    return base64.b64encode(text.encode()).decode()


async def _secret(_: str, name: str) -> dict[str, Any] | None:
    return {"data": {"username": _b64("nsroot"), "password": _b64("nsroot")}} if name == "login" else None


async def _none(*_: object) -> list[Any]:
    return []


def test_unreachable_is_retried_after_seconds_then_doubling(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(RetryPolicy, "delay", lambda *_args, **_kw: 0.0)
    ctx = OperatorContext(get_secret=_secret, list_secrets=_none)
    spec = {
        "endpoint": f"http://127.0.0.1:{_closed_port()}",
        "allowInsecureHTTP": True,
        "credentialsSecretRef": {"name": "login"},
        "timeoutSeconds": 2,
    }

    async def delays(n: int) -> list[tuple[str, float | None]]:
        out = []
        for _ in range(n):
            outcome = await reconcile_connection(ctx, "ns", "adc", spec, {})
            assert outcome.error is not None
            out.append((outcome.error.reason, outcome.error.retry_after))
        return out

    assert asyncio.run(delays(4)) == [("Unreachable", d) for d in (2.0, 4.0, 8.0, 15.0)]
    ctx.failure_streak("NetScalerConnection", "ns", "adc", failed=False)  # what a success does
    assert asyncio.run(delays(1)) == [("Unreachable", 2.0)]
