"""How to reach one appliance: credentials, TLS trust and the retry policy.

Plain frozen dataclasses so the operator can build them from a NetScalerConnection and tests
can build them inline. The password is kept out of `repr()` so it cannot reach a log line by
accident.
"""

from __future__ import annotations

import random
from dataclasses import dataclass, field

#: Idle timeout sent at login (seconds). NetScaler's own default is 30 minutes, so every session a
#: killed operator never logged out of counted against the session limit (20, or per user on
#: newer builds) that long; 10 minutes still outlives the 5-minute health check that keeps an
#: operator's session in use.
DEFAULT_SESSION_TIMEOUT = 600


@dataclass(frozen=True)
class Credentials:
    """A NetScaler user. `password` never appears in `repr()` or error text."""

    username: str
    password: str = field(repr=False)
    session_timeout: int | None = DEFAULT_SESSION_TIMEOUT
    """Seconds of idle time before the appliance drops the session (login `timeout`); None sends
    none (the appliance default, 30 minutes). With "restricted timeout" on, NetScaler caps it at
    the user's own `-timeout`."""


@dataclass(frozen=True)
class TLSConfig:
    """How to trust the management endpoint.

    Verification is on by default, against `ca_pem` (PEM text) or `ca_file` when given, else
    the system trust store. `server_name` overrides the name checked in the certificate (and
    sent as SNI) when the endpoint is an IP address the certificate does not name.
    `insecure=True` skips verification (the client warns once per endpoint). Plain `http://`
    endpoints are refused unless `allow_http=True`.
    """

    ca_pem: str | bytes | None = field(default=None, repr=False)
    ca_file: str | None = None
    server_name: str | None = None
    insecure: bool = False
    allow_http: bool = False


@dataclass(frozen=True)
class RetryPolicy:
    """Exponential backoff with full jitter for idempotent requests.

    `attempts` counts the first try: 3 means at most two repeats. The delay before repeat n
    (1-based) is uniform in [0, min(max_delay, base_delay * 2**(n-1))]; full jitter spreads
    many operator replicas or callers that failed together.
    """

    attempts: int = 3
    base_delay: float = 0.5
    max_delay: float = 8.0

    def delay(self, repeat: int, rng: random.Random | None = None) -> float:
        ceiling = min(self.max_delay, self.base_delay * (2 ** max(0, repeat - 1)))
        return (rng or random).uniform(0.0, ceiling) if ceiling > 0 else 0.0


NO_RETRY = RetryPolicy(attempts=1)

__all__ = ["DEFAULT_SESSION_TIMEOUT", "NO_RETRY", "Credentials", "RetryPolicy", "TLSConfig"]
