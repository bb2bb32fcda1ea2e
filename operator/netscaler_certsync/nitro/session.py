"""The session and the one request seam every NITRO call goes through.

`NitroSession` owns: the httpx client (injected or built from `TLSConfig`), the login token
(obtained lazily, shared by all callers, renewed once when the appliance says 401 with
444/1027), the concurrency cap, error translation (httpx exceptions and NITRO error bodies
become `errors.*`, chained with `from`), retries, request events and the one DEBUG line per
request. Typed operations live in `operations/` and only describe a `Call`; `wire.py` turns
calls into URLs and replies into data or errors.

Write guard (why): `before_write`, when set, is awaited before every request that may change the
appliance (anything but GET, login, logout and the partition switch), after the request has its
concurrency slot, so as late as possible before it is sent. It returns how many seconds the
request may take at most (the whole request is cancelled after that, an unknown outcome like any
timeout) or raises `errors.WriteFenced`, and then
nothing is sent. The operator uses it to fence writes by leadership (k8s/lease.py); the client
itself knows nothing of it.

Retry rules (why): idempotent calls (GET, DELETE, save) are repeated on transport errors and
non-599 5xx with backoff and jitter. Writes are repeated only when the request provably never
left (connect errors); when a write's outcome is unknown (timeout, reset after sending), the
caller's `readback` decides from the appliance's state whether it took effect, and only a write
proven absent is sent again. 599 is a deterministic NetScaler error and is never retried.
One request and the login it needs share one budget of `RetryPolicy.attempts` (`_Budget`): a
login retried inside a retried request would otherwise multiply them (attempts² connection
attempts to an unreachable appliance, with every backoff in between).
"""

from __future__ import annotations

import asyncio
import json
import logging
import ssl
import time
from collections.abc import Awaitable, Callable, Sequence
from typing import Any, Self

import httpx

from netscaler_certsync.http_transport import StreamTransport
from netscaler_certsync.nitro import errors
from netscaler_certsync.nitro.config import Credentials, RetryPolicy, TLSConfig
from netscaler_certsync.nitro.models import RequestEvent
from netscaler_certsync.nitro.tls import check_endpoint, request_extensions, ssl_context
from netscaler_certsync.nitro.wire import (
    TOKEN_COOKIE,
    Call,
    Reply,
    decode_body,
    errorcode_of,
    raise_for_status,
    token_from_cookies,
    translate_transport,
    url_for,
)

logger = logging.getLogger("netscaler_certsync.nitro")

RequestHook = Callable[[RequestEvent], None]
Readback = Callable[[], Awaitable[bool]]
#: Awaited before each write: the seconds it may take (None: no limit), or raises WriteFenced.
WriteGuard = Callable[[Call], Awaitable[float | None]]
#: Requests that change no configuration: never fenced (a deposed process may still log out).
_SESSION_ONLY = frozenset({"login", "logout", "nspartition"})


class _Budget:
    """The repeats one request may still make, shared with the login it triggers."""

    def __init__(self, policy: RetryPolicy) -> None:
        self.policy = policy
        self.repeats = 0

    def next_delay(self) -> float | None:
        """Spend one repeat and return the backoff before it; None when none is left."""
        if self.repeats + 1 >= self.policy.attempts:
            return None
        self.repeats += 1
        return self.policy.delay(self.repeats)


def is_write(call: Call) -> bool:
    """Whether `call` may change the appliance's configuration (what the write guard checks)."""
    return call.method != "GET" and call.resource not in _SESSION_ONLY


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
        before_write: WriteGuard | None = None,
        user_agent: str = "netscaler-certsync",
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
        self.before_write = before_write
        self._owns_http = http_client is None
        if http_client is None:
            verify: ssl.SSLContext | bool = (
                ssl_context(self.endpoint, self.tls) if self.endpoint.startswith("https") else False
            )
            if transport is None:  # the lean transport (http_transport.py): a third of the CPU
                transport = StreamTransport(verify or None, max_idle=max_concurrency)
            http_client = httpx.AsyncClient(
                verify=verify,
                timeout=httpx.Timeout(timeout),
                limits=httpx.Limits(
                    max_connections=max_concurrency, max_keepalive_connections=max_concurrency
                ),
                transport=transport,
                headers={"User-Agent": user_agent},  # which client it was, in the appliance's logs
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

    async def __aexit__(self, *_: object) -> None:
        await self.close()

    async def close(self) -> None:
        """Log out (best effort: a lingering session would count against the appliance's limit)."""
        try:
            if self._token is not None:
                await self._logout(self._token)
                self._token = None
        finally:
            if self._owns_http:
                await self._http.aclose()

    async def _logout(self, token: str) -> None:
        # Straight to _send: an expired session must not trigger a login just to log out.
        try:
            await self._send(Call("POST", "logout", "logout", body={"logout": {}}), 1, token)
        except errors.NitroError as exc:
            logger.debug("logout from %s failed: %s", self.endpoint, exc)

    @property
    def logged_in(self) -> bool:
        return self._token is not None

    @property
    def _secrets(self) -> tuple[str, ...]:
        return (self.credentials.password,)

    # --- session -------------------------------------------------------------------------------

    async def _ensure_session(self, budget: _Budget) -> str:
        if self._token is not None:
            return self._token
        async with self._login_lock:
            if self._token is None:
                await self._login(budget)
            assert self._token is not None
            return self._token

    async def _relogin(self, stale: str, budget: _Budget) -> str:
        async with self._login_lock:
            if self._token in (stale, None):
                self._token = None
                await self._login(budget)
            assert self._token is not None
            return self._token

    async def _login(self, budget: _Budget) -> None:
        payload: dict[str, Any] = {
            "username": self.credentials.username,
            "password": self.credentials.password,
        }
        if self.credentials.session_timeout:
            payload["timeout"] = self.credentials.session_timeout
        reply = await self._call(
            Call("POST", "login", "login", body={"login": payload}, idempotent=True, authenticated=False),
            budget=budget,
        )
        self._http.cookies.clear()  # we send the token ourselves; the jar must not add a stale one
        token = token_from_cookies(reply.headers) or str(reply.body.get("sessionid") or "")
        if not token:
            raise errors.ProtocolError(f"login to {self.endpoint} returned neither cookie nor sessionid")
        self.logins += 1
        if self.partition:
            # The partition belongs to the session: switch on every login, and never hand out a
            # session still in the default partition (its writes would land in the wrong place).
            try:
                await self._send(self._switch_call(self.partition), 1, token)
            except errors.NitroError:
                await self._logout(token)
                raise
        self._token = token

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
        self, call: Call, *, readback: Readback | None = None, budget: _Budget | None = None
    ) -> Reply:
        """Send `call` with session handling, retries and read-back of unknown write outcomes.

        `budget` is the caller's when this is the login a request needs; else a fresh one."""
        budget = budget or _Budget(self.retry)
        attempt = 0
        read_back = False
        while True:
            try:
                token = await self._ensure_session(budget) if call.authenticated else None
            except errors.NitroError as exc:
                # The login already spent the shared budget on its own repeats; a retryable
                # failure is repeated only while some is left. Nothing of `call` was sent, so
                # this is never an unknown write outcome to read back.
                delay = budget.next_delay() if errors.is_retryable(exc) else None
                if delay is None:
                    raise
                await asyncio.sleep(delay)
                continue
            attempt += 1
            try:
                return await self._send_authenticated(call, attempt, token, budget)
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
                delay = budget.next_delay()
                if delay is None:
                    raise
                await asyncio.sleep(delay)

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

    async def _send_authenticated(
        self, call: Call, attempt: int, token: str | None, budget: _Budget
    ) -> Reply:
        if token is None:
            return await self._send(call, attempt, None)
        try:
            return await self._send(call, attempt, token)
        except errors.AuthenticationError as exc:
            if not errors.is_session_expired(exc):
                raise
            # The appliance refused before executing: safe to log in again and repeat once.
            token = await self._relogin(token, budget)
            try:
                return await self._send(call, attempt, token)
            except errors.AuthenticationError as again:
                if errors.is_session_expired(again):
                    self._forget(token)  # never keep a token the appliance refuses
                raise

    def _forget(self, token: str) -> None:
        if self._token == token:
            self._token = None

    async def _send(self, call: Call, attempt: int, token: str | None) -> Reply:
        if self._http.is_closed:
            raise errors.SessionClosedError(
                f"the NITRO client for {self.endpoint} was closed", endpoint=self.endpoint, sent=False
            )
        headers = {"Accept": "application/json", **call.headers}
        content = None
        if call.body is not None:
            headers["Content-Type"] = "application/json"
            content = json.dumps(call.body).encode()
        if token is not None:
            headers["Cookie"] = f"{TOKEN_COOKIE}={token}"
        status: int | None = None
        errorcode: int | None = None
        failure: BaseException | None = None
        started = time.perf_counter()
        async with self._slots:
            # Guarded inside the slot: as close to sending as the client can get (a write that
            # waited for a slot past the guard's deadline is refused, not sent late).
            limit = await self._guard(call)
            request = self._http.build_request(
                call.method,
                url_for(self.endpoint, call),
                headers=headers,
                content=content,
                extensions=self._extensions,
            )
            started = time.perf_counter()
            try:
                try:
                    # The guard's limit bounds the whole request, not each phase as httpx's does.
                    async with asyncio.timeout(limit):
                        response = await self._http.send(request)
                except httpx.TransportError as exc:
                    raise translate_transport(exc, self.endpoint) from exc
                except TimeoutError as exc:
                    raise errors.NitroTimeoutError(
                        f"{call.method} {call.resource}: no answer within the write guard's {limit:.1f}s",
                        endpoint=self.endpoint,
                    ) from exc
                status = response.status_code
            except errors.NitroError as exc:
                failure = exc
                self._account(call, attempt, status, errorcode, time.perf_counter() - started, failure)
                raise
        try:
            body = decode_body(call, response, self._secrets)
            errorcode = errorcode_of(body)
            raise_for_status(call, response, body, self._secrets)
            return Reply(status, body, response.headers)
        except errors.NitroError as exc:
            failure = exc
            if isinstance(exc, errors.APIError):
                errorcode = exc.errorcode
            raise
        finally:
            self._account(call, attempt, status, errorcode, time.perf_counter() - started, failure)

    async def _guard(self, call: Call) -> float | None:
        """The write guard's time limit for `call` (None: none); raises WriteFenced to refuse it."""
        if self.before_write is None or not is_write(call):
            return None
        return await self.before_write(call)

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


__all__ = ["NitroSession", "Readback", "RequestHook", "WriteGuard", "is_write"]
