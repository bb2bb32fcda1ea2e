"""systemfile: upload, 409/1642 on an existing file unless override, list vs one, delete."""

from __future__ import annotations

import base64

import httpx

from netscaler_certsync.simulator import Quirks, Simulator, SimulatorConfig, run_simulator
from tests.simulator.helpers import Nitro, assert_done, assert_error

ARGS = "args=filelocation:%2Fnsconfig%2Fssl"


async def test_upload_then_read_back(nitro: Nitro) -> None:
    assert_done(await nitro.upload("a.pem", b"hello"), 201)
    body = assert_done(await nitro.get(f"systemfile/a.pem?{ARGS}"))
    (entry,) = body["systemfile"]
    assert base64.b64decode(entry["filecontent"]) == b"hello"
    assert entry["fileencoding"] == "BASE64" and entry["filelocation"] == "/nsconfig/ssl"


async def test_list_has_no_content(nitro: Nitro) -> None:
    await nitro.upload("a.pem", b"hello")
    body = assert_done(await nitro.get(f"systemfile?{ARGS}"))
    names = {e["filename"] for e in body["systemfile"]}
    assert "a.pem" in names and "ns-server.cert" in names  # the appliance's own files are there too
    assert all("filecontent" not in e for e in body["systemfile"])
    assert all(isinstance(e["filemodifiedtime"], str) for e in body["systemfile"])


async def test_existing_file_is_409_1642(nitro: Nitro) -> None:
    await nitro.upload("a.pem", b"one")
    assert_error(
        await nitro.upload("a.pem", b"two"), 409, 1642, "Cannot create output file. File already exists"
    )


async def test_override_replaces(nitro: Nitro, sim: Simulator) -> None:
    await nitro.upload("a.pem", b"one")
    body = {"systemfile": {"filename": "a.pem", "filelocation": "/nsconfig/ssl", "filecontent": "dHdv"}}
    assert_done(await nitro.post("systemfile?override=yes", body), 201)
    assert sim.state.default.read_path("a.pem") == b"two"


async def test_trailing_slash_location_is_the_same_directory(nitro: Nitro) -> None:
    await nitro.upload("a.pem", b"one", location="/nsconfig/ssl/")
    assert_error(await nitro.upload("a.pem", b"one"), 409, 1642)


async def test_missing_arguments(nitro: Nitro) -> None:
    body = {"systemfile": {"filename": "a.pem", "filecontent": "dHdv"}}
    assert_error(await nitro.post("systemfile", body), 400, 1095, "Required argument missing [filelocation]")
    assert_error(await nitro.get("systemfile"), 400, 1095, "Required argument missing [filelocation]")
    body = {
        "systemfile": {"filename": "a.pem", "filelocation": "/nsconfig/ssl", "filecontent": "not base64!"}
    }
    assert_error(await nitro.post("systemfile", body), 400, 1097)


async def test_filename_longer_than_63_is_rejected(nitro: Nitro) -> None:
    assert_error(
        await nitro.upload("x" * 64, b"one"), 400, 1106, "String length exceeds maximum [fileName, 63]"
    )
    assert_done(await nitro.upload("x" * 63, b"one"), 201)


async def test_delete_and_delete_missing(nitro: Nitro, sim: Simulator) -> None:
    await nitro.upload("a.pem", b"one")
    assert_done(await nitro.delete(f"systemfile/a.pem?{ARGS}"))
    assert sim.state.default.read_path("a.pem") is None
    assert_error(await nitro.delete(f"systemfile/a.pem?{ARGS}"), 404, 258)
    assert_error(await nitro.get(f"systemfile/a.pem?{ARGS}"), 404, 258)


async def test_put_is_not_allowed(nitro: Nitro) -> None:
    assert_error(await nitro.put("systemfile", {"systemfile": {"filename": "a"}}), 405, 278)


async def test_documented_single_file_read_with_args(nitro: Nitro) -> None:
    # NRD systemfile (12.1, 13): GET (ALL) with `args=filename:…,filelocation:…` answers one file
    # with its content (Terraform's resource_citrixadc_systemfile reads it so).
    await nitro.upload("a.pem", b"aaa")
    await nitro.upload("b.pem", b"bbb")
    body = assert_done(await nitro.get("systemfile?args=filename:b.pem,filelocation:%2Fnsconfig%2Fssl"))
    assert [(f["filename"], base64.b64decode(f["filecontent"])) for f in body["systemfile"]] == [
        ("b.pem", b"bbb")
    ]


async def test_builds_without_the_name_form_refuse_it() -> None:
    config = SimulatorConfig(https=False, quirks=Quirks(systemfile_get_by_name=False), log_requests=False)
    async with run_simulator(config) as sim, httpx.AsyncClient(base_url=sim.url) as http:
        nitro = Nitro(http)
        await nitro.login()
        await nitro.upload("a.pem", b"aaa")
        assert_error(await nitro.get("systemfile/a.pem?args=filelocation:%2Fnsconfig%2Fssl"), 405, 278)
