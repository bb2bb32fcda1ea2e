"""The session and the one request seam every NITRO call goes through.

`NitroSession` owns: the httpx client (injected or built from `TLSConfig`), the login token
(obtained lazily, shared by all callers, renewed once when the appliance says 401 with
444/1027), the concurrency cap, error translation (httpx exceptions and NITRO error bodies
become `errors.*`, chained with `from`), retries, request events and the one DEBUG line per
request. Typed operations live in `operations/` and only describe a `Call`.

Retry rules (why): idempotent calls (GET, DELETE, save) are repeated on transport errors and
non-599 5xx with backoff and jitter. Writes are repeated only when the request provably never
left (connect errors); when a write's outcome is unknown (timeout, reset after sending), the
caller's `readback` decides from the appliance's state whether it took effect, and only a write
proven absent is sent again. 599 is a deterministic NetScaler error and is never retried.
"""

from __future__ import annotations

import asyncio
import json
import logging
import ssl
import time
from collections.abc import Awaitable, Callable, Mapping, Sequence
from dataclasses import dataclass, field
from types import TracebackType
from typing import Any, Self
from urllib.parse import quote, unquote

import httpx

from netscaler_certsync.nitro import errors
from netscaler_certsync.nitro.config import Credentials, RetryPolicy, TLSConfig
from netscaler_certsync.nitro.models import RequestEvent
from netscaler_certsync.nitro.tls import check_endpoint, request_extensions, ssl_context

logger = logging.getLogger("netscaler_certsync.nitro")

RequestHook = Callable[[RequestEvent], None]
Readback = Callable[[], Awaitable[bool]]
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


class NitroSession:
    """Connection, login session and request seam for one appliance; use as `async with`."""

    def __init__(
        self,
        endpoint: str,
        credentials: Credentials,
        *,
        tls: TLSConfig | None = None,
        timeout: float = 30.0,
        partition: str | None = None,
        max_concurrency: int = 4,
        retry: RetryPolicy | None = None,
        on_request: Sequence[RequestHook] = (),
        http_client: httpx.AsyncClient | None = None,
        transport: httpx.AsyncBaseTransport | None = None,
    ) -> None:
        if max_concurrency < 1:
            raise errors.ConfigurationError("max_concurrency must be at least 1")
        self.tls = tls or TLSConfig()
        self.endpoint = check_endpoint(endpoint, self.tls)
        self.credentials = credentials
        self.partition = partition
        self.max_concurrency = max_concurrency
        self.retry = retry or RetryPolicy()
        self.on_request: list[RequestHook] = list(on_request)
        self._owns_http = http_client is None
        if http_client is None:
            verify: ssl.SSLContext | bool = (
                ssl_context(self.endpoint, self.tls) if self.endpoint.startswith("https") else False
            )
            http_client = httpx.AsyncClient(
                verify=verify,
                timeout=httpx.Timeout(timeout),
                limits=httpx.Limits(
                    max_connections=max_concurrency, max_keepalive_connections=max_concurrency
                ),
                transport=transport,
                trust_env=False,  # no proxy or CA settings from the environment: trust is explicit
            )
        self._http = http_client
        self._extensions = request_extensions(self.tls)
        self._slots = asyncio.Semaphore(max_concurrency)
        self._login_lock = asyncio.Lock()
        self._token: str | None = None
        self.logins = 0
        """How many times this client logged in (1 normally; more after sessions expired)."""

    # --- lifecycle -----------------------------------------------------------------------------

    async def __aenter__(self) -> Self:
        return self

    async def __aexit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        await self.close()

    async def close(self) -> None:
        """Log out (best effort: a lingering session would count against the appliance's limit)."""
        try:
            if self._token is not None:
                try:
                    # Straight to _send: an expired session must not trigger a login just to log out.
                    await self._send(Call("POST", "logout", "logout", body={"logout": {}}), 1, self._token)
                except errors.NitroError as exc:
                    logger.debug("logout from %s failed: %s", self.endpoint, exc)
                self._token = None
        finally:
            if self._owns_http:
                await self._http.aclose()

    @property
    def logged_in(self) -> bool:
        return self._token is not None

    @property
    def _secrets(self) -> tuple[str, ...]:
        return (self.credentials.password,)

    # --- session -------------------------------------------------------------------------------

    async def _ensure_session(self) -> str:
        if self._token is not None:
            return self._token
        async with self._login_lock:
            if self._token is None:
                await self._login()
            assert self._token is not None
            return self._token

    async def _relogin(self, stale: str) -> str:
        async with self._login_lock:
            if self._token in (stale, None):
                self._token = None
                await self._login()
            assert self._token is not None
            return self._token

    async def _login(self) -> None:
        payload: dict[str, Any] = {
            "username": self.credentials.username,
            "password": self.credentials.password,
        }
        if self.credentials.session_timeout:
            payload["timeout"] = self.credentials.session_timeout
        reply = await self._call(
            Call("POST", "login", "login", body={"login": payload}, idempotent=True, authenticated=False)
        )
        self._http.cookies.clear()  # we send the token ourselves; the jar must not add a stale one
        token = _token_from_cookies(reply.headers) or str(reply.body.get("sessionid") or "")
        if not token:
            raise errors.ProtocolError(f"login to {self.endpoint} returned neither cookie nor sessionid")
        self._token = token
        self.logins += 1
        if self.partition:
            # The partition belongs to the session: switch every time we log in.
            await self._send(self._switch_call(self.partition), 1, token)

    @staticmethod
    def _switch_call(partition: str) -> Call:
        return Call(
            "POST",
            "nspartition",
            "switch",
            query=(("action", "Switch"),),
            body={"nspartition": {"partitionname": partition}},
            idempotent=True,
        )

    # --- the seam ------------------------------------------------------------------------------

    async def _call(
        self, call: Call, *, readback: Readback | None = None, retry: RetryPolicy | None = None
    ) -> Reply:
        """Send `call` with session handling, retries and read-back of unknown write outcomes."""
        policy = retry or self.retry
        attempt = 0
        read_back = False
        while True:
            attempt += 1
            try:
                return await self._send_authenticated(call, attempt)
            except errors.NitroError as exc:
                if (
                    call.gone_ok
                    and attempt > 1
                    and (errors.is_not_found(exc) or errors.is_binding_missing(exc))
                ):
                    return Reply(200, {}, httpx.Headers())
                if not errors.is_retryable(exc):
                    raise
                if call.idempotent:
                    pass
                elif isinstance(exc, errors.TransportError) and not exc.sent:
                    pass  # nothing reached the appliance: even a write is safe to send again
                elif isinstance(exc, errors.TransportError) and readback is not None and not read_back:
                    read_back = True
                    if await self._read_back(call, readback, exc):
                        return Reply(200, {}, httpx.Headers())
                    # Proven absent: sending it again is no longer blind.
                else:
                    raise
                if attempt >= policy.attempts:
                    raise
                await asyncio.sleep(policy.delay(attempt))

    async def _read_back(self, call: Call, readback: Readback, original: errors.NitroError) -> bool:
        """Did a write with an unknown outcome take effect? Failing to find out re-raises the original."""
        try:
            applied = await readback()
        except errors.NitroError as exc:
            raise original from exc
        logger.info(
            "%s %s: outcome unknown after %s; read back: %s",
            call.operation,
            call.name or call.resource,
            type(original).__name__,
            "it took effect" if applied else "it did not",
        )
        return applied

    async def _send_authenticated(self, call: Call, attempt: int) -> Reply:
        if not call.authenticated:
            return await self._send(call, attempt, None)
        token = await self._ensure_session()
        try:
            return await self._send(call, attempt, token)
        except errors.AuthenticationError as exc:
            if not errors.is_session_expired(exc):
                raise
            # The appliance refused before executing: safe to log in again and repeat once.
            token = await self._relogin(token)
            return await self._send(call, attempt, token)

    def _url(self, call: Call) -> str:
        url = f"{self.endpoint}/nitro/v1/config/{call.resource}"
        if call.name is not None:
            url += "/" + quote_name(call.name)
        if call.query:
            url += "?" + "&".join(f"{key}={value}" for key, value in call.query)
        return url

    async def _send(self, call: Call, attempt: int, token: str | None) -> Reply:
        headers = {"Accept": "application/json", **call.headers}
        content = None
        if call.body is not None:
            headers["Content-Type"] = "application/json"
            content = json.dumps(call.body).encode()
        if token is not None:
            headers["Cookie"] = f"{TOKEN_COOKIE}={token}"
        request = self._http.build_request(
            call.method, self._url(call), headers=headers, content=content, extensions=self._extensions
        )
        status: int | None = None
        errorcode: int | None = None
        failure: BaseException | None = None
        started = time.perf_counter()
        try:
            async with self._slots:
                try:
                    response = await self._http.send(request)
                except httpx.TransportError as exc:
                    raise translate_transport(exc, self.endpoint) from exc
                status = response.status_code
            body = self._decode(call, response)
            errorcode = _errorcode(body)
            self._raise_for_status(call, response, body)
            return Reply(status, body, response.headers)
        except errors.NitroError as exc:
            failure = exc
            if isinstance(exc, errors.APIError):
                errorcode = exc.errorcode
            raise
        finally:
            self._account(call, attempt, status, errorcode, time.perf_counter() - started, failure)

    def _decode(self, call: Call, response: httpx.Response) -> dict[str, Any]:
        if not response.content.strip():
            return {}
        try:
            body = response.json()
        except ValueError as exc:
            if response.is_success:
                raise errors.ProtocolError(
                    f"{call.method} {call.resource}: HTTP {response.status_code} with a body that is not JSON"
                ) from exc
            return {"message": errors.redact(response.text[:200], self._secrets + call.secrets)}
        if not isinstance(body, dict):
            raise errors.ProtocolError(f"{call.method} {call.resource}: expected a JSON object")
        return body

    def _raise_for_status(self, call: Call, response: httpx.Response, body: dict[str, Any]) -> None:
        status = response.status_code
        errorcode = _errorcode(body)
        severity = body.get("severity")
        if status == 207:
            return  # bulk partial failure: the caller reads the per-item results
        if response.is_success and not (errorcode and str(severity).upper() == "ERROR"):
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
            errors.redact(message, self._secrets + call.secrets),
            method=call.method,
            resource=call.resource,
            name=call.name,
            severity=str(severity) if severity else None,
        )

    def _account(
        self,
        call: Call,
        attempt: int,
        status: int | None,
        errorcode: int | None,
        duration: float,
        failure: BaseException | None,
    ) -> None:
        event = RequestEvent(
            method=call.method,
            resource=call.resource,
            operation=call.operation,
            name=call.name,
            status=status,
            errorcode=errorcode,
            duration=duration,
            attempt=attempt,
            error=type(failure).__name__ if failure is not None else None,
        )
        logger.debug(
            "NITRO %s %s%s -> %s errorcode=%s %.0fms%s",
            call.method,
            call.resource,
            f"/{call.name}" if call.name else "",
            status if status is not None else event.error,
            errorcode,
            duration * 1000,
            f" (attempt {attempt})" if attempt > 1 else "",
        )
        for hook in self.on_request:
            try:
                hook(event)
            except Exception:
                logger.exception("a NITRO request hook failed")


def _token_from_cookies(headers: httpx.Headers) -> str | None:
    """NITRO_AUTH_TOKEN from the login reply's Set-Cookie headers, URL-decoded (`%23%23...` → `##...`)."""
    for header in headers.get_list("set-cookie"):
        first = header.split(";", 1)[0].strip()
        key, _, value = first.partition("=")
        if key.strip() == TOKEN_COOKIE and value.strip():
            return unquote(value.strip().strip('"'))
    return None


def _errorcode(body: Mapping[str, Any]) -> int | None:
    value = body.get("errorcode")
    if isinstance(value, int) and not isinstance(value, bool):
        return value
    if isinstance(value, str) and value.strip().lstrip("-").isdigit():
        return int(value)
    return None


__all__ = ["Call", "NitroSession", "Readback", "Reply", "RequestHook", "arg_list", "quote_name"]
