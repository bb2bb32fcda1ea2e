"""The NetScaler command policy in docs/netscaler-setup.md allows what the operator runs, only that.

The regex is read from the marked block in the doc (its single copy). Python's `re` handles the
PCRE subset it uses (groups, alternation, \\s, anchors, character classes).
"""

from __future__ import annotations

import re

import pytest

from .chart_helpers import SETUP_DOC, policy_regex

POLICY = re.compile(policy_regex())

ALLOWED = [
    "add system file shop.crt -fileLocation /nsconfig/ssl -fileContent ... -fileEncoding BASE64",
    "rm system file shop.crt -fileLocation /nsconfig/ssl",
    "show system file -fileLocation /nsconfig/ssl",
    "add ssl certKey shop -cert shop.crt -key shop.key",
    "rm ssl certKey shop",
    "show ssl certKey",
    "show ssl certKey shop",
    "update ssl certKey shop -cert shop-2.crt -key shop-2.key -noDomainCheck",
    "link ssl certKey shop ca-1a2b3c",
    "unlink ssl certKey shop",
    "bind ssl vserver vs_https -certkeyName shop",
    "bind ssl vserver cs_public -certkeyName shop -SNICert",
    "unbind ssl vserver vs_https -certkeyName shop",
    "show ssl vserver vs_https",
    "show ssl certLink",
    "save ns config",
    "show ns version",
    "show ha node",
    "switch ns partition web",
    "show ns partition",
    "add ssl certkey shop -cert shop.crt",  # lower-case spelling of the same command
]

REFUSED = [
    "rm system user nsroot",
    "set system user nsroot -password x",
    "add system user eve -password x",
    "show system user",
    "add system cmdPolicy all ALLOW .*",
    "bind system user certsync -policyName superuser 1",
    "shell rm -rf /nsconfig",
    "reboot",
    "rm lb vserver vs_https",
    "add ssl vserver vs_new",
    "set ssl vserver vs_https -sniEnable ENABLED",
    "rm ssl vserver vs_https",
    "show ssl certKeyBundle",
    "add ssl certKeyBundle b",
    "set ssl certKey shop -expiryMonitor ENABLED",
    "clear ns config full",
    "show ns runningConfig",
    "show ns config",
    "rm ns partition web",
    "add ns partition evil",
    "show system fileX",
    " add ssl certKey shop",
    "xadd ssl certKey shop",
]


@pytest.mark.parametrize("command", ALLOWED)
def test_allows_what_the_operator_runs(command: str) -> None:
    assert POLICY.search(command), command


@pytest.mark.parametrize("command", REFUSED)
def test_refuses_everything_else(command: str) -> None:
    assert not POLICY.search(command), command


def test_cli_example_uses_the_same_regex() -> None:
    # The copy-paste CLI line must carry the very same expression.
    assert f'add system cmdPolicy certsync_cmds ALLOW "{policy_regex()}"' in SETUP_DOC.read_text()
