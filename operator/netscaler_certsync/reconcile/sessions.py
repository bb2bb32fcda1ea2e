"""One NITRO session per appliance, kept and shared by every reconcile of the operator.

A NetScaler allows about 20 concurrent admin sessions; logging in and out on every reconcile of
every CertificateSync would spend two requests each time and, with many syncs, crowd that limit.
`NitroSessions` keeps one `NitroClient` per (endpoint, partition, credentials, TLS settings): it
logs in lazily, re-logs in once when the appliance expired the session, and bounds the requests in
flight to that appliance for everyone. Changed credentials or TLS settings give a new client; the
old one is logged out. Every client gets the operator's write guard (`before_write`, the
leadership fence when leader election is on).
"""

from __future__ import annotations

import hashlib
from collections.abc import Awaitable, Callable, Sequence
from typing import Any

from netscaler_certsync.engine import appliance_key
from netscaler_certsync.nitro import NitroClient
from netscaler_certsync.nitro.session import WriteGuard
from netscaler_certsync.nitro.wire import Call

#: The per-appliance fence: (appliance key, request) -> seconds the write may take; raises to refuse.
ApplianceGuard = Callable[[str, Call], Awaitable[float]]

Key = tuple[str, ...]


def _digest(value: str | bytes | None) -> str:
    data = value.encode() if isinstance(value, str) else (value or b"")
    return hashlib.sha256(data).hexdigest()[:16]


class NitroSessions:
    def __init__(self, max_concurrency: int = 4) -> None:
        self.max_concurrency = max_concurrency
        self.before_write: WriteGuard | None = None
        self.claim: ApplianceGuard | None = None
        """Shards: the per-appliance fence, asked with the appliance key after `before_write`."""
        self.user_agent = "netscaler-certsync"
        """Sent with every request (the operator adds its leader-election identity)."""
        self._clients: dict[Key, NitroClient] = {}
        self._current: dict[tuple[str, str], Key] = {}  # (connection label, endpoint) -> key
        self._retired: list[NitroClient] = []

    def __len__(self) -> int:
        return len(self._clients)

    def client(self, target: Any, endpoint: str, on_request: Sequence[Any] = ()) -> NitroClient:
        """The shared client for `target` (an ApplianceTarget) at `endpoint`; created on first use."""
        tls = target.tls
        key: Key = (
            target.label,  # metrics label the client's hook reports under
            endpoint,
            target.partition or "",
            target.credentials.username,
            _digest(target.credentials.password),
            _digest(tls.ca_pem if isinstance(tls.ca_pem, str | bytes) else None),
            str(tls.ca_file or ""),
            tls.server_name or "",
            str(bool(tls.insecure)),
            str(bool(tls.allow_http)),
            str(target.timeout),
        )
        found = self._clients.get(key)
        if found is None:
            found = self._clients[key] = target.client(
                endpoint,
                max_concurrency=self.max_concurrency,
                on_request=list(on_request),
                user_agent=self.user_agent,
            )
            found.before_write = self._guard(appliance_key(target.endpoints, target.partition))
        slot = (target.label, endpoint)
        previous = self._current.get(slot)
        self._current[slot] = key
        if previous is not None and previous != key and previous not in self._current.values():
            self._retired.append(self._clients.pop(previous))
        return found

    def _guard(self, appliance: str) -> WriteGuard | None:
        """The leadership fence, then (shards) this appliance's claim: the smaller budget wins."""
        leader, claim = self.before_write, self.claim
        if claim is None:
            return leader

        async def guard(call: Call) -> float | None:
            budget = await leader(call) if leader is not None else None
            mine = await claim(appliance, call)
            return mine if budget is None else min(budget, mine)

        return guard

    async def close_retired(self) -> None:
        """Log out of sessions whose settings were replaced (called between reconciles)."""
        retired, self._retired = self._retired, []
        for client in retired:
            await client.close()

    async def close(self) -> None:
        await self.close_retired()
        clients, self._clients = list(self._clients.values()), {}
        self._current.clear()
        for client in clients:
            await client.close()
