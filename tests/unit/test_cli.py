"""The `netscaler-certsync` command line offers only the commands this build implements."""

from __future__ import annotations

import re

import pytest

from netscaler_certsync.cli import main


def _commands_in_help(capsys: pytest.CaptureFixture[str]) -> dict[str, str]:
    with pytest.raises(SystemExit) as exit_:
        main(["--help"])
    assert exit_.value.code == 0
    out = capsys.readouterr().out
    block = out.split("COMMAND\n", 1)[1].split("\noptions:", 1)[0]
    entries = re.findall(r"^ {4}(\S+)(.*(?:\n {6,}.*)*)", block, flags=re.MULTILINE)
    return {name: " ".join(text.split()) for name, text in entries}


def test_help_lists_only_implemented_commands(capsys: pytest.CaptureFixture[str]) -> None:
    commands = _commands_in_help(capsys)
    assert set(commands) == {"run", "simulator", "check-connection", "inventory", "plan"}
    assert all(text and "not available" not in text for text in commands.values()), commands


def test_plan_needs_manifests_and_a_cluster_identity(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as exit_:
        main(["plan"])
    assert exit_.value.code == 2
    assert "-f/--filename" in capsys.readouterr().err
