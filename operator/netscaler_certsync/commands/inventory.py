"""`netscaler-certsync inventory`: every certkey on an appliance, whoever installed it.

Logs in like `check-connection` and only reads (three listings: certkeys, bindings, files in the
SSL directory). Prints one row per certkey — name, subject, serial, notAfter, days left, bound
to, linked to, owner (`this` cluster, `other` cluster or operator, `none`) — and the files no
certkey uses; `-o json` / `-o yaml` print the same as data. Which certkeys are `this` cluster's
is known from `--cluster-id` (the operator's own flag, or the UID of the kube-system Namespace);
without it every tagged certkey shows as `other`.
"""

from __future__ import annotations

import argparse
import asyncio
import datetime as dt
import json
import sys
from typing import Any, TextIO

import yaml

from netscaler_certsync.commands import check_connection
from netscaler_certsync.domain import cluster_tag
from netscaler_certsync.engine import inventory
from netscaler_certsync.nitro import Credentials, NitroClient, TLSConfig, errors
from netscaler_certsync.nitro.operations.files import ssl_dir

EXIT_OK = 0
EXIT_FAILED = 1
EXIT_USAGE = 2

_COLUMNS = ("NAME", "OWNER", "SUBJECT", "SERIAL", "NOT AFTER", "DAYS", "BOUND TO", "LINKED TO")


def register(subparsers: Any) -> None:
    parser = subparsers.add_parser(
        "inventory",
        help="list every certkey on a NetScaler with its owner, expiry, bindings and links (read-only)",
        description=__doc__.split("\n\n")[0] if __doc__ else None,
    )
    check_connection.add_login_arguments(parser)
    parser.add_argument(
        "--cluster-id",
        help="the operator's cluster identity (its --cluster-id, or the kube-system Namespace UID): "
        "certkeys it tagged show as owner `this`",
    )
    parser.add_argument("-o", "--output", choices=("table", "json", "yaml"), default="table")
    parser.set_defaults(handler=run)


def client_for(args: argparse.Namespace, credentials: Credentials, tls: TLSConfig) -> NitroClient:
    return NitroClient(
        args.endpoint, credentials, tls=tls, timeout=args.timeout, partition=args.partition, max_concurrency=2
    )


def run(args: argparse.Namespace, out: TextIO | None = None, err: TextIO | None = None) -> int:
    out = out or sys.stdout
    err = err or sys.stderr
    got = check_connection.login(args, err)
    if isinstance(got, int):
        return got
    tag = cluster_tag(args.cluster_id) if args.cluster_id else None
    try:
        found = asyncio.run(_read(args, *got, tag))
    except errors.NitroError as exc:
        print(f"error: {check_connection.describe(exc)}", file=err)
        return EXIT_FAILED
    data = {
        "summary": found.counts(),
        "certKeys": [r.to_dict() for r in found.rows],
        "orphanFiles": list(found.orphan_files or ()),
    }
    if args.output == "json":
        print(json.dumps(data, indent=2), file=out)
    elif args.output == "yaml":
        print(yaml.safe_dump(data, sort_keys=False), file=out, end="")
    else:
        print(table(found), file=out)
    return EXIT_OK


async def _read(
    args: argparse.Namespace, credentials: Credentials, tls: TLSConfig, tag: str | None
) -> inventory.Inventory:
    async with client_for(args, credentials, tls) as client:
        state = await inventory.read(client, ssl_dir(args.partition))
    return inventory.build(state, tag, dt.datetime.now(dt.UTC))


def table(found: inventory.Inventory) -> str:
    rows = [_COLUMNS] + [
        (
            r.name + (" [CA]" if r.ca else ""),
            r.owner,
            r.subject or "-",
            r.serial or "-",
            r.not_after.strftime("%Y-%m-%d") if r.not_after else "-",
            "-" if r.days_left is None else str(r.days_left),
            ", ".join(r.bound_to) or "-",
            r.linked_to or "-",
        )
        for r in found.rows
    ]
    widths = [max(len(row[i]) for row in rows) for i in range(len(_COLUMNS))]
    lines = ["  ".join(cell.ljust(w) for cell, w in zip(row, widths, strict=True)).rstrip() for row in rows]
    counts = found.counts()
    lines.append("")
    lines.append(
        f"{counts['certKeys']} certkeys: {counts['managedHere']} this cluster, "
        f"{counts['managedElsewhere']} other, {counts['unmanaged']} unmanaged; "
        f"{counts['caCertKeys']} CA, {counts['expiringWithin30Days']} expiring within 30 days, "
        f"{counts['unused']} unused"
    )
    orphans = found.orphan_files or ()
    lines.append(f"files no certkey uses: {len(orphans)}" + (f": {', '.join(orphans)}" if orphans else ""))
    return "\n".join(lines)


__all__ = ["client_for", "register", "run", "table"]
