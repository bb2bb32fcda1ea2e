"""Retries and read-back against injected faults, proven from the simulator's request log."""

from __future__ import annotations

from typing import Any

import pytest

from certsync_devkit.pki import TestPKI
from netscaler_certsync.nitro import RequestEvent, errors
from netscaler_certsync.simulator import FaultRule, Simulator
from tests.support.nitro import ClientFactory


def log(sim: Simulator, resource: str, *, answered: bool = False) -> list[tuple[str, int, int]]:
    """(method, status, errorcode) of every request for `resource`; status 0 = connection dropped.

    A request hung by a "timeout" fault is logged only when its hang ends, which may be after the
    test: `answered=True` keeps the requests that got an answer, and `FaultRule.fired` counts the rest.
    """
    return [
        (r.method, r.status, r.errorcode)
        for r in sim.requests
        if r.resource == resource and (r.status or not answered)
    ]


@pytest.mark.parametrize(
    "fault_kwargs",
    [
        {"kind": "error", "status": 503, "errorcode": 0, "message": "busy"},
        {"kind": "error", "status": 500, "errorcode": 1, "message": "oops"},
        {"kind": "reset"},
        {"kind": "timeout", "hang": 2.0},
    ],
    ids=["503", "500", "reset", "timeout"],
)
async def test_reads_are_retried_until_they_succeed(
    sim: Simulator, make_client: ClientFactory, fault_kwargs: dict[str, Any]
) -> None:
    fault = sim.faults.add(FaultRule(resource="sslcertkey", method="GET", times=2, **fault_kwargs))
    events: list[RequestEvent] = []
    async with make_client(timeout=0.3, on_request=[events.append]) as client:
        found = await client.list_certkeys()
    assert "ns-server-certificate" in {c.name for c in found}
    assert fault.fired == 2  # two failed tries reached the appliance...
    assert [entry for entry in log(sim, "sslcertkey", answered=True) if entry[1] == 200] == [("GET", 200, 0)]
    assert [e.attempt for e in events if e.resource == "sslcertkey"] == [1, 2, 3]


async def test_reads_give_up_after_the_policy(sim: Simulator, make_client: ClientFactory) -> None:
    sim.faults.add(FaultRule(kind="error", resource="nsversion", status=502, errorcode=0))
    async with make_client() as client:
        with pytest.raises(errors.ServerError):
            await client.version()
    assert log(sim, "nsversion") == [("GET", 502, 0)] * 3


async def test_599_is_not_retried(sim: Simulator, make_client: ClientFactory) -> None:
    sim.faults.add(FaultRule(kind="error", resource="nsversion", status=599, errorcode=1461, times=1))
    async with make_client() as client:
        with pytest.raises(errors.NetScalerError):
            await client.version()
    assert log(sim, "nsversion") == [("GET", 599, 1461)]


@pytest.mark.parametrize("status", [500, 503])
async def test_writes_are_not_retried_on_5xx(
    sim: Simulator, make_client: ClientFactory, pki: TestPKI, status: int
) -> None:
    leaf = pki.leaf("nowrite.example.com")
    async with make_client() as client:
        await client.upload_file("w.crt", leaf.cert_pem)
        await client.upload_file("w.key", leaf.key_pem)
        sim.faults.add(FaultRule(kind="error", resource="sslcertkey", method="POST", status=status, times=1))
        sim.faults.add(
            FaultRule(
                kind="error", resource="sslvserver_sslcertkey_binding", method="PUT", status=status, times=1
            )
        )
        with pytest.raises(errors.ServerError):
            await client.add_certkey("w", "w.crt", "w.key")
        with pytest.raises(errors.ServerError):
            await client.bind_certkey("vs_https", "ns-server-certificate")
    assert log(sim, "sslcertkey") == [("POST", status, 9999)]
    assert log(sim, "sslvserver_sslcertkey_binding") == [("PUT", status, 9999)]
    writes = [r for r in sim.requests if r.is_write]
    assert len(writes) == 4  # two uploads and the two refused writes, nothing repeated


@pytest.mark.parametrize("kind", ["reset", "timeout"])
async def test_write_with_unknown_outcome_is_read_back_before_it_is_sent_again(
    sim: Simulator, make_client: ClientFactory, pki: TestPKI, kind: str
) -> None:
    leaf = pki.leaf("unknown.example.com")
    async with make_client(timeout=0.3) as client:
        await client.upload_file("u.crt", leaf.cert_pem)
        await client.upload_file("u.key", leaf.key_pem)
        fault = sim.faults.add(FaultRule(kind=kind, resource="sslcertkey", method="POST", hang=2.0, times=1))  # type: ignore[arg-type]
        await client.add_certkey("u", "u.crt", "u.key")
    # the dropped POST, a GET that proves it did not take effect, and only then the POST again
    assert fault.fired == 1
    assert log(sim, "sslcertkey", answered=True) == [("GET", 404, 258), ("POST", 201, 0)]
    if kind == "reset":
        assert log(sim, "sslcertkey")[0] == ("POST", 0, 0)
    assert sim.state.dump()["certkeys"]["u"]["serial"] == leaf.serial_hex


async def test_idempotent_delete_is_retried_and_tolerates_its_own_success(
    sim: Simulator, make_client: ClientFactory
) -> None:
    async with make_client() as client:
        await client.upload_file("gone.txt", b"bye")
        sim.faults.add(FaultRule(kind="error", resource="systemfile", method="DELETE", status=503, times=1))
        await client.delete_file("gone.txt")
        assert await client.get_file("gone.txt") is None
    assert [m for m, _, _ in log(sim, "systemfile")] == ["POST", "DELETE", "DELETE", "GET"]


async def test_connection_refused_is_a_transport_error(make_client: ClientFactory) -> None:
    from netscaler_certsync.nitro import Credentials, NitroClient, RetryPolicy

    async with NitroClient(
        "https://127.0.0.1:9", Credentials("nsroot", "nsroot"), retry=RetryPolicy(attempts=2, base_delay=0)
    ) as client:
        with pytest.raises(errors.TransportError) as caught:
            await client.version()
    assert not caught.value.sent and not isinstance(caught.value, errors.TLSVerificationError)
    assert isinstance(caught.value.__cause__, Exception)  # the httpx error is chained
