"""Serving the simulator: `run_simulator()` (async context manager) and `SimulatorThread`
(the same in a background thread for sync code), both yielding a `Simulator` handle."""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import shutil
import ssl
import tempfile
import threading
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

from aiohttp import web

from netscaler_certsync.simulator.admin import add_admin_routes
from netscaler_certsync.simulator.app import NitroApp
from netscaler_certsync.simulator.certs import info_from_x509
from netscaler_certsync.simulator.config import SimulatorConfig
from netscaler_certsync.simulator.faults import FaultInjector
from netscaler_certsync.simulator.invariants import check
from netscaler_certsync.simulator.management_tls import ManagementTLS
from netscaler_certsync.simulator.pki import make_ca, server_certificate
from netscaler_certsync.simulator.records import RequestRecord
from netscaler_certsync.simulator.state import DEFAULT_LOCATION, ApplianceState
from netscaler_certsync.simulator.vserver_tls import VServerListeners


class Simulator:
    """Handle on a running simulator: its URL, management CA, live state and request log."""

    def __init__(self, nitro: NitroApp, url: str, ca_pem: bytes | None, ca_file: Path | None) -> None:
        self.app = nitro
        self.config = nitro.config
        self.url = url
        self.ca_pem = ca_pem
        self.ca_file = ca_file
        #: the other node when started by `run_ha_pair` (the two share one appliance state)
        self.peer: Simulator | None = None

    @property
    def state(self) -> ApplianceState:
        return self.app.state

    @property
    def requests(self) -> list[RequestRecord]:
        return self.app.requests

    @property
    def faults(self) -> FaultInjector:
        return self.app.faults

    @property
    def admin_url(self) -> str:
        return f"{self.url}/_simulator"

    def vserver_address(self, name: str) -> tuple[str, int]:
        """(host, port) where SSL vserver `name` answers TLS (`SimulatorConfig(serve_vservers=True)`)."""
        listeners = self.app.vserver_listeners
        if listeners is None:
            raise RuntimeError("vservers are served only with SimulatorConfig(serve_vservers=True)")
        return listeners.addresses[name]

    def clear_requests(self) -> None:
        self.app.requests.clear()

    def check_invariants(self) -> list[str]:
        return check(self.app.state, self.app.internal_errors)

    def expire_sessions(self) -> int:
        return self.app.sessions.expire_all()

    def reset(self) -> None:
        self.app.reset()

    def reboot(self) -> None:
        """Restart: the saved configuration comes back, unsaved changes are lost, files stay,
        sessions are dropped."""
        self.app.reboot()

    @property
    def ha_state(self) -> str:
        return self.app.ha_state

    def set_ha_state(self, state: str) -> None:
        """standalone | primary | secondary, e.g. to simulate a failover of an HA pair."""
        self.app.set_ha_state(state)

    def failover(self) -> None:
        """Swap the roles of this node and its `peer` (nodes from `run_ha_pair`)."""
        if self.peer is None:
            raise RuntimeError("failover() needs a node started by run_ha_pair()")
        mine, theirs = self.ha_state, self.peer.ha_state
        self.set_ha_state(theirs)
        self.peer.set_ha_state(mine)


def _state_factory(config: SimulatorConfig) -> Any:
    builtin = make_ca("default ABCDEF", org="NetScaler")
    builtin_info = info_from_x509(builtin.cert)

    def new_state() -> ApplianceState:
        state = ApplianceState(config, builtin_info)
        state.default.put_file(DEFAULT_LOCATION, "ns-server.cert", builtin.cert_pem)
        state.default.put_file(DEFAULT_LOCATION, "ns-server.key", builtin.key_pem)
        for part in state.partitions.values():
            part.save()
            part.saves = 0  # factory state: saved, but no save by a client yet
        return state

    return new_state


def _tls(config: SimulatorConfig, workdir: Path) -> tuple[ssl.SSLContext, bytes, Path]:
    """Server TLS context plus the CA to trust (generated unless a certificate was given)."""
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    if config.tls_cert is not None:
        context.load_cert_chain(config.tls_cert, config.tls_key)
        return context, config.tls_cert.read_bytes(), config.tls_cert
    wildcard = {"0.0.0.0", "::", "127.0.0.1", "localhost"}  # noqa: S104 - names to leave out, not a bind
    hosts = [h for h in (*config.tls_hosts, config.host) if h not in wildcard]
    ca, server = server_certificate((*dict.fromkeys(hosts), "127.0.0.1", "localhost"))
    cert_file, key_file, ca_file = workdir / "server.pem", workdir / "server.key", workdir / "ca.pem"
    cert_file.write_bytes(server.cert_pem)
    key_file.write_bytes(server.key_pem)
    key_file.chmod(0o600)
    ca_file.write_bytes(ca.cert_pem)
    context.load_cert_chain(cert_file, key_file)
    return context, ca.cert_pem, ca_file


def _web_app(nitro: NitroApp) -> web.Application:
    """The HTTP front: the admin endpoint under /_simulator/, and NITRO for every other path."""
    app = web.Application(client_max_size=8 * 1024 * 1024)
    add_admin_routes(app, nitro)
    app.router.add_route("*", "/{tail:.*}", nitro.handle)
    return app


@contextlib.asynccontextmanager
async def run_simulator(
    config: SimulatorConfig | None = None, *, share_state_with: Simulator | None = None
) -> AsyncIterator[Simulator]:
    """Serve a simulated appliance on loopback for the duration of the `async with`.

    `share_state_with`: serve the same appliance state as that simulator (the other node of an
    HA pair: configuration and files are in sync, sessions are per node)."""
    config = config or SimulatorConfig()
    workdir = Path(tempfile.mkdtemp(prefix="nitro-simulator-"))
    shared = share_state_with.app if share_state_with is not None else None
    nitro = NitroApp(config, _state_factory(config), share_with=shared)
    runner = web.AppRunner(_web_app(nitro), access_log=None, handle_signals=False, shutdown_timeout=0.5)
    await runner.setup()
    try:
        context, ca_pem, ca_file = _tls(config, workdir) if config.https else (None, None, None)
        site = web.TCPSite(runner, config.host, config.port, ssl_context=context, reuse_address=True)
        await site.start()
        port = runner.addresses[0][1]
        host = f"[{config.host}]" if ":" in config.host else config.host
        url = f"{'https' if config.https else 'http'}://{host}:{port}"
        nitro.ca_pem = ca_pem
        if config.management_follows_builtin and context is not None:
            nitro.state.on_management_change = ManagementTLS(context, workdir).refresh
        if config.serve_vservers:
            nitro.vserver_listeners = VServerListeners(nitro, workdir)
            await nitro.vserver_listeners.start(config.host)
        yield Simulator(nitro, url, ca_pem, ca_file)
    finally:
        if nitro.vserver_listeners is not None:
            await nitro.vserver_listeners.stop()
        await runner.cleanup()
        shutil.rmtree(workdir, ignore_errors=True)


@contextlib.asynccontextmanager
async def run_ha_pair(config: SimulatorConfig | None = None) -> AsyncIterator[tuple[Simulator, Simulator]]:
    """Two nodes of an HA pair, (primary, secondary), sharing one appliance state.

    Writes on either node change the shared state (on a real secondary they would be
    overwritten by the next HA sync; `Quirks(secondary_writes="reject")` refuses them).
    `primary.failover()` swaps the roles."""
    config = config or SimulatorConfig()
    async with run_simulator(dataclasses.replace(config, ha_state="primary")) as primary:
        secondary_config = dataclasses.replace(config, ha_state="secondary", faults=())
        async with run_simulator(secondary_config, share_state_with=primary) as secondary:
            primary.peer, secondary.peer = secondary, primary
            yield primary, secondary


class SimulatorThread:
    """`run_simulator` on its own event loop in a daemon thread: `SimulatorThread(cfg).start()`."""

    def __init__(self, config: SimulatorConfig | None = None) -> None:
        self.config = config or SimulatorConfig()
        self._ready = threading.Event()
        self._thread: threading.Thread | None = None
        self._loop: asyncio.AbstractEventLoop | None = None
        self._stop: asyncio.Event | None = None
        self._error: BaseException | None = None
        self.sim: Simulator | None = None

    def start(self, timeout: float = 30.0) -> SimulatorThread:
        self._thread = threading.Thread(target=self._main, name="nitro-simulator", daemon=True)
        self._thread.start()
        if not self._ready.wait(timeout):
            raise RuntimeError("the simulator did not start in time")
        if self._error is not None:
            raise RuntimeError("the simulator failed to start") from self._error
        return self

    def _main(self) -> None:
        try:
            asyncio.run(self._serve())
        except BaseException as exc:
            self._error = exc
            self._ready.set()

    async def _serve(self) -> None:
        self._loop = asyncio.get_running_loop()
        self._stop = asyncio.Event()
        async with run_simulator(self.config) as sim:
            self.sim = sim
            self._ready.set()
            await self._stop.wait()

    def stop(self) -> None:
        if self._loop is not None and self._stop is not None and not self._loop.is_closed():
            with contextlib.suppress(RuntimeError):
                self._loop.call_soon_threadsafe(self._stop.set)
        if self._thread is not None:
            self._thread.join(timeout=10)

    def __enter__(self) -> SimulatorThread:
        return self.start() if self._thread is None else self

    def __exit__(self, *exc: object) -> None:
        self.stop()

    def _handle(self) -> Simulator:
        if self.sim is None:
            raise RuntimeError("SimulatorThread.start() first")
        return self.sim

    def __getattr__(self, name: str) -> Any:
        # url, ca_pem, ca_file, state, requests, faults, clear_requests, check_invariants, ...
        if name.startswith("_") or name == "sim":
            raise AttributeError(name)
        return getattr(self._handle(), name)
