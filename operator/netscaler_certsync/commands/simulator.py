"""`netscaler-certsync simulator`: serve a simulated NetScaler (NITRO API) until SIGTERM/SIGINT.

Prints `url:`, `ca-file:`, `admin:` and `credentials:` lines (flushed) so scripts can parse where
it listens and how to log in, then logs one line per request. `ca-file:` is a trust anchor for the
management certificate: the generated CA, the `--tls-ca` given with `--tls-cert`, or `-` when
there is none to name (plain HTTP, or `--tls-cert` without `--tls-ca`).
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import errno
import logging
import re
import signal
import sys
from pathlib import Path
from typing import Any

from netscaler_certsync.simulator import (
    FaultRule,
    RestrictedUser,
    SimulatorConfig,
    parse_fault,
    run_simulator,
)

DEFAULT_USER = DEFAULT_PASSWORD = "nsroot"  # noqa: S105 - a NetScaler's factory login, not a secret


class _HelpFormatter(argparse.RawDescriptionHelpFormatter, argparse.ArgumentDefaultsHelpFormatter):
    """The module docstring as written, and every flag with its default."""


def register(subparsers: Any) -> None:
    parser = subparsers.add_parser(
        "simulator",
        help="serve a simulated NetScaler NITRO API (in memory) for tests and demos",
        description=__doc__,
        formatter_class=_HelpFormatter,
    )
    parser.add_argument("--host", default="127.0.0.1", help="address to listen on")
    parser.add_argument("--port", type=int, default=0, help="port (0: any free port)")
    parser.add_argument("--http", action="store_true", help="plain HTTP instead of HTTPS")
    parser.add_argument(
        "--tls-cert",
        type=Path,
        help="management TLS certificate (PEM; none: one is generated with its own CA)",
    )
    parser.add_argument("--tls-key", type=Path, help="private key of --tls-cert (PEM)")
    parser.add_argument(
        "--tls-ca", type=Path, help="the CA that issued --tls-cert: printed as ca-file for clients to trust"
    )
    parser.add_argument(
        "--tls-san", action="append", default=[], metavar="NAME",
        help="extra DNS name or IP in the generated certificate (e.g. a Service name)",
    )  # fmt: skip
    parser.add_argument("--username", default=DEFAULT_USER, help="the superuser's login name")
    parser.add_argument("--password", default=DEFAULT_PASSWORD, help="the superuser's password")
    parser.add_argument(
        "--restricted-user", action="append", default=[], metavar="NAME:PASS:REGEX",
        help="a user whose command policy allows only CLI commands matching REGEX",
    )  # fmt: skip
    parser.add_argument(
        "--vserver", action="append", default=[], metavar="NAME[:lb|cs|vpn]",
        help="an SSL vserver (repeatable; default: vs_https)",
    )  # fmt: skip
    parser.add_argument("--sni-vserver", action="append", default=[], metavar="NAME", help="enable SNI on it")
    parser.add_argument(
        "--non-ssl-vserver", action="append", default=[], metavar="NAME[:lb|cs|vpn]",
        help="a vserver without SSL (repeatable): binding a certificate to it fails as on a NetScaler",
    )  # fmt: skip
    parser.add_argument("--partition", action="append", default=[], metavar="NAME", help="an admin partition")
    parser.add_argument(
        "--ha-state", choices=("standalone", "primary", "secondary"), default="standalone",
        help="the HA role the node reports (a secondary refuses configuration changes)",
    )  # fmt: skip
    parser.add_argument(
        "--certkey-name-max", type=int, default=31, help="longest sslcertkey name the appliance accepts"
    )
    parser.add_argument(
        "--seed", type=int, default=0, help="seed for fault injection (same seed, same faults)"
    )
    parser.add_argument("--save-delay", type=float, default=0.0, help="seconds every config save takes")
    parser.add_argument(
        "--fault", action="append", default=[], metavar="RULE",
        help="fault rule: JSON or kind=error,resource=sslcertkey,status=599,errorcode=1541,times=1",
    )  # fmt: skip
    parser.add_argument(
        "--serve-vservers", action="store_true",
        help="answer TLS for each SSL vserver on its own port with the bound certificates",
    )  # fmt: skip
    parser.add_argument("--quiet", action="store_true", help="do not log each request")
    parser.add_argument(
        "--request-log-max", type=int, default=10000, metavar="N",
        help="request records kept for GET /_simulator/requests (default: about the last 10000)",
    )  # fmt: skip
    parser.set_defaults(handler=main)


def config_from_args(args: argparse.Namespace) -> SimulatorConfig:
    if (args.tls_cert is None) != (args.tls_key is None):
        raise ValueError("--tls-cert and --tls-key go together")
    if args.tls_ca is not None and args.tls_cert is None:
        raise ValueError("--tls-ca names the issuer of --tls-cert; give --tls-cert and --tls-key too")
    faults: tuple[FaultRule, ...] = tuple(parse_fault(text) for text in args.fault)
    return SimulatorConfig(
        host=args.host,
        port=args.port,
        https=not args.http,
        tls_cert=args.tls_cert,
        tls_key=args.tls_key,
        tls_hosts=tuple(args.tls_san),
        username=args.username,
        password=args.password,
        restricted_users=tuple(RestrictedUser.parse(text) for text in args.restricted_user),
        ssl_vservers=tuple(args.vserver) or ("vs_https",),
        sni_vservers=tuple(args.sni_vserver),
        non_ssl_vservers=tuple(args.non_ssl_vserver),
        partitions=tuple(args.partition),
        ha_state=args.ha_state,
        certkey_name_max=args.certkey_name_max,
        seed=args.seed,
        save_delay=args.save_delay,
        faults=faults,
        log_requests=not args.quiet,
        request_log_max=args.request_log_max,
        serve_vservers=args.serve_vservers,
    )


def ca_file(config: SimulatorConfig, generated: Path | None, tls_ca: Path | None) -> str:
    """What clients should trust: a CA, never the server's own (possibly CA-issued) certificate."""
    if config.tls_cert is not None:
        return str(tls_ca) if tls_ca is not None else "-"
    return str(generated) if generated else "-"


def credentials_line(config: SimulatorConfig) -> str:
    """The logins, with the password only when it is the well-known default."""
    default = config.username == DEFAULT_USER and config.password == DEFAULT_PASSWORD
    password = config.password if default else "(as given by --password)"
    users = [f"{config.username} / {password}"]
    users += [f"{u.username} (restricted; password as given)" for u in config.restricted_users]
    return ", ".join(users)


async def serve(config: SimulatorConfig, tls_ca: Path | None = None) -> None:
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for signum in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(signum, stop.set)
    async with run_simulator(config) as sim:
        print("NITRO simulator ready", flush=True)
        print(f"url: {sim.url}", flush=True)
        print(f"ca-file: {ca_file(config, sim.ca_file, tls_ca)}", flush=True)
        print(f"admin: {sim.admin_url}", flush=True)
        if config.serve_vservers:
            for seed in config.ssl_vservers:
                name = seed.partition(":")[0]
                host, port = sim.vserver_address(name)
                print(f"vserver: {name} {host}:{port}", flush=True)
        print(f"credentials: {credentials_line(config)}", flush=True)
        await stop.wait()
    print("NITRO simulator stopped", flush=True)


def main(args: argparse.Namespace) -> int:
    try:
        config = config_from_args(args)
    except (ValueError, re.error) as exc:
        print(f"simulator: {exc}", file=sys.stderr)
        return 2
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(message)s", stream=sys.stderr)
    try:
        with contextlib.suppress(KeyboardInterrupt):
            asyncio.run(serve(config, args.tls_ca))
    except OSError as exc:
        if exc.errno != errno.EADDRINUSE:
            raise
        print(
            f"simulator: cannot listen on {config.host}:{config.port} (--host/--port): address in use",
            file=sys.stderr,
        )
        return 1
    return 0
