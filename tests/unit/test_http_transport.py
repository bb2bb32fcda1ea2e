"""The lean HTTP/1.1 transport against a small scripted server on 127.0.0.1: connections reused,
replies read whole however they are framed, and a connection the server dropped handled as
httpx would (a read sent again, a write reported, never sent twice)."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Callable

import httpx
import pytest

from netscaler_certsync.http_transport import StreamTransport

Reply = Callable[[bytes], bytes | None]  # request head -> raw reply (None: close without a word)


class Server:
    def __init__(self, reply: Reply) -> None:
        self.reply = reply
        self.connections = 0
        self.requests: list[bytes] = []
        self._server: asyncio.Server | None = None

    async def __aenter__(self) -> Server:
        self._server = await asyncio.start_server(self._serve, "127.0.0.1", 0)
        return self

    async def __aexit__(self, *_: object) -> None:
        assert self._server is not None
        self._server.close()

    @property
    def url(self) -> str:
        assert self._server is not None
        return f"http://127.0.0.1:{self._server.sockets[0].getsockname()[1]}"

    async def _serve(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self.connections += 1
        try:
            while True:
                head = await reader.readuntil(b"\r\n\r\n")
                length = next(
                    (
                        int(line.split(b":")[1])
                        for line in head.split(b"\r\n")
                        if line.lower().startswith(b"content-length")
                    ),
                    0,
                )
                body = await reader.readexactly(length)
                self.requests.append(head + body)
                raw = self.reply(head)
                if raw is None:
                    break
                writer.write(raw)
                await writer.drain()
                if b"Connection: close" in raw:
                    break
        except (asyncio.IncompleteReadError, ConnectionError):
            pass
        writer.close()


def ok(body: bytes = b'{"errorcode": 0}', extra: bytes = b"") -> bytes:
    return b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: %d\r\n%s\r\n%s" % (
        len(body),
        extra,
        body,
    )


@pytest.fixture()
async def client() -> AsyncIterator[httpx.AsyncClient]:
    async with httpx.AsyncClient(transport=StreamTransport(None), timeout=5) as http:
        yield http


async def test_one_connection_serves_request_after_request(client: httpx.AsyncClient) -> None:
    async with Server(lambda head: ok()) as server:
        for _ in range(5):
            reply = await client.get(f"{server.url}/nitro/v1/config/sslcertkey")
            assert reply.json() == {"errorcode": 0}
        posted = await client.post(
            f"{server.url}/nitro/v1/config/sslcertkey", json={"sslcertkey": {"certkey": "a"}}
        )
    assert posted.status_code == 200
    assert server.connections == 1
    assert server.requests[-1].endswith(b'{"sslcertkey":{"certkey":"a"}}')
    assert b"Host: 127.0.0.1:" in server.requests[0]


async def test_a_chunked_reply_is_read_whole(client: httpx.AsyncClient) -> None:
    chunked = b'HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n5\r\n{"a":\r\n3;x=1\r\n 1}\r\n0\r\n\r\n'
    async with Server(lambda head: chunked) as server:
        first = await client.get(server.url)
        second = await client.get(server.url)
    assert first.json() == second.json() == {"a": 1}
    assert server.connections == 1, "the chunked reply ended where it said, so the connection was reused"


async def test_connection_close_is_honoured(client: httpx.AsyncClient) -> None:
    async with Server(lambda head: ok(extra=b"Connection: close\r\n")) as server:
        await client.get(server.url)
        await client.get(server.url)
    assert server.connections == 2


async def test_a_read_on_a_dropped_connection_is_sent_again_once() -> None:
    answered: list[int] = []

    def reply(head: bytes) -> bytes | None:
        answered.append(1)
        return ok() if len(answered) != 2 else None  # the 2nd request: the server drops it silently

    async with (
        httpx.AsyncClient(transport=StreamTransport(None), timeout=5) as client,
        Server(reply) as server,
    ):
        await client.get(server.url)
        again = await client.get(server.url)
    assert again.status_code == 200
    assert server.connections == 2


async def test_a_write_on_a_dropped_connection_is_reported_not_repeated() -> None:
    answered: list[int] = []

    def reply(head: bytes) -> bytes | None:
        answered.append(1)
        return ok() if len(answered) != 2 else None

    async with (
        httpx.AsyncClient(transport=StreamTransport(None), timeout=5) as client,
        Server(reply) as server,
    ):
        await client.get(server.url)
        with pytest.raises(httpx.RemoteProtocolError):
            await client.post(server.url, json={"savensconfig": {}})
    assert len(server.requests) == 2, "the write was sent once"


async def test_no_reply_in_time_is_a_read_timeout() -> None:
    async with httpx.AsyncClient(
        transport=StreamTransport(None), timeout=httpx.Timeout(5, read=0.2)
    ) as client:

        async def silent(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
            await reader.read(1 << 16)
            await asyncio.Event().wait()  # reads the request and never answers

        server = await asyncio.start_server(silent, "127.0.0.1", 0)
        try:
            port = server.sockets[0].getsockname()[1]
            with pytest.raises(httpx.ReadTimeout):
                await client.get(f"http://127.0.0.1:{port}/")
        finally:
            server.close()


async def test_nothing_listening_is_a_connect_error(client: httpx.AsyncClient) -> None:
    server = await asyncio.start_server(lambda r, w: None, "127.0.0.1", 0)
    port = server.sockets[0].getsockname()[1]
    server.close()
    await server.wait_closed()
    with pytest.raises(httpx.ConnectError):
        await client.get(f"http://127.0.0.1:{port}/")
