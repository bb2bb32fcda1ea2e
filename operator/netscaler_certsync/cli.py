"""The `netscaler-certsync` command line: one subcommand per module under `commands/`.

Each command module exposes `register(subparsers)` which adds its parser and sets `handler`
to a function taking the parsed arguments and returning an exit code. Modules are imported
lazily, so `netscaler-certsync simulator` does not pay for kopf and the operator.
"""

from __future__ import annotations

import argparse
import importlib
import sys
from collections.abc import Sequence

from netscaler_certsync import __version__

#: subcommand name -> module under netscaler_certsync.commands
COMMANDS: dict[str, str] = {
    "run": "run",
    "simulator": "simulator",
    "check-connection": "check_connection",
    "inventory": "inventory",
    "plan": "plan",
}


def build_parser(only: str | None = None) -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="netscaler-certsync",
        description="Deploy TLS certificates from Kubernetes Secrets to NetScaler appliances.",
    )
    parser.add_argument("--version", action="version", version=f"%(prog)s {__version__}")
    subparsers = parser.add_subparsers(dest="command", metavar="COMMAND", required=True)
    for name, module_name in COMMANDS.items():
        if only is not None and name != only:
            # Register a placeholder so `--help` still lists every command.
            subparsers.add_parser(name)
            continue
        module = importlib.import_module(f"netscaler_certsync.commands.{module_name}")
        module.register(subparsers)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    wanted = argv[0] if argv and argv[0] in COMMANDS else None
    parser = build_parser(only=wanted)
    args = parser.parse_args(argv)  # top-level has no options that take values: the command is argv[0]
    return int(args.handler(args) or 0)


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
