"""Parsing a NITRO request (URL grammar, query, body) and shaping GET answers (nitro.md 1, 3).

Path names are URL-decoded twice (clients double-encode) and `+` means a space; `args` and
`filter` values are decoded once more after the query string itself.
"""

from __future__ import annotations

import json
import re
from typing import Any
from urllib.parse import unquote, unquote_plus

from netscaler_certsync.simulator.errors import NitroError

Record = dict[str, Any]

#: resource -> the attribute a URL name or a DELETE identifies
KEY_FIELDS = {
    "sslcertkey": "certkey",
    "systemfile": "filename",
    "sslvserver_sslcertkey_binding": "vservername",
    "sslvserver": "vservername",
    "nspartition": "partitionname",
    "sslcertkey_sslvserver_binding": "certkey",
    "sslcertkey_binding": "certkey",
}


def decode_name(segment: str) -> str:
    return unquote(unquote(segment)).replace("+", " ")


def parse_query(raw: str) -> dict[str, str]:
    query: dict[str, str] = {}
    for part in raw.split("&"):
        if part:
            key, _, value = part.partition("=")
            query[unquote_plus(key)] = unquote_plus(value)
    return query


def parse_pairs(value: str | None) -> dict[str, str]:
    """`k1:v1,k2:v2` (as in `args` and `filter`), each value decoded once more."""
    pairs: dict[str, str] = {}
    if value:
        for part in value.split(","):
            key, sep, val = part.partition(":")
            if not sep or not key:
                raise NitroError(278, part)
            pairs[key.strip()] = unquote(val)
    return pairs


def parse_body(raw: bytes, content_type: str) -> Any:
    """A JSON body; 400/278 when it is not JSON or not sent as JSON."""
    if not raw.strip():
        return None
    ctype = content_type.split(";", 1)[0].strip().lower()
    if ctype == "application/x-www-form-urlencoded":
        form = parse_query(raw.decode("utf-8", "replace"))
        if "object" not in form:
            raise NitroError(278, "object")
        raw = form["object"].encode()
    elif ctype and "json" not in ctype:
        raise NitroError(278, "Content-Type", ctype, status=415)
    try:
        return json.loads(raw)
    except (ValueError, UnicodeDecodeError) as exc:
        raise NitroError(278, "malformed JSON") from exc


def body_items(body: Any, resource: str) -> list[Record] | Record:
    """The object (or list of objects: bulk) under the resource key of a request body."""
    if body is None:
        return {}
    if not isinstance(body, dict):
        raise NitroError(278, "request body must be a JSON object")
    items = body.get(resource, {})
    if isinstance(items, list):
        if not all(isinstance(i, dict) for i in items):
            raise NitroError(278, resource)
        return items
    if not isinstance(items, dict):
        raise NitroError(278, resource)
    return items


def _matches(value: Any, wanted: str) -> bool:
    if len(wanted) > 1 and wanted.startswith("/") and wanted.endswith("/"):
        try:
            return re.search(wanted[1:-1], str(value)) is not None
        except re.error as exc:
            raise NitroError(1097, "filter", wanted) from exc
    if isinstance(value, bool):
        return str(value).lower() == wanted.lower()
    if isinstance(value, list):
        return wanted in [str(v) for v in value]
    return str(value) == wanted


def shape_records(records: list[Record], query: dict[str, str], filters: dict[str, str]) -> list[Record]:
    """Apply `filter`, `pagesize`/`pageno` and `attrs` to GET records."""
    if filters:
        records = [r for r in records if all(_matches(r.get(k), v) for k, v in filters.items())]
    if "pagesize" in query:
        try:
            size, page = int(query["pagesize"]), int(query.get("pageno", "1"))
        except ValueError as exc:
            raise NitroError(1097, "pagesize") from exc
        if size > 0:
            records = records[(page - 1) * size : page * size]
    attrs = query.get("attrs")
    if attrs:
        wanted = {a.strip() for a in attrs.split(",")}
        records = [{k: v for k, v in r.items() if k in wanted} for r in records]
    return records
