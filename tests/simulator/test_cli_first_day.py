"""`netscaler-certsync simulator` as a new user meets it, run as a process.

A port in use is one line and exit 1 (no traceback); every flag has help and shows its default;
`ca-file:` is something a client can verify the management certificate with, also when the user
brings their own certificate; the printed admin URL answers; the default login is printed.
"""

from __future__ import annotations

import signal
import socket
import ssl
import subprocess
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import httpx

from netscaler_certsync.simulator.pki import server_certificate

SIMULATOR = [sys.executable, "-m", "netscaler_certsync", "simulator"]


@contextmanager
def simulator(*args: str) -> Iterator[dict[str, str]]:
    """The simulator as a process; yields its start lines (`url`, `ca-file`, `admin`, `credentials`)."""
    process = subprocess.Popen([*SIMULATOR, "--quiet", *args], stdout=subprocess.PIPE, text=True)
    try:
        lines: dict[str, str] = {}
        assert process.stdout is not None
        for _ in range(20):  # bounded: the start lines are a handful
            key, sep, value = process.stdout.readline().partition(": ")
            if not sep and not key:
                break
            if sep:
                lines[key] = value.strip()
            if key == "credentials":
                break
        assert "url" in lines, "the simulator exited before printing its URL"
        yield lines
    finally:
        process.send_signal(signal.SIGTERM)
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait(timeout=10)


def test_a_port_in_use_is_one_line_and_exit_1() -> None:
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        done = subprocess.run(
            [*SIMULATOR, "--http", "--port", str(port)],
            capture_output=True,
            text=True,
            timeout=30,
            check=False,
        )
    assert done.returncode == 1
    assert "Traceback" not in done.stderr
    assert done.stderr.strip().splitlines() == [
        f"simulator: cannot listen on 127.0.0.1:{port} (--host/--port): address in use"
    ]


def test_every_flag_has_help_and_shows_its_default() -> None:
    done = subprocess.run([*SIMULATOR, "--help"], capture_output=True, text=True, timeout=30, check=True)
    options = done.stdout.split("options:", 1)[1]
    for flag in ("--username", "--password", "--non-ssl-vserver", "--ha-state", "--certkey-name-max"):
        text = " ".join(options.split(flag, 1)[1].split("\n  --", 1)[0].split())
        assert len(text.split()) > 3, f"{flag} has no help: {text!r}"
    assert "(default: nsroot)" in " ".join(options.split())
    assert "(default: 31)" in options


def test_ca_file_verifies_a_certificate_the_user_brings(tmp_path: Path) -> None:
    ca, server = server_certificate(("127.0.0.1", "localhost"))
    cert, key, ca_pem = tmp_path / "server.pem", tmp_path / "server.key", tmp_path / "ca.pem"
    cert.write_bytes(server.cert_pem)
    key.write_bytes(server.key_pem)
    ca_pem.write_bytes(ca.cert_pem)
    with simulator("--tls-cert", str(cert), "--tls-key", str(key), "--tls-ca", str(ca_pem)) as lines:
        assert lines["ca-file"] == str(ca_pem)
        trust = ssl.create_default_context(cafile=lines["ca-file"])
        with httpx.Client(verify=trust, timeout=10) as http:
            assert http.get(f"{lines['admin']}/state").status_code == 200
    # Without the issuer the simulator cannot name a trust anchor, and says so instead of
    # printing the server certificate (which a client cannot use as one).
    with simulator("--tls-cert", str(cert), "--tls-key", str(key)) as lines:
        assert lines["ca-file"] == "-"


def test_the_printed_admin_url_answers_and_the_default_login_is_printed() -> None:
    with simulator("--http") as lines:
        assert lines["credentials"] == "nsroot / nsroot"
        with httpx.Client(timeout=10) as http:
            answer = http.get(lines["admin"])
            assert answer.status_code == 200, answer.text
            endpoints = answer.json()["endpoints"]
            assert "GET /_simulator/state" in endpoints and "POST /_simulator/reset" in endpoints
            login = {"X-NITRO-USER": "nsroot", "X-NITRO-PASS": "nsroot"}
            assert http.get(f"{lines['url']}/nitro/v1/config/nsversion", headers=login).status_code == 200
    with simulator("--http", "--password", "s3cret-of-the-user") as lines:
        assert "s3cret-of-the-user" not in lines["credentials"]
        assert lines["credentials"].startswith("nsroot / ")
