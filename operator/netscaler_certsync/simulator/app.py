"""The aiohttp application: one catch-all route that parses a NITRO request, applies faults,
authenticates, checks the command policy, runs the resource handler (or a bulk of them) and
answers with the NITRO envelope. Every request is logged and recorded.
"""

from __future__ import annotations

import asyncio
import contextlib
import copy
import dataclasses
import json
import logging
import socket
import struct
import time
from collections.abc import Callable
from typing import TYPE_CHECKING, Any
from urllib.parse import quote

from aiohttp import web
from multidict import CIMultiDict

from netscaler_certsync.simulator.config import SimulatorConfig
from netscaler_certsync.simulator.errors import ERRORS, LOGIN_FAILURE_PAGE, REASONS, NitroError, done
from netscaler_certsync.simulator.faults import FaultInjector, FaultRule
from netscaler_certsync.simulator.policy import authorize
from netscaler_certsync.simulator.protocol import (
    KEY_FIELDS,
    body_items,
    decode_name,
    parse_body,
    parse_pairs,
    parse_query,
    shape_records,
)
from netscaler_certsync.simulator.records import RequestRecord
from netscaler_certsync.simulator.resources import READS, WRITES, Ctx, NitroRequest
from netscaler_certsync.simulator.resources.registry import flag, known_resources
from netscaler_certsync.simulator.sessions import Session, SessionStore, session_label
from netscaler_certsync.simulator.state import ApplianceState

if TYPE_CHECKING:
    from netscaler_certsync.simulator.vserver_tls import VServerListeners

log = logging.getLogger("netscaler_certsync.simulator")

HEADERS = {
    "Content-Type": "application/json; charset=utf-8",
    "Server": "Apache",
    "Cache-Control": "no-store, no-cache, must-revalidate",
}
NO_AUTH = ("login",)


class Aborted(Exception):
    """A fault closed the connection: nothing is answered."""


class NitroApp:
    """The appliance behind the HTTP front: state, sessions, faults and the request log."""

    def __init__(
        self,
        config: SimulatorConfig,
        new_state: Callable[[], ApplianceState],
        share_with: NitroApp | None = None,
    ) -> None:
        self.config = config
        self._new_state = new_state
        # One-element box: the two nodes of an HA pair share it, so a reset of either resets both.
        self._box: list[ApplianceState] = share_with._box if share_with is not None else [new_state()]
        self.ha_state: str = config.ha_state
        self.sessions = SessionStore(config)
        self.faults = FaultInjector(config.seed)
        for rule in config.faults:
            self.faults.add(dataclasses.replace(rule))  # a copy: counters are per simulator
        self.requests: list[RequestRecord] = []
        self.internal_errors: list[str] = []
        self._saving = 0  # saves in progress (a second concurrent one gets 1461)
        self.ca_pem: bytes | None = None  # CA of the management certificate, served by the admin endpoint
        self.vserver_listeners: VServerListeners | None = None  # with SimulatorConfig(serve_vservers=True)

    def reset(self) -> None:
        """Factory state again: no sessions, faults, requests or objects beyond the seeds."""
        self._box[0] = self._new_state()
        self.sessions = SessionStore(self.config)
        self.faults.clear()
        self.faults.reseed(self.config.seed)
        self.requests.clear()
        self.internal_errors.clear()

    def reboot(self) -> None:
        """Restart the appliance: every partition back to its saved configuration, files kept,
        every session gone (a known token is then answered 401/444, as after a restart)."""
        for part in self.state.partitions.values():
            part.reboot()
        self.sessions.expire_all()

    @property
    def state(self) -> ApplianceState:
        return self._box[0]

    def set_ha_state(self, state: str) -> None:
        """Fail over (or back): this node becomes standalone, primary or secondary."""
        if state not in ("standalone", "primary", "secondary"):
            raise ValueError(f"unknown HA state {state!r}")
        self.ha_state = state

    # -- HTTP entry point ----------------------------------------------------------------------------
    async def handle(self, request: web.Request) -> web.StreamResponse:
        started = time.perf_counter()
        path, _, raw_query = request.raw_path.partition("?")
        query = parse_query(raw_query)
        record: dict[str, Any] = {
            "method": request.method,
            "path": path,
            "query": query,
            "resource": "",
            "name": None,
        }
        record["started"] = time.monotonic()
        record["client"] = request.headers.get("User-Agent", "")
        record["action"] = query.get("action")
        try:
            status, body, headers = await self._serve(request, path, query, record)
        except Aborted:
            self._record(record, 0, 0, started)
            return web.Response(status=200)  # never reaches the client: the transport is gone
        except NitroError as exc:
            if exc.form != "json":
                self._record(record, exc.status, exc.code, started)
                page = LOGIN_FAILURE_PAGE.encode() if exc.form == "html" else b""
                html = dict(HEADERS, **{"Content-Type": "text/html; charset=utf-8"})
                reason = REASONS.get(exc.status)
                return web.Response(status=exc.status, reason=reason, body=page, headers=html)
            status, body, headers = exc.status, exc.envelope(), None
        except Exception as exc:
            log.exception("simulator bug while serving %s %s", request.method, path)
            self.internal_errors.append(f"{request.method} {path}: {exc!r}")
            status, body = (
                599,
                {"errorcode": 1, "message": f"Internal error [{type(exc).__name__}]", "severity": "ERROR"},
            )
            headers = None
        code = body.get("errorcode", 0) if body else 0
        self._record(record, status, code, started)
        payload = b"" if body is None else json.dumps(body).encode()
        out_headers = CIMultiDict(HEADERS)
        for key, value in (headers or {}).items():
            if key.lower() == "set-cookie":  # several cookies: one header each
                for cookie in value.split("\n"):
                    out_headers.add(key, cookie)
            else:
                out_headers[key] = value
        return web.Response(status=status, reason=REASONS.get(status), body=payload, headers=out_headers)

    def _record(self, record: dict[str, Any], status: int, code: int, started: float) -> None:
        duration = time.perf_counter() - started
        self.requests.append(RequestRecord(status=status, errorcode=code, duration=duration, **record))
        cap = self.config.request_log_max
        if cap is not None and len(self.requests) > 2 * cap:
            del self.requests[:-cap]  # trim in batches: amortised O(1) per request
        if self.config.log_requests and log.isEnabledFor(logging.INFO):
            query = "&".join(f"{k}={v}" for k, v in record["query"].items())
            outcome = f"{status} errorcode={code}" if status else "connection dropped (fault)"
            log.info(
                "%s %s%s -> %s %.1fms",
                record["method"],
                record["path"],
                f"?{query}" if query else "",
                outcome,
                duration * 1000,
            )

    async def _serve(
        self, request: web.Request, path: str, query: dict[str, str], record: dict[str, Any]
    ) -> tuple[int, dict[str, Any] | None, dict[str, str] | None]:
        parts = path.split("/")
        if len(parts) < 5 or parts[1] != "nitro" or parts[2] != "v1" or parts[3] not in ("config", "stat"):
            raise NitroError(258, "URL", path, status=404)
        if len(parts) > 6 or not parts[4]:
            raise NitroError(258, "URL", path, status=404)
        kind, resource = parts[3], parts[4]
        name = decode_name(parts[5]) if len(parts) == 6 and parts[5] else None
        record.update(resource=resource, name=name)
        method = request.method
        action = query.get("action")
        nreq = NitroRequest(method, kind, resource, name, action, query)
        nreq.args = parse_pairs(query.get("args"))
        nreq.filters = parse_pairs(query.get("filter"))
        op = self._operation(nreq)
        body = await self._body(request) if method in ("POST", "PUT") else None
        record["targets"] = _targets(name, resource, body)

        params = body.get("params") if isinstance(body, dict) else None
        onerror = request.headers.get("X-NITRO-ONERROR") or query.get("onerror")
        if onerror is None and isinstance(params, dict):
            onerror = params.get("onerror")
        nreq.onerror = str(onerror or "exit").lower()

        saving = resource == "nsconfig" and op == "save"
        if saving and self._saving:
            raise NitroError(1461)
        self._saving += saving
        try:
            fired = self.faults.fire(method, resource, action, name)
            await self._apply_faults(request, [r for r in fired if r.phase == "before"])
            answer = await self._answer(request, nreq, op, body, saving, record)
            await self._apply_faults(request, [r for r in fired if r.phase == "after"])
            return answer
        finally:
            self._saving -= saving

    async def _answer(
        self,
        request: web.Request,
        nreq: NitroRequest,
        op: str,
        body: Any,
        saving: bool,
        record: dict[str, Any],
    ) -> tuple[int, dict[str, Any] | None, dict[str, str] | None]:
        if nreq.resource == "login":
            answer = self._login(body)
            record["session"] = session_label(answer[1]["sessionid"])
            return answer
        session = self._session(request)
        record["user"] = session.user.name
        record["session"] = session_label(session.token)
        if nreq.resource == "logout":
            self.sessions.logout(session)
            return self.config.quirks.logout_status, done(), None
        if saving and self.config.save_delay:
            await asyncio.sleep(self.config.save_delay)
        return self._run(session, nreq, op, body)

    @staticmethod
    async def _body(request: web.Request) -> Any:
        try:
            raw = await request.read()
        except web.HTTPRequestEntityTooLarge as exc:
            raise NitroError(1097, "request body too large", status=413) from exc
        except ConnectionError as exc:
            # The client went away mid-body (a cancelled or killed caller): nothing to apply or answer.
            raise Aborted from exc
        return parse_body(raw, request.headers.get("Content-Type", ""))

    def _operation(self, req: NitroRequest) -> str:
        if req.kind == "stat":
            if req.method != "GET" or f"stat:{req.resource}" not in READS:
                raise NitroError(258, "resource", req.resource, status=404)
            return "get"
        if req.resource in NO_AUTH or req.resource == "logout":
            if req.method != "POST":
                raise NitroError(278, "method", req.method, status=405)
            return req.resource
        if req.resource not in known_resources():
            raise NitroError(258, "resource", req.resource, status=404)
        if req.method == "GET":
            op = "get"
        elif req.method == "DELETE":
            op = "delete"
        elif req.method == "PUT":
            op = "add" if req.resource.endswith("_binding") else "set"
        elif req.method == "POST":
            verb = (req.action or "").lower()
            op = {"": "add", "rm": "delete", "unbind": "delete"}.get(verb, verb)
        else:
            raise NitroError(278, "method", req.method, status=405)
        if op == "get" and req.resource not in READS:
            raise NitroError(278, "method", req.method, status=405)
        if op != "get" and (req.resource, op) not in WRITES:
            if req.action:
                raise NitroError(278, "action", req.action)
            raise NitroError(278, "method", req.method, status=405)
        return op

    async def _apply_faults(self, request: web.Request, fired: list[FaultRule]) -> None:
        for rule in fired:
            if rule.kind == "latency":
                await asyncio.sleep(self.faults.jitter(rule))
            elif rule.kind == "expire_session":
                self.sessions.expire_all()
        for rule in fired:
            if rule.kind == "error":
                raise NitroError(rule.errorcode, status=rule.status, message=rule.message, form=rule.body)
            if rule.kind in ("reset", "timeout"):
                if rule.kind == "timeout":
                    await asyncio.sleep(rule.hang)
                self._abort(request, reset=rule.kind == "reset")
                raise Aborted

    @staticmethod
    def _abort(request: web.Request, reset: bool) -> None:
        """Drop the connection; for a reset, with SO_LINGER 0 so the peer gets a TCP RST."""
        transport = request.transport
        if transport is None:
            return
        sock = transport.get_extra_info("socket")
        if reset and sock is not None:
            with contextlib.suppress(OSError):
                sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
        transport.abort()

    def _login(self, body: Any) -> tuple[int, dict[str, Any], dict[str, str]]:
        item = body_items(body, "login")
        if isinstance(item, list):
            raise NitroError(278, "login")
        username, password = item.get("username"), item.get("password")
        if username in (None, ""):
            raise NitroError(1095, "username")
        session = self.sessions.login(username, password, item.get("timeout"))
        if self.config.quirks.login_cookie == "sessionid":
            # influxdata/telegraf #11478 (a 2022 build): no NITRO_AUTH_TOKEN, a `sessionid` cookie.
            cookies = [
                "SESSID=deleted; expires=Thu, 01-Jan-1970 00:00:01 GMT; Max-Age=0; path=/",
                f"sessionid={quote(session.token)}; path=/nitro/v1",
            ]
        else:
            cookies = [f"NITRO_AUTH_TOKEN={quote(session.token)}; path=/nitro/v1"]
        headers = {"Set-Cookie": "\n".join(cookies)}
        return 201, dict(done(), sessionid=session.token), headers

    def _session(self, request: web.Request) -> Session:
        headers = request.headers
        token = self.sessions.token_from_headers(headers.get("Cookie"), headers.get("Set-Cookie"))
        return self.sessions.resolve(token, headers.get("X-NITRO-USER"), headers.get("X-NITRO-PASS"))

    # -- running handlers ---------------------------------------------------------------------------------
    @staticmethod
    def _authorize(session: Session, req: NitroRequest, op: str, item: dict[str, Any]) -> None:
        authorize(session.user.allow, req.method, req.resource, op, req.name, item)

    def _run(
        self, session: Session, req: NitroRequest, op: str, body: Any
    ) -> tuple[int, dict[str, Any] | None, dict[str, str] | None]:
        part = self.state.partitions[session.partition]
        ctx = Ctx(self.state, part, session, req, self.ha_state)
        if op == "get":
            self._authorize(session, req, op, {})
            return 200, self._get(ctx), None
        if self.ha_state == "secondary" and op != "switch":
            if self.config.quirks.secondary_writes == "reject":
                raise NitroError(1028)
            ctx.warnings.append((1028, ERRORS[1028][1]))
        handler = WRITES[(req.resource, op)]
        if op == "delete" and req.method == "DELETE":
            key = KEY_FIELDS.get(req.resource, "name")
            items: list[dict[str, Any]] | dict[str, Any]
            if req.name is None and req.resource.endswith("global_sslcertkey_binding"):
                items = dict(req.args)  # global bindings have no name: args only
            elif req.name is None:
                raise NitroError(1095, key)
            else:
                items = dict(req.args, **{key: req.name})
        else:
            items = body_items(body, req.resource)
        status = self.config.quirks.add_status if op == "add" and req.method == "POST" else 200
        if isinstance(items, dict):
            self._authorize(session, req, op, items)
            extra = handler(ctx, items)
            status = ctx.status or status
            if ctx.warnings and flag(req.query.get("warning")):
                code, message = ctx.warnings[0]
                warning = {"errorcode": code, "message": message, "severity": "WARNING"}
                return 209, warning, {"X-NITRO-WARNING": f"{code} - {message}"}
            if self.config.quirks.empty_write_bodies:
                return status, None, None
            return status, dict(done(), **(extra or {})), None
        return self._bulk(ctx, session, op, items, status)

    def _bulk(
        self, ctx: Ctx, session: Session, op: str, items: list[dict[str, Any]], status: int
    ) -> tuple[int, dict[str, Any], None]:
        req = ctx.request
        onerror = req.onerror
        handler = WRITES[(req.resource, op)]
        snapshot = copy.deepcopy(ctx.part) if onerror == "rollback" else None
        results: list[dict[str, Any]] = []
        failed = False
        for item in items:
            try:
                self._authorize(session, req, op, item)
                handler(ctx, item)
                results.append(done())
            except NitroError as exc:
                failed = True
                results.append(exc.envelope())
                if onerror != "continue":
                    break
        if not failed:
            return status, dict(done(), response=results), None
        if snapshot is not None:
            self.state.partitions[ctx.part.name] = snapshot
        if onerror == "exit":
            # "The response payload only shows the error details of the failed operation" (NRD EEH).
            results = results[-1:]
        return (
            207,
            {"errorcode": 1243, "message": "Bulk operation failed", "severity": "ERROR", "response": results},
            None,
        )

    def _get(self, ctx: Ctx) -> dict[str, Any]:
        req = ctx.request
        key = req.resource if req.kind == "config" else f"stat:{req.resource}"
        result = READS[key](ctx)
        out = done()
        if isinstance(result, dict):
            attrs = req.query.get("attrs")
            if attrs:
                wanted = {a.strip() for a in attrs.split(",")}
                result = {k: v for k, v in result.items() if k in wanted}
            out[req.resource] = result
            return out
        records = shape_records(result, req.query, req.filters)
        if (req.query.get("count") or "").lower() == "yes":
            count: int | str = len(records) if self.config.quirks.count_as_number else str(len(records))
            out[req.resource] = [{"__count": count}]
        elif records or not self.config.quirks.omit_empty_arrays:
            out[req.resource] = records
        return out


_TARGET_FIELDS = ("certkey", "filename", "certkeyname")


def _targets(name: str | None, resource: str, body: Any) -> tuple[str, ...]:
    """The names of the objects a request addresses, for the request log (see `RequestRecord`)."""
    if name:
        return (name,)
    if not isinstance(body, dict):
        return ()
    items = body.get(resource)
    items = items if isinstance(items, list) else [items]
    return tuple(
        str(item[f]) for item in items if isinstance(item, dict) for f in _TARGET_FIELDS if item.get(f)
    )
