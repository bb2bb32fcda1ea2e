"""`netscaler-certsync check-connection` end to end against a simulator in a thread."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from netscaler_certsync.cli import main
from netscaler_certsync.simulator import SimulatorConfig, SimulatorThread


@pytest.fixture(scope="module")
def appliance() -> Iterator[SimulatorThread]:
    config = SimulatorConfig(
        ssl_vservers=("vs_https", "vs_sni"), sni_vservers=("vs_sni",), log_requests=False
    )
    with SimulatorThread(config) as thread:
        yield thread


@pytest.fixture
def password_file(tmp_path: Path) -> Path:
    path = tmp_path / "password"
    path.write_text("nsroot\n")
    return path


def run(*argv: str) -> int:
    return main(["check-connection", *argv])


def test_prints_version_ha_partition_and_vservers(
    appliance: SimulatorThread, password_file: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    code = run(
        "--endpoint", appliance.url, "--username", "nsroot",
        "--password-file", str(password_file), "--ca-file", str(appliance.ca_file),
    )  # fmt: skip
    out = capsys.readouterr().out
    assert code == 0
    assert "NetScaler NS13.1: Build 49.13.nc" in out
    assert "HA:           standalone" in out
    assert "partition:    default" in out
    assert "vs_https" in out and "vs_sni (SNI)" in out


def test_untrusted_certificate_is_one_clear_line(
    appliance: SimulatorThread, password_file: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    code = run("--endpoint", appliance.url, "--username", "nsroot", "--password-file", str(password_file))
    captured = capsys.readouterr()
    assert code == 1
    assert captured.out == ""
    lines = captured.err.strip().splitlines()
    assert len(lines) == 1 and "TLS verification" in lines[0] and "--ca-file" in lines[0]


def test_wrong_password_from_the_environment(
    appliance: SimulatorThread, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("NS_PASSWORD", "not-the-password")
    code = run("--endpoint", appliance.url, "--username", "nsroot", "--ca-file", str(appliance.ca_file))
    err = capsys.readouterr().err
    assert code == 1
    assert "login refused" in err and "Invalid username or password" in err
    assert "not-the-password" not in err


def test_no_password_is_a_usage_error(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.delenv("NS_PASSWORD", raising=False)
    assert run("--endpoint", "https://127.0.0.1:9", "--username", "nsroot") == 2
    assert "NS_PASSWORD" in capsys.readouterr().err


def test_plain_http_is_refused_without_consent(
    password_file: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    code = run(
        "--endpoint", "http://127.0.0.1:9", "--username", "nsroot", "--password-file", str(password_file)
    )
    assert code == 1
    lines = capsys.readouterr().err.strip().splitlines()
    # One line that names the flag allowing it (issue 17: the hint did not).
    assert len(lines) == 1 and "plain HTTP" in lines[0] and "--allow-http" in lines[0]
