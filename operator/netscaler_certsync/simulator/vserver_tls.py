"""Serve each SSL vserver of the default partition over TLS on loopback, with the certificates
bound to it, so a client can check by handshake what the appliance really serves.

The server certificate is chosen per handshake: an SNI binding whose domains contain the
requested server name, otherwise the default bindings; with neither the handshake fails (a
vserver without a certificate is down). A vserver with an RSA and an ECDSA default certificate
loads both into one context, and OpenSSL picks by what the client offers (TLS 1.2 cipher suites,
TLS 1.3 signature algorithms), as the appliance does (CTX224272). The chain sent is the certkey's
certificate followed by its linked CA certkeys, as the appliance sends it. One `ssl.SSLContext`
is built per set of (certkey, certificate, chain) and reused until any of them changes.

Atomic renewal: the choice is made inside the handshake, on the event loop that also serves
NITRO, so a handshake sees the state before or after a change (`?action=update`, link, bind),
never half of one; each NITRO request is applied whole before the loop runs anything else.

Client authentication (`set ssl vserver -clientAuth ENABLED -clientCert Mandatory|Optional`): the
vserver asks for a client certificate and verifies it against the CA certkeys bound with `-CA`
(only those; a linked chain is not a trust anchor). Mandatory refuses a client without a valid
certificate; Optional lets one without a certificate in (the appliance also lets an invalid one
in, OpenSSL refuses it: the simulator is stricter there).

Data-plane faults (`FaultRule(kind="stale_serving" | "drop_link", name=<vserver>)`): the first
keeps serving what this vserver served for that server name before the fault fired; the second
sends the certificate without its linked chain.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import ssl
import tempfile
from collections import OrderedDict
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Protocol

from cryptography.hazmat.primitives import serialization

from netscaler_certsync.simulator.certs import load_key
from netscaler_certsync.simulator.errors import NitroError

if TYPE_CHECKING:
    from netscaler_certsync.simulator.faults import FaultInjector
    from netscaler_certsync.simulator.state import ApplianceState, CertKey, Partition, VServer

log = logging.getLogger("netscaler_certsync.simulator.vservers")
ContextKey = tuple[str, ...]
#: Contexts kept for reuse (least recently served dropped first).
MAX_CONTEXTS = 64


class Appliance(Protocol):
    """What the listeners read of the appliance (a `NitroApp`, which holds the listeners in turn):
    its state, read per handshake because a reset replaces it, and its fault rules."""

    @property
    def state(self) -> ApplianceState: ...

    faults: FaultInjector


class VServerListeners:
    """One TLS listener per SSL vserver; `addresses[name]` is where it answers."""

    def __init__(self, nitro: Appliance, workdir: Path) -> None:
        self.nitro = nitro
        self.workdir = Path(tempfile.mkdtemp(prefix="vservers-", dir=workdir))
        self.addresses: dict[str, tuple[str, int]] = {}
        self.handshakes: dict[str, int] = {}
        self._servers: list[asyncio.Server] = []
        self._contexts: OrderedDict[ContextKey, ssl.SSLContext] = OrderedDict()
        self._built = 0
        #: (vserver, server name) -> what was served last, for the stale_serving fault
        self._last: dict[tuple[str, str], ssl.SSLContext] = {}
        #: (vserver, client-certificate mode) -> the context a connection starts TLS with
        self._bases: dict[tuple[str, str | None], ssl.SSLContext] = {}

    async def start(self, host: str = "127.0.0.1") -> None:
        for vserver in self.nitro.state.default.vservers.values():
            if vserver.ssl:
                server = await asyncio.start_server(self._answer(vserver.name), host, 0)
                self._servers.append(server)
                self.addresses[vserver.name] = server.sockets[0].getsockname()[:2]

    async def stop(self) -> None:
        for server in self._servers:
            server.close()
        for server in self._servers:
            with contextlib.suppress(Exception):
                await server.wait_closed()

    # -- choosing the certificate ----------------------------------------------------------------------------
    def _chooser(self, vserver_name: str):  # type: ignore[no-untyped-def]
        def choose(sock: ssl.SSLObject, server_name: str | None, _: ssl.SSLContext) -> int | None:
            part = self.nitro.state.default
            vserver = part.vservers.get(vserver_name)
            certkeys = self._certkeys_for(part, vserver, server_name) if vserver is not None else []
            faults = self.nitro.faults.fire_serving(vserver_name)
            last_key = (vserver_name, (server_name or "").lower())
            stale = self._last.get(last_key) if "stale_serving" in faults else None
            if stale is not None:
                sock.context = stale
                self.handshakes[vserver_name] = self.handshakes.get(vserver_name, 0) + 1
                return None
            if not certkeys:
                return ssl.ALERT_DESCRIPTION_HANDSHAKE_FAILURE
            assert vserver is not None  # certkeys come only from an existing vserver
            cas = [part.certkeys[name] for name in vserver.client_cas() if name in part.certkeys]
            try:
                sock.context = self._context(part, certkeys, cas, with_chain="drop_link" not in faults)
            except (NitroError, OSError, ssl.SSLError, ValueError):
                names = [c.name for c in certkeys]
                log.exception("cannot serve certkeys %r on vserver %r", names, vserver_name)
                return ssl.ALERT_DESCRIPTION_INTERNAL_ERROR
            self._last[last_key] = sock.context
            self.handshakes[vserver_name] = self.handshakes.get(vserver_name, 0) + 1
            return None

        return choose

    @staticmethod
    def _certkeys_for(part: Partition, vserver: VServer, server_name: str | None) -> list[CertKey]:
        if server_name and vserver.snienable:
            owner = vserver.sni_domains.get(server_name.lower())
            if owner is not None and owner in part.certkeys:
                return [part.certkeys[owner]]
        return [part.certkeys[name] for name in vserver.defaults() if name in part.certkeys]

    def _base(self, vserver_name: str) -> ssl.SSLContext:
        """The context a connection starts with: it decides whether a client certificate is asked
        for (OpenSSL takes the verify mode when the connection is made, not from the context the
        SNI callback swaps in), and the swapped-in context brings the certificates and the CAs."""
        vserver = self.nitro.state.default.vservers.get(vserver_name)
        mode = vserver.clientcert if vserver is not None else None
        context = self._bases.get((vserver_name, mode))
        if context is None:
            context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
            context.sni_callback = self._chooser(vserver_name)
            # Optional: asked for, not required (OpenSSL still refuses one that does not verify).
            context.verify_mode = {None: ssl.CERT_NONE, "Optional": ssl.CERT_OPTIONAL}.get(
                mode, ssl.CERT_REQUIRED
            )
            self._bases[(vserver_name, mode)] = context
        return context

    def _context(
        self,
        part: Partition,
        certkeys: list[CertKey],
        cas: Sequence[CertKey] = (),
        *,
        with_chain: bool = True,
    ) -> ssl.SSLContext:
        chains = []
        key: ContextKey = ("ca", *(c.info.fingerprint for c in cas), "|")
        for certkey in sorted(certkeys, key=lambda c: c.name):
            chain = [certkey]
            seen = {certkey.name}
            while with_chain and (link := chain[-1].link) and link not in seen and link in part.certkeys:
                seen.add(link)
                chain.append(part.certkeys[link])
            chains.append(chain)
            key += (certkey.name, certkey.key or "", *(c.info.fingerprint for c in chain), "|")
        context = self._contexts.get(key)
        if context is None:
            self._built += 1
            context = self._build(part, chains, self._built)
            if cas:  # the trust anchors for client certificates: the CA certkeys bound with -CA
                context.load_verify_locations(
                    cadata="".join(ssl.DER_cert_to_PEM_cert(c.info.der) for c in cas)
                )
            self._contexts[key] = context
            while len(self._contexts) > MAX_CONTEXTS:  # renewals without end (kind e2e, long demos)
                self._contexts.popitem(last=False)
        self._contexts.move_to_end(key)
        return context

    def _build(self, part: Partition, chains: list[list[CertKey]], serial: int) -> ssl.SSLContext:
        context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        for chain in chains:  # one chain per key type: OpenSSL keeps a certificate slot for each
            certkey = chain[0]
            key_data = part.read_path(certkey.key) if certkey.key else None
            if key_data is None:
                raise NitroError(1647)
            key = load_key(key_data, certkey.inform, certkey.passplain)
            cert_file, key_file = self.workdir / f"{serial}.crt", self.workdir / f"{serial}.key"
            cert_file.write_text("".join(ssl.DER_cert_to_PEM_cert(c.info.der) for c in chain))
            key_file.touch(mode=0o600)
            key_file.write_bytes(
                key.private_bytes(
                    serialization.Encoding.PEM,
                    serialization.PrivateFormat.PKCS8,
                    serialization.NoEncryption(),
                )
            )
            try:
                context.load_cert_chain(cert_file, key_file)
            finally:  # loaded into memory: the files (an unencrypted key among them) are not needed
                cert_file.unlink(missing_ok=True)
                key_file.unlink(missing_ok=True)
        return context

    # -- answering -------------------------------------------------------------------------------------
    def _answer(self, vserver_name: str):  # type: ignore[no-untyped-def]
        async def answer(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
            body = f"simulated vserver {vserver_name}\n".encode()
            try:
                await writer.start_tls(self._base(vserver_name), ssl_handshake_timeout=5)
                await asyncio.wait_for(reader.readuntil(b"\r\n\r\n"), timeout=5)
                writer.write(
                    b"HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\nConnection: close\r\n"
                    + f"Content-Length: {len(body)}\r\n\r\n".encode()
                    + body
                )
                await writer.drain()
            except (
                OSError,
                ssl.SSLError,
                asyncio.IncompleteReadError,
                asyncio.LimitOverrunError,
                TimeoutError,
            ):
                pass  # a handshake-only check closes without a request; a refused handshake too
            finally:
                writer.close()
                with contextlib.suppress(OSError, ssl.SSLError):
                    await writer.wait_closed()

        return answer
