"""`netscaler-certsync check-connection`: can we reach, trust and log in to this appliance?

Prints the version, HA state, partition and SSL vservers; on failure prints one line saying
what went wrong (TLS, credentials, network, permissions) and exits non-zero. The password comes
from a file or the NS_PASSWORD environment variable, never from the command line (it would
show in `ps` and shell history).
"""

from __future__ import annotations

import argparse
import asyncio
import os
import sys
from pathlib import Path
from typing import Any, TextIO

from netscaler_certsync.nitro import Credentials, NitroClient, TLSConfig, errors

EXIT_OK = 0
EXIT_FAILED = 1
EXIT_USAGE = 2


def add_login_arguments(parser: argparse.ArgumentParser) -> None:
    """The options that say how to reach and log in to one appliance (every command that logs in)."""
    parser.add_argument("--endpoint", required=True, help="management URL, e.g. https://10.0.0.1")
    parser.add_argument("--username", required=True)
    parser.add_argument("--password-file", help="file holding the password (default: $NS_PASSWORD)")
    parser.add_argument("--ca-file", help="PEM bundle to verify the appliance's certificate")
    parser.add_argument("--server-name", help="name expected in the appliance's certificate")
    parser.add_argument("--insecure", action="store_true", help="do not verify TLS (not for production)")
    parser.add_argument("--allow-http", action="store_true", help="permit a plain http:// endpoint")
    parser.add_argument("--partition", help="admin partition to switch to")
    parser.add_argument("--timeout", type=float, default=15.0, help="seconds per request (default 15)")


def register(subparsers: Any) -> None:
    parser = subparsers.add_parser(
        "check-connection",
        help="log in to a NetScaler and show its version, HA state and SSL vservers",
        description=__doc__.split("\n\n")[0] if __doc__ else None,
    )
    add_login_arguments(parser)
    parser.set_defaults(handler=run)


def password_of(args: argparse.Namespace) -> str | None:
    if args.password_file:
        return Path(args.password_file).read_text(encoding="utf-8").rstrip("\r\n")
    return os.environ.get("NS_PASSWORD")


def run(args: argparse.Namespace, out: TextIO | None = None, err: TextIO | None = None) -> int:
    out = out or sys.stdout
    err = err or sys.stderr
    settings = login(args, err)
    if isinstance(settings, int):
        return settings
    credentials, tls = settings
    try:
        report = asyncio.run(_check(args, credentials, tls))
    except errors.NitroError as exc:
        print(f"error: {describe(exc)}", file=err)
        return EXIT_FAILED
    print(report, file=out)
    return EXIT_OK


def login(args: argparse.Namespace, err: TextIO) -> tuple[Credentials, TLSConfig] | int:
    """Credentials and TLS settings from the arguments, or the exit code after one line on `err`
    (shared by the commands that log in to an appliance)."""
    try:
        password = password_of(args)
    except OSError as exc:
        print(f"error: cannot read the password file: {exc.strerror or exc}", file=err)
        return EXIT_USAGE
    if not password:
        print("error: no password: give --password-file or set NS_PASSWORD", file=err)
        return EXIT_USAGE
    if args.endpoint.lower().startswith("http://") and not args.allow_http:
        print(
            "error: the endpoint is plain HTTP, so the password would cross the network "
            "unencrypted: use https://, or add --allow-http (labs and the simulator only)",
            file=err,
        )
        return EXIT_FAILED
    tls = TLSConfig(
        ca_file=args.ca_file, server_name=args.server_name, insecure=args.insecure, allow_http=args.allow_http
    )
    return Credentials(args.username, password), tls


async def _check(args: argparse.Namespace, credentials: Credentials, tls: TLSConfig) -> str:
    async with NitroClient(
        args.endpoint, credentials, tls=tls, timeout=args.timeout, partition=args.partition, max_concurrency=2
    ) as client:
        version = await client.version()
        ha = await client.ha_state()
        vservers = await client.list_ssl_vservers()
    if not ha.configured:
        ha_text = "standalone"
    else:
        ha_text = f"{ha.local_state or 'unknown'} node of an HA pair" + (
            "" if ha.is_primary else " (writes belong on the primary)"
        )
    names = ", ".join(f"{v.name} (SNI)" if v.sni_enabled else v.name for v in vservers) or "none"
    return "\n".join(
        [
            f"endpoint:     {client.endpoint}",
            f"version:      {version.version}",
            f"HA:           {ha_text}",
            f"partition:    {args.partition or 'default'}",
            f"SSL vservers: {len(vservers)}: {names}",
        ]
    )


def describe(exc: errors.NitroError) -> str:
    """One line a person can act on."""
    if isinstance(exc, errors.TLSVerificationError):
        return f"{exc} (give --ca-file with the appliance's CA, or --server-name if it is reached by IP)"
    if isinstance(exc, errors.AuthenticationError):
        return f"login refused: {exc.message} (check the username and password)"
    if isinstance(exc, errors.ForbiddenError):
        return f"not allowed by the user's command policy: {exc.message}"
    if isinstance(exc, errors.TransportError):
        return f"cannot reach the appliance: {exc}"
    return str(exc)


__all__ = ["add_login_arguments", "describe", "password_of", "register", "run"]
