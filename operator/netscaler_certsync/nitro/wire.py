"""The wire format of one NITRO request and reply, and the one place errors are translated.

Pure functions and value objects: how a `Call` becomes a URL (names double-encoded as the
official SDKs do, `args=`/`filter=` values encoded once), how httpx exceptions map to our
transport errors, and how a reply body becomes data or the most specific `errors.APIError`.
`session.py` drives them; nothing here does I/O.
"""

from __future__ import annotations

import logging
import ssl
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import quote, unquote

import httpx

from netscaler_certsync.nitro import errors

logger = logging.getLogger("netscaler_certsync.nitro")

TOKEN_COOKIE = "NITRO_AUTH_TOKEN"  # noqa: S105 - a cookie name, not a secret


def quote_name(name: str) -> str:
    """A name as a path segment, double-encoded as the official SDKs do (the appliance decodes twice)."""
    return quote(quote(name, safe=""), safe="")


def arg_list(values: Mapping[str, Any]) -> str:
    """`k1:v1,k2:v2` for `args=`/`filter=`, each value URL-encoded once (`%2Fnsconfig%2Fssl`)."""
    rendered = []
    for key, value in values.items():
        text = ("true" if value else "false") if isinstance(value, bool) else str(value)
        rendered.append(f"{key}:{quote(text, safe='')}")
    return ",".join(rendered)


@dataclass(frozen=True)
class Call:
    """One NITRO request as the operations describe it."""

    method: str
    resource: str
    operation: str
    name: str | None = None
    query: Sequence[tuple[str, str]] = ()
    """Already encoded query pairs, e.g. ("args", arg_list(...)), ("action", "update")."""
    body: Any = None
    headers: Mapping[str, str] = field(default_factory=dict)
    idempotent: bool = False
    gone_ok: bool = False
    """A *repeat* that finds the object gone means an earlier attempt did the job (delete/unbind)."""
    secrets: tuple[str, ...] = field(default=(), repr=False)
    authenticated: bool = True


@dataclass(frozen=True)
class Reply:
    status: int
    body: dict[str, Any]
    headers: httpx.Headers


def _is_tls_verification(exc: BaseException) -> bool:
    seen: set[int] = set()
    current: BaseException | None = exc
    while current is not None and id(current) not in seen:
        seen.add(id(current))
        if isinstance(current, ssl.SSLCertVerificationError):
            return True
        if "CERTIFICATE_VERIFY_FAILED" in str(current) or "hostname mismatch" in str(current).lower():
            return True
        current = current.__cause__ or current.__context__
    return False


def translate_transport(exc: httpx.TransportError, endpoint: str) -> errors.TransportError:
    """The most specific of our transport errors for an httpx one (the seam's only mapping)."""
    text = f"{type(exc).__name__} talking to {endpoint}: {exc}".rstrip(": ")
    if isinstance(exc, httpx.ConnectError) and _is_tls_verification(exc):
        return errors.TLSVerificationError(
            f"TLS verification of {endpoint} failed: {exc}", endpoint=endpoint, sent=False
        )
    if isinstance(exc, httpx.ConnectTimeout | httpx.PoolTimeout):
        return errors.NitroTimeoutError(text, endpoint=endpoint, sent=False)
    if isinstance(exc, httpx.TimeoutException):
        return errors.NitroTimeoutError(text, endpoint=endpoint, sent=True)
    if isinstance(exc, httpx.ConnectError):
        return errors.TransportError(text, endpoint=endpoint, sent=False)
    return errors.TransportError(text, endpoint=endpoint, sent=True)


def url_for(endpoint: str, call: Call) -> str:
    url = f"{endpoint}/nitro/v1/config/{call.resource}"
    if call.name is not None:
        url += "/" + quote_name(call.name)
    if call.query:
        url += "?" + "&".join(f"{key}={value}" for key, value in call.query)
    return url


def token_from_cookies(headers: httpx.Headers) -> str | None:
    """The session token from the login reply's Set-Cookie headers, URL-decoded (`%23%23…` → `##…`):
    `NITRO_AUTH_TOKEN`, or `sessionid` on builds that send that instead (telegraf #11478)."""
    found: dict[str, str] = {}
    for header in headers.get_list("set-cookie"):
        first = header.split(";", 1)[0].strip()
        key, _, value = first.partition("=")
        if value.strip():
            found.setdefault(key.strip(), unquote(value.strip().strip('"')))
    return found.get(TOKEN_COOKIE) or found.get("sessionid")


def errorcode_of(body: Mapping[str, Any]) -> int | None:
    value = body.get("errorcode")
    if isinstance(value, int) and not isinstance(value, bool):
        return value
    if isinstance(value, str) and value.strip().lstrip("-").isdigit():
        return int(value)
    return None


def decode_body(call: Call, response: httpx.Response, secrets: Sequence[str]) -> dict[str, Any]:
    """The JSON object of a reply ({} when empty); a success we cannot parse is a ProtocolError."""
    if not response.content.strip():
        return {}
    try:
        body = response.json()
    except ValueError as exc:
        if response.is_success:
            raise errors.ProtocolError(
                f"{call.method} {call.resource}: HTTP {response.status_code} with a body that is not JSON"
            ) from exc
        return {"message": errors.redact(response.text[:200], (*secrets, *call.secrets))}
    if not isinstance(body, dict):
        raise errors.ProtocolError(f"{call.method} {call.resource}: expected a JSON object")
    return body


def raise_for_status(
    call: Call, response: httpx.Response, body: dict[str, Any], secrets: Sequence[str]
) -> None:
    """Raise the most specific APIError for a failed reply (severity ERROR, 444, 1027 count on 2xx)."""
    status = response.status_code
    errorcode = errorcode_of(body)
    severity = body.get("severity")
    if status == 207:
        return  # bulk partial failure: the caller reads the per-item results
    # 444/1027 refuse the session even on a 2xx without severity (nitro-python clears its session too).
    refused = errorcode in (errors.ErrorCode.SESSION_EXPIRED, errors.ErrorCode.NOT_LOGGED_IN)
    if response.is_success and not refused and not (errorcode and str(severity).upper() == "ERROR"):
        if status == 209 or response.headers.get("X-NITRO-WARNING"):
            logger.info(
                "NITRO warning on %s %s: %s",
                call.method,
                call.resource,
                response.headers.get("X-NITRO-WARNING"),
            )
        return
    message = str(body.get("message") or response.reason_phrase or "request failed").strip()
    cls = errors.api_error_class(status, errorcode)
    raise cls(
        status,
        errorcode,
        errors.redact(message, (*secrets, *call.secrets)),
        method=call.method,
        resource=call.resource,
        name=call.name,
        severity=str(severity) if severity else None,
    )


__all__ = [
    "TOKEN_COOKIE",
    "Call",
    "Reply",
    "arg_list",
    "decode_body",
    "errorcode_of",
    "quote_name",
    "raise_for_status",
    "token_from_cookies",
    "translate_transport",
    "url_for",
]
