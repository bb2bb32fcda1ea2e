"""The admin endpoint under `/_simulator/` (a path NITRO never uses): state, request log,
faults, invariants, forced session expiry, reboot and reset, for tests and scripts in other processes."""

from __future__ import annotations

import json
from typing import TYPE_CHECKING, Any

from aiohttp import web

from netscaler_certsync.simulator.faults import FaultRule
from netscaler_certsync.simulator.invariants import check

if TYPE_CHECKING:
    from netscaler_certsync.simulator.app import NitroApp


def _json(data: Any, status: int = 200) -> web.Response:
    return web.json_response(data, status=status, dumps=lambda d: json.dumps(d, default=str))


def add_admin_routes(app: web.Application, nitro: NitroApp) -> None:
    async def state(_: web.Request) -> web.Response:
        listeners = nitro.vserver_listeners
        addresses = {n: f"{h}:{p}" for n, (h, p) in listeners.addresses.items()} if listeners else {}
        extra = {"sessions": len(nitro.sessions.sessions), "hanode": nitro.ha_state}
        return _json(nitro.state.dump() | extra | {"vserver_addresses": addresses})

    async def requests(_: web.Request) -> web.Response:
        return _json([r.to_json() for r in nitro.requests])

    async def clear_requests(_: web.Request) -> web.Response:
        nitro.requests.clear()
        return _json({"cleared": True})

    async def faults(_: web.Request) -> web.Response:
        return _json([r.to_json() for r in nitro.faults.rules])

    async def add_faults(request: web.Request) -> web.Response:
        try:
            data = await request.json()
            rules = [FaultRule.from_json(d) for d in (data if isinstance(data, list) else [data])]
        except (ValueError, TypeError) as exc:
            return _json({"error": str(exc)}, status=400)
        for rule in rules:
            nitro.faults.add(rule)
        return _json([r.to_json() for r in nitro.faults.rules], status=201)

    async def clear_faults(_: web.Request) -> web.Response:
        nitro.faults.clear()
        return _json({"cleared": True})

    async def invariants(_: web.Request) -> web.Response:
        problems = check(nitro.state, nitro.internal_errors)
        return _json({"ok": not problems, "problems": problems})

    async def expire(_: web.Request) -> web.Response:
        return _json({"expired": nitro.sessions.expire_all()})

    async def ha(request: web.Request) -> web.Response:
        try:
            data = await request.json()
            nitro.set_ha_state(data["state"])
        except (ValueError, TypeError, KeyError) as exc:
            return _json(
                {"error": f"expected {{'state': 'standalone|primary|secondary'}}: {exc}"}, status=400
            )
        return _json({"hanode": nitro.ha_state})

    async def ca(_: web.Request) -> web.Response:
        if nitro.ca_pem is None:
            return _json({"error": "plain HTTP: there is no management CA"}, status=404)
        return web.Response(body=nitro.ca_pem, content_type="application/x-pem-file")

    async def reset(_: web.Request) -> web.Response:
        nitro.reset()
        return _json({"reset": True})

    async def reboot(_: web.Request) -> web.Response:
        nitro.reboot()
        return _json({"rebooted": True})

    async def index(_: web.Request) -> web.Response:
        """The admin URL the CLI prints answers with what it offers (not a NITRO error)."""
        routes = sorted(
            {f"{r.method} {r.resource.canonical}" for r in app.router.routes() if r.resource is not None}
        )
        endpoints = [e for e in routes if "/_simulator/" in e and not e.startswith("HEAD")]
        return _json({"simulator": "NITRO simulator admin endpoint", "endpoints": endpoints})

    app.router.add_get("/_simulator", index)
    app.router.add_get("/_simulator/", index)
    app.router.add_get("/_simulator/state", state)
    app.router.add_get("/_simulator/requests", requests)
    app.router.add_delete("/_simulator/requests", clear_requests)
    app.router.add_get("/_simulator/faults", faults)
    app.router.add_post("/_simulator/faults", add_faults)
    app.router.add_delete("/_simulator/faults", clear_faults)
    app.router.add_get("/_simulator/invariants", invariants)
    app.router.add_post("/_simulator/expire-sessions", expire)
    app.router.add_post("/_simulator/ha", ha)
    app.router.add_get("/_simulator/ca.pem", ca)
    app.router.add_post("/_simulator/reset", reset)
    app.router.add_post("/_simulator/reboot", reboot)
