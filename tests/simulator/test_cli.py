"""`netscaler-certsync simulator` as a process: parseable start lines, one log line per request,
clean exit on SIGTERM."""

from __future__ import annotations

import signal
import subprocess
import sys

import httpx
import pytest

from netscaler_certsync.cli import main


def test_cli_prints_url_logs_requests_and_stops_on_sigterm() -> None:
    fault = "kind=error,resource=nsconfig,action=save,status=599,errorcode=1461,times=1"
    command = [sys.executable, "-m", "netscaler_certsync", "simulator", "--http", "--vserver", "vs_a:cs"]
    command += ["--fault", fault]
    process = subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        lines: dict[str, str] = {}
        assert process.stdout is not None
        while "admin" not in lines:
            line = process.stdout.readline()
            assert line, "the simulator exited before printing its URL"
            key, sep, value = line.partition(": ")
            if sep:
                lines[key] = value.strip()
        url = lines["url"]
        assert url.startswith("http://127.0.0.1:") and lines["admin"] == f"{url}/_simulator"
        with httpx.Client(base_url=url) as http:
            headers = {"X-NITRO-USER": "nsroot", "X-NITRO-PASS": "nsroot"}
            listed = http.get("/nitro/v1/config/csvserver", headers=headers).json()["csvserver"]
            assert [v["name"] for v in listed] == ["vs_a"]
            save = http.post("/nitro/v1/config/nsconfig?action=save", json={"nsconfig": {}}, headers=headers)
            assert save.json()["errorcode"] == 1461  # the fault given on the command line
        process.send_signal(signal.SIGTERM)
        out, err = process.communicate(timeout=10)
    finally:
        if process.poll() is None:
            process.kill()
    assert process.returncode == 0, err
    assert "stopped" in out
    assert "GET /nitro/v1/config/csvserver -> 200 errorcode=0" in err
    assert "POST /nitro/v1/config/nsconfig?action=save -> 599 errorcode=1461" in err
    assert "Traceback" not in err


def test_cli_rejects_bad_arguments_with_exit_2(capsys: pytest.CaptureFixture[str]) -> None:
    for bad in (
        ["--fault", "kind=explode"],
        ["--restricted-user", "ro:ro:("],
        ["--restricted-user", "nocolons"],
    ):
        assert main(["simulator", "--http", *bad]) == 2  # in-process: it fails before serving
        err = capsys.readouterr().err
        assert err.startswith("simulator: ") and "Traceback" not in err
