"""Async NITRO REST client for NetScaler (Citrix ADC): sessions, typed operations, one error tree.

Knows nothing of Kubernetes or kopf; facts about the API come from `docs/nitro.md`.
"""

from __future__ import annotations

from netscaler_certsync.nitro import errors
from netscaler_certsync.nitro.client import NitroClient
from netscaler_certsync.nitro.config import NO_RETRY, Credentials, RetryPolicy, TLSConfig
from netscaler_certsync.nitro.errors import ErrorCode
from netscaler_certsync.nitro.models import (
    BulkResult,
    CertBinding,
    CertKey,
    CertLink,
    ConfigState,
    HANode,
    HAState,
    NewCertKey,
    NSVersion,
    RequestEvent,
    SSLVServer,
    SystemFile,
)
from netscaler_certsync.nitro.operations.files import SSL_DIR

__all__ = [
    "NO_RETRY",
    "SSL_DIR",
    "BulkResult",
    "CertBinding",
    "CertKey",
    "CertLink",
    "ConfigState",
    "Credentials",
    "ErrorCode",
    "HANode",
    "HAState",
    "NSVersion",
    "NewCertKey",
    "NitroClient",
    "RequestEvent",
    "RetryPolicy",
    "SSLVServer",
    "SystemFile",
    "TLSConfig",
    "errors",
]
