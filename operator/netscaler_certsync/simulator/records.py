"""The request log the simulator keeps for tests: one `RequestRecord` per NITRO request."""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import Any


@dataclass(frozen=True, slots=True)
class RequestRecord:
    method: str
    path: str
    query: dict[str, str] = field(default_factory=dict)
    resource: str = ""
    name: str | None = None
    action: str | None = None
    status: int = 0
    errorcode: int = 0
    duration: float = 0.0
    user: str | None = None
    """The NetScaler user the request was made as (None before a session is known)."""
    targets: tuple[str, ...] = ()
    """The names of the objects a write addresses (URL name, else the body's certkey, file or
    certkeyname of a binding): names only, never content."""
    session: str | None = None
    """Which login session sent it: a short digest of its token (never the token), so a test can
    tell apart the requests of two clients; for a login, the session it opened."""
    client: str = ""
    """The request's User-Agent."""
    started: float = 0.0
    """`time.monotonic()` when the request arrived (comparable across processes of one host)."""

    @property
    def is_write(self) -> bool:
        """Anything that may change the appliance: not a GET, not login/logout."""
        return self.method != "GET" and self.resource not in ("login", "logout")

    def to_json(self) -> dict[str, Any]:
        out = asdict(self)
        out["is_write"] = self.is_write
        return out
