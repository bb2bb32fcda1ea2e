"""Bulk requests: arrays in the body, X-NITRO-ONERROR exit/continue/rollback, 207 partial results."""

from __future__ import annotations

import base64

from netscaler_certsync.simulator import Simulator
from tests.simulator.helpers import Nitro, assert_done

FILES = "systemfile"


def files(*names: str) -> dict:
    content = base64.b64encode(b"x").decode()
    return {FILES: [{"filename": n, "filelocation": "/nsconfig/ssl", "filecontent": content} for n in names]}


async def test_bulk_success(nitro: Nitro, sim: Simulator) -> None:
    body = assert_done(await nitro.post(FILES, files("a", "b")), 201)
    assert [r["errorcode"] for r in body["response"]] == [0, 0]
    assert sim.state.default.read_path("b") == b"x"


async def test_bulk_continue_reports_207(nitro: Nitro, sim: Simulator) -> None:
    await nitro.upload("b", b"old")
    response = await nitro.post(
        FILES, files("a", "b", "c"), headers={**nitro.headers, "X-NITRO-ONERROR": "continue"}
    )
    assert response.status_code == 207
    body = response.json()
    assert (body["errorcode"], body["message"], body["severity"]) == (1243, "Bulk operation failed", "ERROR")
    assert [r["errorcode"] for r in body["response"]] == [0, 1642, 0]
    assert sim.state.default.read_path("c") == b"x"


async def test_bulk_exit_stops_at_first_failure(nitro: Nitro, sim: Simulator) -> None:
    await nitro.upload("b", b"old")
    response = await nitro.post(
        FILES, files("a", "b", "c"), headers={**nitro.headers, "X-NITRO-ONERROR": "exit"}
    )
    assert response.status_code == 207
    # Only the failed operation is listed (NRD error-and-exception-handling.md), not the ones before it.
    assert [r["errorcode"] for r in response.json()["response"]] == [1642]
    assert sim.state.default.read_path("a") == b"x" and sim.state.default.read_path("c") is None


async def test_bulk_rollback_undoes(nitro: Nitro, sim: Simulator) -> None:
    await nitro.upload("b", b"old")
    response = await nitro.post(
        FILES, files("a", "b", "c"), headers={**nitro.headers, "X-NITRO-ONERROR": "rollback"}
    )
    assert response.status_code == 207
    assert sim.state.default.read_path("a") is None and sim.state.default.read_path("b") == b"old"


async def test_bulk_delete_with_action_rm(nitro: Nitro, sim: Simulator) -> None:
    await nitro.post(FILES, files("a", "b"))
    body = {
        FILES: [
            {"filename": "a", "filelocation": "/nsconfig/ssl"},
            {"filename": "b", "filelocation": "/nsconfig/ssl"},
        ]
    }
    assert_done(await nitro.post(f"{FILES}?action=rm", body))
    assert sim.state.default.read_path("a") is None and sim.state.default.read_path("b") is None
