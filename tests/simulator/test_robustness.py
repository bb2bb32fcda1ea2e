"""Bad requests get NITRO-shaped answers (never a traceback or a bare 500), and a simulator bug
still answers with an envelope and shows up in the invariants."""

from __future__ import annotations

import ssl

import anyio
import httpx
import pytest

from netscaler_certsync.simulator import Simulator
from netscaler_certsync.simulator.resources import WRITES
from tests.simulator.helpers import CONFIG, Nitro, assert_done, assert_error
from tests.support.waiting import until


async def test_malformed_json(nitro: Nitro) -> None:
    response = await nitro.client.post(
        f"{CONFIG}/sslcertkey",
        content=b"{not json",
        headers={**nitro.headers, "Content-Type": "application/json"},
    )
    assert_error(response, 599, 278, "Invalid argument [malformed JSON]")


async def test_wrong_content_type(nitro: Nitro) -> None:
    response = await nitro.client.post(
        f"{CONFIG}/sslcertkey", content=b"{}", headers={**nitro.headers, "Content-Type": "text/plain"}
    )
    assert_error(response, 415, 278, "Invalid argument [Content-Type")


async def test_old_sdk_content_type_is_accepted(nitro: Nitro) -> None:
    headers = {**nitro.headers, "Content-Type": "application/vnd.com.citrix.netscaler.nsconfig+json"}
    response = await nitro.client.post(
        f"{CONFIG}/nsconfig?action=save", content=b'{"nsconfig":{}}', headers=headers
    )
    assert_done(response)


async def test_body_shape_errors(nitro: Nitro) -> None:
    assert_error(await nitro.post("sslcertkey", ["x"]), 599, 278)
    assert_error(await nitro.post("sslcertkey", {"sslcertkey": "www"}), 599, 278)
    assert_error(
        await nitro.post("sslcertkey", {"sslcertkey": {}}), 400, 1095, "Required argument missing [certkey]"
    )


async def test_unknown_resource_method_action_and_url(nitro: Nitro) -> None:
    assert_error(await nitro.get("nosuchthing"), 404, 258)
    assert_error(await nitro.put("nsversion", {"nsversion": {}}), 405, 278)
    response = await nitro.client.request("PATCH", f"{CONFIG}/sslcertkey", headers=nitro.headers)
    assert_error(response, 405, 278)
    assert_error(
        await nitro.post("sslcertkey?action=explode", {"sslcertkey": {}}),
        599,
        278,
        "Invalid argument [action",
    )
    assert_error(await nitro.client.get("/"), 404, 258)
    assert_error(await nitro.client.get("/nitro/v1/stat/nosuchthing", headers=nitro.headers), 404, 258)
    assert_error(await nitro.get("sslcertkey?filter=certkey"), 599, 278)
    assert_error(await nitro.delete("sslcertkey"), 400, 1095)


async def test_simulator_bug_answers_an_envelope(
    nitro: Nitro, sim: Simulator, monkeypatch: pytest.MonkeyPatch
) -> None:
    def broken(ctx: object, item: object) -> None:
        raise RuntimeError("bug")

    monkeypatch.setitem(WRITES, ("systemfile", "add"), broken)
    response = await nitro.upload("a", b"x")
    assert_error(response, 599, 1, "Internal error [RuntimeError]")
    problems = sim.check_invariants()
    assert len(problems) == 1 and "RuntimeError" in problems[0]
    sim.app.internal_errors.clear()


async def test_invariants_catch_a_deleted_file_in_use(nitro: Nitro, sim: Simulator, pki) -> None:
    await nitro.install("www", pki.leaf())
    await nitro.delete("systemfile/www.key?args=filelocation:%2Fnsconfig%2Fssl")  # the appliance allows it
    assert sim.check_invariants() == ["certkey 'www' references missing file 'www.key'"]
    await nitro.delete("sslcertkey/www")
    assert sim.check_invariants() == []


async def test_requests_are_recorded(nitro: Nitro, sim: Simulator, client: httpx.AsyncClient) -> None:
    sim.clear_requests()
    await nitro.get("sslcertkey/nope")
    await nitro.post("nsconfig?action=save", {"nsconfig": {}})
    await client.get("/_simulator/state")  # admin calls are not NITRO requests
    first, second = sim.requests
    assert (first.method, first.resource, first.name, first.status, first.errorcode) == (
        "GET",
        "sslcertkey",
        "nope",
        404,
        258,
    )
    assert not first.is_write
    assert (second.resource, second.action, second.status, second.is_write) == ("nsconfig", "save", 200, True)
    assert second.query == {"action": "save"}


async def test_oversized_body_is_413(nitro: Nitro) -> None:
    huge = b'{"systemfile": {"filecontent": "' + b"A" * (9 * 1024 * 1024) + b'"}}'
    headers = {**nitro.headers, "Content-Type": "application/json"}
    response = await nitro.client.post(f"{CONFIG}/systemfile", content=huge, headers=headers)
    assert_error(response, 413, 1097, "Invalid argument value [request body too large]")


async def test_a_client_that_goes_away_mid_body_changes_nothing_and_is_no_simulator_error(
    sim: Simulator, nitro: Nitro
) -> None:
    """A cancelled apply (or a killed operator) can close its connection while its request body
    is still being sent. The appliance applies nothing and has nothing to answer; that is the
    client's doing, not a simulator bug (the `sim` fixture asserts the invariants after)."""
    host, port = sim.url.removeprefix("https://").split(":")
    context = ssl.create_default_context(cafile=str(sim.ca_file))
    stream = await anyio.connect_tcp(host, int(port), ssl_context=context, tls_standard_compatible=False)
    headers = "".join(f"{k}: {v}\r\n" for k, v in nitro.headers.items())
    await stream.send(
        (
            f"POST {CONFIG}/systemfile HTTP/1.1\r\nHost: {host}\r\nContent-Type: application/json\r\n"
            f"Content-Length: 100000\r\n{headers}\r\n"
        ).encode()
        + b'{"systemfile": {"filename": "half.pem", "filecontent": "'
    )
    await stream.aclose()
    await until(
        lambda: any(r.resource == "systemfile" for r in sim.requests) or sim.app.internal_errors,
        "the simulator noticing the closed connection",
    )
    listed = await nitro.get("systemfile?args=filelocation:%2Fnsconfig%2Fssl")
    assert listed.status_code == 200
    assert "half.pem" not in listed.text
