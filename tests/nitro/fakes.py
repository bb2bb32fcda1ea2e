"""A scripted appliance on `httpx.MockTransport`, for shapes and failures the simulator cannot produce.

Each test queues replies per (method, resource path) and reads back what the client sent.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import unquote

import httpx

from netscaler_certsync.nitro import Credentials, NitroClient, RetryPolicy, TLSConfig

Reply = httpx.Response | Exception | Callable[[httpx.Request], httpx.Response]
LOGIN_OK = httpx.Response(
    201,
    json={"errorcode": 0, "message": "Done", "severity": "NONE", "sessionid": "##ABC"},
    headers={"Set-Cookie": "NITRO_AUTH_TOKEN=%23%23ABC; path=/nitro/v1"},
)


def nitro_json(status: int = 200, **body: Any) -> httpx.Response:
    envelope = {"errorcode": 0, "message": "Done", "severity": "NONE"}
    envelope.update(body)
    return httpx.Response(status, json=envelope)


def nitro_error(status: int, errorcode: int, message: str) -> httpx.Response:
    return httpx.Response(status, json={"errorcode": errorcode, "message": message, "severity": "ERROR"})


@dataclass
class FakeAppliance:
    """Routes keyed by `METHOD path` where path is after /nitro/v1/config/ (query ignored)."""

    routes: dict[str, list[Reply]] = field(default_factory=dict)
    requests: list[httpx.Request] = field(default_factory=list)

    def on(self, method: str, path: str, *replies: Reply) -> None:
        self.routes.setdefault(f"{method} {path}", []).extend(replies)

    def handler(self, request: httpx.Request) -> httpx.Response:
        self.requests.append(request)
        path = request.url.raw_path.decode().split("?", 1)[0].removeprefix("/nitro/v1/config/")
        key = f"{request.method} {unquote(unquote(path))}"
        if key == "POST login" and key not in self.routes:
            return LOGIN_OK
        if key == "POST logout" and key not in self.routes:
            return nitro_json(200)
        queue = self.routes.get(key)
        if not queue:
            return nitro_error(404, 258, f"No such resource [{key}]")
        reply = queue.pop(0) if len(queue) > 1 else queue[0]
        if isinstance(reply, Exception):
            raise reply
        if callable(reply) and not isinstance(reply, httpx.Response):
            return reply(request)
        return reply

    def sent(self, method: str | None = None, path: str | None = None) -> list[httpx.Request]:
        """Requests the client made, optionally only one method/path (login and logout included)."""
        out = []
        for request in self.requests:
            raw = request.url.raw_path.decode().split("?", 1)[0].removeprefix("/nitro/v1/config/")
            if (method is None or request.method == method) and (
                path is None or unquote(unquote(raw)) == path
            ):
                out.append(request)
        return out

    def client(self, **kwargs: Any) -> NitroClient:
        kwargs.setdefault("retry", RetryPolicy(attempts=3, base_delay=0))
        return NitroClient(
            "https://ns.example",
            Credentials("nsroot", "s3cret-pw"),
            tls=kwargs.pop("tls", TLSConfig()),
            transport=httpx.MockTransport(self.handler),
            **kwargs,
        )


def body_of(request: httpx.Request) -> Any:
    return json.loads(request.content) if request.content else None
