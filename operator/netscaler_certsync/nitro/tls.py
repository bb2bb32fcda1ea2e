"""Turn a `TLSConfig` into what httpx needs: an `ssl.SSLContext` (or False) and request extensions.

Kept apart from the client so the trust decision can be read (and tested) on its own. The
server-name override travels as httpx's `sni_hostname` request extension: httpcore then sends
it as SNI *and* checks the certificate against it, which is exactly "connect to this IP, expect
that name".
"""

from __future__ import annotations

import logging
import ssl
from typing import Any
from urllib.parse import urlsplit

from netscaler_certsync.nitro.config import TLSConfig
from netscaler_certsync.nitro.errors import ConfigurationError

logger = logging.getLogger("netscaler_certsync.nitro")

#: endpoints we already warned about: "insecure" is said once per endpoint per process, not per call
_warned_insecure: set[str] = set()


def check_endpoint(endpoint: str, tls: TLSConfig) -> str:
    """The endpoint without a trailing slash; refuses plain HTTP unless explicitly allowed."""
    parts = urlsplit(endpoint)
    if parts.scheme not in ("https", "http") or not parts.hostname:
        raise ConfigurationError(f"endpoint must be an https:// URL with a host, not {endpoint!r}")
    if parts.scheme == "http" and not tls.allow_http:
        raise ConfigurationError(
            f"endpoint {endpoint!r} is plain HTTP: credentials would travel unencrypted; "
            "use https:// or allow plain HTTP explicitly"
        )
    return endpoint.rstrip("/")


def ssl_context(endpoint: str, tls: TLSConfig) -> ssl.SSLContext:
    """A verifying context (or, in insecure mode, a non-verifying one after a single warning)."""
    if tls.insecure:
        if endpoint not in _warned_insecure:
            _warned_insecure.add(endpoint)
            logger.warning(
                "TLS verification is DISABLED for %s: anyone on the path can read the credentials", endpoint
            )
        ctx = ssl.create_default_context()
        ctx.check_hostname = False
        ctx.verify_mode = ssl.CERT_NONE
        return ctx
    try:
        if tls.ca_pem is not None or tls.ca_file is not None:
            cadata = tls.ca_pem.decode("ascii") if isinstance(tls.ca_pem, bytes) else tls.ca_pem
            return ssl.create_default_context(cafile=tls.ca_file, cadata=cadata)
        return ssl.create_default_context()
    except (ssl.SSLError, OSError, ValueError) as exc:
        raise ConfigurationError(f"cannot load the CA bundle for {endpoint}: {exc}") from exc


def request_extensions(tls: TLSConfig) -> dict[str, Any]:
    """Per-request httpx extensions: the server-name override, if any."""
    return {"sni_hostname": tls.server_name} if tls.server_name else {}


__all__ = ["check_endpoint", "request_extensions", "ssl_context"]
