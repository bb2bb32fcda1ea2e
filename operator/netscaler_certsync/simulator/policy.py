"""Command policies of restricted users: each request is turned into the CLI command it stands
for (e.g. `add ssl certKey www`, `bind ssl vserver vs_https`, `save ns config`) and must match
the user's regex, else 403/2138 `Not authorized to execute this command [<command>]`."""

from __future__ import annotations

import re
from typing import Any

from netscaler_certsync.simulator.errors import NitroError
from netscaler_certsync.simulator.protocol import KEY_FIELDS

CLI_GROUPS = {
    "sslcertkey": "ssl certKey",
    "systemfile": "system file",
    "sslvserver_sslcertkey_binding": "ssl vserver",
    "sslvserver": "ssl vserver",
    "nsconfig": "ns config",
    "nsversion": "ns version",
    "hanode": "ha node",
    "nspartition": "ns partition",
    "sslcertlink": "ssl certLink",
    "sslcertkey_sslvserver_binding": "ssl certKey",
    "sslcertkey_binding": "ssl certKey",
    "sslcertificatechain": "ssl certificateChain",
    "vpnglobal_sslcertkey_binding": "vpn global",
}


def cli_command(method: str, resource: str, op: str, name: str | None) -> str:
    """The CLI command a command policy regex is matched against, e.g. `add ssl certKey www`."""
    binding = resource.endswith("_binding") and method != "GET"
    verbs = {
        "get": "show",
        "add": "bind" if binding else "add",
        "set": "set",
        "delete": "unbind" if binding else "rm",
    }
    group = CLI_GROUPS.get(resource, resource)
    return f"{verbs.get(op, op)} {group}" + (f" {name}" if name else "")


def authorize(
    policy: re.Pattern[str] | None,
    method: str,
    resource: str,
    op: str,
    name: str | None,
    item: dict[str, Any],
) -> None:
    """Nothing for a superuser (no policy); 2138 when the command does not match the policy."""
    if policy is None:
        return
    key = KEY_FIELDS.get(resource)
    name = name or (str(item[key]) if key and item.get(key) is not None else None)
    command = cli_command(method, resource, op, name)
    if policy.search(command) is None:
        raise NitroError(2138, command)
