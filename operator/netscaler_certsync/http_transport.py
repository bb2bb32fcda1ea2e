"""A lean HTTP/1.1 keep-alive transport for httpx, on asyncio streams: request, whole reply, reuse.

httpx's default transport (httpcore over anyio, h11) cost about 0.5 ms of CPU per request here,
more than everything else a NITRO call does; a burst of 1,000 new CertificateSyncs makes about
8,000 of them (docs/benchmarks.md). This transport does only what NITRO and the Kubernetes API's
plain requests need: one request at a time per connection, replies read whole (Content-Length,
chunked, or until the server closes), idle connections reused for `keepalive_expiry` seconds.
No streaming, no HTTP/2, no proxies: watches keep httpx's own transport.

The caller's httpx client keeps everything else (URLs, headers, cookies, auth, the timeouts it
passes per request). Trust is the caller's `ssl.SSLContext`, verified as before; httpx's
`sni_hostname` extension (connect to an IP, expect a name) sets the name checked and sent.
Errors are httpx's own exceptions, so the callers' error mapping is unchanged.
"""

from __future__ import annotations

import asyncio
import contextlib
import ssl
import time
from collections.abc import Iterator
from dataclasses import dataclass, field

import httpx

#: A reply header block larger than this is refused (asyncio's default stream limit).
HEADER_LIMIT = 64 * 1024
_NO_BODY = frozenset({204, 304})


@dataclass
class _Connection:
    origin: tuple[str, str, int, str | None]
    reader: asyncio.StreamReader
    writer: asyncio.StreamWriter
    idle_since: float = field(default_factory=time.monotonic)

    def usable(self, expiry: float) -> bool:
        return (
            not self.reader.at_eof()
            and not self.writer.is_closing()
            and time.monotonic() - self.idle_since < expiry
        )

    def close(self) -> None:
        self.writer.close()


class _Stale(Exception):
    """A reused connection the server had closed: nothing of the request was answered."""


class StreamTransport(httpx.AsyncBaseTransport):
    def __init__(
        self,
        ssl_context: ssl.SSLContext | None,
        *,
        max_idle: int = 4,
        max_connections: int | None = None,
        keepalive_expiry: float = 5.0,
    ) -> None:
        self._ssl = ssl_context
        self._max_idle = max_idle
        # Requests beyond this many wait for a connection (httpx's pool limit; the NITRO session
        # caps its requests itself, the Kubernetes client relies on this).
        self._slots = asyncio.Semaphore(max_connections) if max_connections else None
        self._expiry = keepalive_expiry
        self._idle: list[_Connection] = []
        self._closed = False

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        if self._slots is None:
            return await self._handle(request)
        timeouts: dict[str, float | None] = request.extensions.get("timeout") or {}
        try:
            async with asyncio.timeout(timeouts.get("pool")):
                await self._slots.acquire()
        except TimeoutError as exc:
            raise httpx.PoolTimeout("no free connection in time", request=request) from exc
        try:
            return await self._handle(request)
        finally:
            self._slots.release()

    async def _handle(self, request: httpx.Request) -> httpx.Response:
        if self._closed:
            raise httpx.ConnectError("the transport is closed", request=request)
        timeouts: dict[str, float | None] = request.extensions.get("timeout") or {}
        url = request.url
        sni = request.extensions.get("sni_hostname")
        origin = (url.scheme, url.host, url.port or (443 if url.scheme == "https" else 80), sni)
        payload = _serialize(request, await request.aread())
        conn = self._reuse(origin)
        if conn is not None:
            try:
                return await self._exchange(conn, request, payload, timeouts)
            except _Stale as exc:
                # The server closed the idle connection without a word. A read is sent again on
                # a new connection; a write may have reached the server first, so its caller
                # decides (NITRO reads back what a write may have done).
                conn.close()
                if request.method not in ("GET", "HEAD"):
                    raise httpx.RemoteProtocolError(
                        "Server disconnected without sending a response.", request=request
                    ) from exc
        conn = await self._connect(origin, request, timeouts)
        try:
            return await self._exchange(conn, request, payload, timeouts)
        except _Stale as exc:
            raise httpx.RemoteProtocolError(
                "Server disconnected without sending a response.", request=request
            ) from exc

    def _reuse(self, origin: tuple[str, str, int, str | None]) -> _Connection | None:
        while self._idle:
            conn = self._idle.pop()
            if conn.origin == origin and conn.usable(self._expiry):
                return conn
            conn.close()
        return None

    async def _connect(
        self,
        origin: tuple[str, str, int, str | None],
        request: httpx.Request,
        timeouts: dict[str, float | None],
    ) -> _Connection:
        scheme, host, port, sni = origin
        timeout = timeouts.get("connect")
        context = self._ssl if scheme == "https" else None
        if scheme == "https" and context is None:
            context = ssl.create_default_context()
        try:
            async with asyncio.timeout(timeout):
                reader, writer = await asyncio.open_connection(
                    host,
                    port,
                    ssl=context,
                    server_hostname=(sni or host) if context is not None else None,
                    limit=HEADER_LIMIT,
                )
        except TimeoutError as exc:
            raise httpx.ConnectTimeout(
                f"no connection to {host}:{port} within {timeout} s", request=request
            ) from exc
        except (OSError, ssl.SSLError) as exc:
            raise httpx.ConnectError(str(exc) or type(exc).__name__, request=request) from exc
        return _Connection(origin, reader, writer)

    async def _exchange(
        self,
        conn: _Connection,
        request: httpx.Request,
        payload: bytes,
        timeouts: dict[str, float | None],
    ) -> httpx.Response:
        with _closed_on_failure(conn, request, httpx.WriteTimeout, httpx.WriteError, "sent"):
            conn.writer.write(payload)
            async with asyncio.timeout(timeouts.get("write")):
                await conn.writer.drain()
        with _closed_on_failure(conn, request, httpx.ReadTimeout, httpx.ReadError, "answered"):
            async with asyncio.timeout(timeouts.get("read")):
                status, headers, keep = await _read_head(conn.reader, request)
                body = (
                    b""
                    if request.method == "HEAD" or status in _NO_BODY
                    else await _read_body(conn.reader, headers, request)
                )
        if keep and not self._closed and len(self._idle) < self._max_idle:
            conn.idle_since = time.monotonic()
            self._idle.append(conn)
        else:
            conn.close()
        return httpx.Response(
            status,
            headers=headers,
            stream=httpx.ByteStream(body),
            request=request,
            extensions={"http_version": b"HTTP/1.1"},
        )

    async def aclose(self) -> None:
        self._closed = True
        idle, self._idle = self._idle, []
        for conn in idle:
            conn.close()


@contextlib.contextmanager
def _closed_on_failure(
    conn: _Connection,
    request: httpx.Request,
    timeout: type[httpx.TimeoutException],
    error: type[httpx.NetworkError],
    done: str,
) -> Iterator[None]:
    """A connection that failed half-way (or was cancelled) is closed, never reused; socket and
    TLS failures and timeouts become httpx's exceptions for the phase."""
    try:
        yield
    except TimeoutError as exc:
        conn.close()
        raise timeout(f"the request was not {done} in time", request=request) from exc
    except (OSError, ssl.SSLError) as exc:
        conn.close()
        raise error(str(exc) or type(exc).__name__, request=request) from exc
    except BaseException:
        conn.close()
        raise


def _serialize(request: httpx.Request, body: bytes) -> bytes:
    target = request.url.raw_path.decode("ascii")
    lines = [f"{request.method} {target} HTTP/1.1".encode("ascii")]
    lines += [name + b": " + value for name, value in request.headers.raw]
    if body and "content-length" not in request.headers:
        lines.append(b"Content-Length: " + str(len(body)).encode("ascii"))
    return b"\r\n".join(lines) + b"\r\n\r\n" + body


async def _read_head(
    reader: asyncio.StreamReader, request: httpx.Request
) -> tuple[int, list[tuple[bytes, bytes]], bool]:
    try:
        head = await reader.readuntil(b"\r\n\r\n")
    except asyncio.IncompleteReadError as exc:
        if not exc.partial:
            raise _Stale() from exc
        raise httpx.RemoteProtocolError("the reply ended inside its header", request=request) from exc
    except asyncio.LimitOverrunError as exc:
        raise httpx.RemoteProtocolError("the reply's header is too large", request=request) from exc
    status_line, *header_lines = head[:-4].split(b"\r\n")
    parts = status_line.split(b" ", 2)
    if len(parts) < 2 or not parts[0].startswith(b"HTTP/1.") or not parts[1].isdigit():
        raise httpx.RemoteProtocolError(f"not an HTTP/1.x reply: {status_line[:80]!r}", request=request)
    headers: list[tuple[bytes, bytes]] = []
    for line in header_lines:
        name, sep, value = line.partition(b":")
        if not sep:
            raise httpx.RemoteProtocolError("a malformed reply header", request=request)
        headers.append((name.strip(), value.strip()))
    connection = b",".join(v for n, v in headers if n.lower() == b"connection").lower()
    keep = parts[0] == b"HTTP/1.1" and b"close" not in connection
    return int(parts[1]), headers, keep


def _header(headers: list[tuple[bytes, bytes]], name: bytes) -> bytes | None:
    for key, value in headers:
        if key.lower() == name:
            return value
    return None


async def _read_body(
    reader: asyncio.StreamReader, headers: list[tuple[bytes, bytes]], request: httpx.Request
) -> bytes:
    try:
        if b"chunked" in (_header(headers, b"transfer-encoding") or b"").lower():
            return await _read_chunked(reader)
        length = _header(headers, b"content-length")
        if length is not None:
            return await reader.readexactly(int(length))
        return await reader.read()  # no length: the server ends the body by closing
    except asyncio.IncompleteReadError as exc:
        raise httpx.RemoteProtocolError("the reply ended before its body did", request=request) from exc
    except ValueError as exc:
        raise httpx.RemoteProtocolError(f"a malformed reply body: {exc}", request=request) from exc


async def _read_chunked(reader: asyncio.StreamReader) -> bytes:
    chunks: list[bytes] = []
    while True:
        size_line = await reader.readuntil(b"\r\n")
        size = int(size_line.split(b";", 1)[0].strip(), 16)
        if size == 0:
            while (await reader.readuntil(b"\r\n")) != b"\r\n":  # trailers, if any
                pass
            return b"".join(chunks)
        chunks.append(await reader.readexactly(size))
        await reader.readexactly(2)


__all__ = ["StreamTransport"]
