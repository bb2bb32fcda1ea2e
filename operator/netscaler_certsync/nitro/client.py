"""`NitroClient`: the session and request seam plus every typed operation, as one object.

    async with NitroClient("https://10.0.0.1", Credentials("nsroot", pw), tls=TLSConfig(ca_pem=pem)) as c:
        await c.add_certkey("www", "www.crt", "www.key")

One client = one appliance, one session (logged in on first use, logged out on close) and at
most `max_concurrency` requests in flight. See `session.py` for sessions, errors and retries and
`operations/` for the calls.
"""

from __future__ import annotations

from netscaler_certsync.nitro.operations import (
    BindingOperations,
    CertKeyOperations,
    FileOperations,
    SystemOperations,
)


class NitroClient(CertKeyOperations, FileOperations, BindingOperations, SystemOperations):
    """Async NITRO client for one NetScaler appliance (or one node of an HA pair)."""

    def __repr__(self) -> str:
        user = self.credentials.username
        return f"NitroClient({self.endpoint!r}, user={user!r}, partition={self.partition!r})"


__all__ = ["NitroClient"]
