"""One loopback URL in front of two API servers: our API group on the real one, the rest emulated.

The real apiextensions server has no core/v1 (Secrets, Events, Namespaces); the emulator has no
schema validation. To run a whole operator against our CRDs as Kubernetes enforces them, this
reverse proxy routes by path (see docs/testing.md, "the routing proxy"):

    /apis/netscaler.certsync.dev/..., /apis/apiextensions.k8s.io/..., /openapi/..., /version
                                                          -> the real server (admin client cert)
    /apis (the group list)                                -> both, merged (legacy APIGroupList)
    everything else (/api, /api/v1/..., other groups)     -> the emulator

The operator needs no change: one kubeconfig, one server URL, as in production. Responses are
streamed through as they arrive, so watches work; every resource lives on exactly one backend, so
resourceVersions never mix. `ProxyThread` runs it in a daemon thread for sync clients and kopf.
"""

from __future__ import annotations

import asyncio
import ssl
import threading
from typing import Any

import aiohttp
from aiohttp import web

from certsync_devkit.k8s_thread import close_loop

REAL_GROUPS = ("netscaler.certsync.dev", "apiextensions.k8s.io")
REAL_PREFIXES = (*(f"/apis/{g}" for g in REAL_GROUPS), "/openapi", "/version")

# Hop-by-hop and framing headers are the proxy's own business on each leg.
_DROP = {"host", "connection", "keep-alive", "transfer-encoding", "content-length", "upgrade", "te"}


def _routes_to_real(path: str) -> bool:
    return any(path == p or path.startswith(p + "/") for p in REAL_PREFIXES)


class RoutingProxy:
    """The aiohttp application; `real_tls` carries the CA and the admin client certificate."""

    def __init__(self, real_url: str, real_tls: ssl.SSLContext, emulator_url: str) -> None:
        self.real_url = real_url.rstrip("/")
        self.real_tls = real_tls
        self.emulator_url = emulator_url.rstrip("/")
        self.routed: list[tuple[str, str, str]] = []  # (backend, method, path), for tests
        # Writes to the real server that it refused (400/422) or accepted with a Warning header
        # (it prunes unknown fields and says so there): (method, path, status, warning or message).
        self.complaints: list[tuple[str, str, int, str]] = []
        self._session: aiohttp.ClientSession | None = None

    async def __aenter__(self) -> RoutingProxy:
        # No total or read timeout: watches stay open as long as the client wants them.
        timeout = aiohttp.ClientTimeout(total=None, sock_read=None, sock_connect=10)
        self._session = aiohttp.ClientSession(timeout=timeout, auto_decompress=False)
        return self

    async def __aexit__(self, *_: object) -> None:
        if self._session is not None:
            await self._session.close()

    def app(self) -> web.Application:
        app = web.Application(client_max_size=16 * 1024 * 1024)
        app.router.add_route("*", "/{tail:.*}", self._handle)
        return app

    async def _handle(self, request: web.Request) -> web.StreamResponse:
        if request.path.rstrip("/") == "/apis":
            return await self._group_list(request)
        real = _routes_to_real(request.path)
        self.routed.append(("real" if real else "emulator", request.method, request.path))
        return await self._forward(request, real)

    def _upstream(self, real: bool, path_qs: str) -> tuple[str, dict[str, Any]]:
        if real:
            return self.real_url + path_qs, {"ssl": self.real_tls}
        return self.emulator_url + path_qs, {}

    async def _forward(self, request: web.Request, real: bool) -> web.StreamResponse:
        assert self._session is not None
        url, extra = self._upstream(real, request.path_qs)
        headers = {k: v for k, v in request.headers.items() if k.lower() not in _DROP}
        if real:
            # The real server authenticates the client certificate; a bearer token meant for the
            # emulator would send it into a TokenReview it cannot answer.
            headers.pop("Authorization", None)
        body = await request.read() if request.can_read_body else None
        # Pass the request through as sent: aiohttp would label a body without a Content-Type as
        # octet-stream, which the API server refuses (it reads a missing type as JSON).
        async with self._session.request(
            request.method, url, headers=headers, data=body, skip_auto_headers=("Content-Type",), **extra
        ) as upstream:
            if real and request.method in {"POST", "PUT", "PATCH"}:
                self._note_complaints(request, upstream)
            response = web.StreamResponse(status=upstream.status, reason=upstream.reason)
            for key, value in upstream.headers.items():
                if key.lower() not in _DROP:
                    response.headers[key] = value
            await response.prepare(request)
            async for chunk in upstream.content.iter_any():
                await response.write(chunk)
            await response.write_eof()
            return response

    def _note_complaints(self, request: web.Request, upstream: aiohttp.ClientResponse) -> None:
        for warning in upstream.headers.getall("Warning", []):
            self.complaints.append((request.method, request.path, upstream.status, warning))
        if upstream.status in {400, 422}:
            self.complaints.append((request.method, request.path, upstream.status, upstream.reason or ""))

    async def _group_list(self, request: web.Request) -> web.Response:
        """Both servers' groups in one legacy APIGroupList; each group from the backend serving it.

        Clients asking for aggregated discovery get the legacy form, which client-go (kubectl)
        and kopf both accept, and then ask /apis/<group>/<version>, which is routed normally.
        """
        assert self._session is not None
        self.routed.append(("both", request.method, request.path))
        headers = {"Accept": "application/json"}
        real_url, extra = self._upstream(True, "/apis")
        async with self._session.get(real_url, headers=headers, **extra) as r:
            real_groups = [g for g in (await r.json())["groups"] if g["name"] in REAL_GROUPS]
        async with self._session.get(self.emulator_url + "/apis", headers=headers) as r:
            emulated = [g for g in (await r.json()).get("groups", []) if g["name"] not in REAL_GROUPS]
        return web.json_response(
            {"kind": "APIGroupList", "apiVersion": "v1", "groups": emulated + real_groups}
        )


class ProxyThread:
    """The proxy on 127.0.0.1 (random port) in a daemon thread; `url` is set once it listens."""

    def __init__(self, proxy: RoutingProxy) -> None:
        self.proxy = proxy
        self.url = ""
        self._loop = asyncio.new_event_loop()
        self._ready = threading.Event()
        self._stop: asyncio.Event | None = None
        self._error: BaseException | None = None
        self._thread = threading.Thread(target=self._main, daemon=True, name="apiserver-proxy")

    def _main(self) -> None:
        asyncio.set_event_loop(self._loop)
        try:
            self._loop.run_until_complete(self._serve())
        except BaseException as exc:  # handed to start()'s caller: the thread must not die silently
            self._error = exc
            self._ready.set()
        finally:
            close_loop(self._loop)

    async def _serve(self) -> None:
        self._stop = asyncio.Event()
        async with self.proxy:
            # A client that hangs up (kopf stopping) cancels its handler, closing the upstream watch
            # instead of leaving it open until the server's watch timeout; shutdown does not wait.
            runner = web.AppRunner(
                self.proxy.app(), access_log=None, handler_cancellation=True, shutdown_timeout=1
            )
            await runner.setup()
            site = web.TCPSite(runner, "127.0.0.1", 0)
            await site.start()
            port = runner.addresses[0][1]
            self.url = f"http://127.0.0.1:{port}"
            self._ready.set()
            try:
                await self._stop.wait()
            finally:
                await runner.cleanup()

    def start(self, timeout: float = 10) -> ProxyThread:
        self._thread.start()
        if not self._ready.wait(timeout):
            raise TimeoutError("the routing proxy did not start")
        if self._error is not None:
            raise self._error
        return self

    def stop(self) -> None:
        if self._stop is not None and self._thread.is_alive():
            self._loop.call_soon_threadsafe(self._stop.set)
        self._thread.join(10)
