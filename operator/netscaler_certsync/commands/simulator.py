"""`netscaler-certsync simulator`: serve a simulated NetScaler (NITRO API) until SIGTERM/SIGINT.

Prints `url:`, `ca-file:` and `admin:` lines (flushed) so scripts can parse where it listens,
then logs one line per request.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
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


def register(subparsers: Any) -> None:
    parser = subparsers.add_parser(
        "simulator",
        help="serve a simulated NetScaler NITRO API (in memory) for tests and demos",
        description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("--host", default="127.0.0.1", help="address to listen on (default: loopback)")
    parser.add_argument("--port", type=int, default=0, help="port (default: any free port)")
    parser.add_argument("--http", action="store_true", help="plain HTTP instead of HTTPS")
    parser.add_argument("--tls-cert", type=Path, help="management TLS certificate (default: generated)")
    parser.add_argument("--tls-key", type=Path, help="key of --tls-cert")
    parser.add_argument(
        "--tls-san", action="append", default=[], metavar="NAME",
        help="extra DNS name or IP in the generated certificate (e.g. a Service name)",
    )  # fmt: skip
    parser.add_argument("--username", default="nsroot")
    parser.add_argument("--password", default="nsroot")
    parser.add_argument(
        "--restricted-user", action="append", default=[], metavar="NAME:PASS:REGEX",
        help="a user whose command policy allows only CLI commands matching REGEX",
    )  # fmt: skip
    parser.add_argument(
        "--vserver", action="append", default=[], metavar="NAME[:lb|cs|vpn]",
        help="an SSL vserver (repeatable; default: vs_https)",
    )  # fmt: skip
    parser.add_argument("--sni-vserver", action="append", default=[], metavar="NAME", help="enable SNI on it")
    parser.add_argument("--non-ssl-vserver", action="append", default=[], metavar="NAME[:lb|cs|vpn]")
    parser.add_argument("--partition", action="append", default=[], metavar="NAME", help="an admin partition")
    parser.add_argument("--ha-state", choices=("standalone", "primary", "secondary"), default="standalone")
    parser.add_argument("--certkey-name-max", type=int, default=31)
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
        raise SystemExit("--tls-cert and --tls-key go together")
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


async def serve(config: SimulatorConfig) -> None:
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for signum in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(signum, stop.set)
    async with run_simulator(config) as sim:
        print("NITRO simulator ready", flush=True)
        print(f"url: {sim.url}", flush=True)
        print(f"ca-file: {sim.ca_file if sim.ca_file else '-'}", flush=True)
        print(f"admin: {sim.admin_url}", flush=True)
        if config.serve_vservers:
            for seed in config.ssl_vservers:
                name = seed.partition(":")[0]
                host, port = sim.vserver_address(name)
                print(f"vserver: {name} {host}:{port}", flush=True)
        print(f"credentials: {config.username} / (password as configured)", flush=True)
        await stop.wait()
    print("NITRO simulator stopped", flush=True)


def main(args: argparse.Namespace) -> int:
    try:
        config = config_from_args(args)
    except (ValueError, re.error) as exc:
        print(f"simulator: {exc}", file=sys.stderr)
        return 2
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(message)s", stream=sys.stderr)
    with contextlib.suppress(KeyboardInterrupt):
        asyncio.run(serve(config))
    return 0
