"""Frozen value objects the NITRO client returns, and the per-request accounting event.

These are what the appliance *says*, coerced into Python types by `parsing.py`; they carry no
behaviour and no secrets (NITRO never returns `passplain`, and file listings carry no content
unless one file was asked for).
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field


@dataclass(frozen=True)
class CertKey:
    """One `sslcertkey`: a certificate (and optionally its key) loaded from files on the appliance."""

    name: str
    cert: str | None = None
    key: str | None = None
    serial: str | None = None
    """Upper-case hex without separators, as NITRO shows it."""
    subject: str | None = None
    issuer: str | None = None
    not_before: dt.datetime | None = None
    not_after: dt.datetime | None = None
    days_to_expiration: int | None = None
    status: str | None = None
    """`Valid`, `Not yet valid` or `Expired`."""
    certificate_types: tuple[str, ...] = ()
    """Subset of ROOT_CERT, INTM_CERT, CLNT_CERT, SRVR_CERT, UNKNOWN_CERT."""
    linked_to: str | None = None
    """The CA certkey this one is linked to (`linkcertkeyname`)."""
    inform: str | None = None
    key_type: str | None = None
    """`RSA` or `EC` from NITRO's `publickey` (rsaEncryption, id-ecPublicKey), None when not shown.
    The same word starts the domain's material key type (`RSA-2048`, `EC-secp256r1`): a vserver
    holds one default certificate per key type (CTX224272)."""

    @property
    def is_ca(self) -> bool:
        return bool({"ROOT_CERT", "INTM_CERT"} & set(self.certificate_types))


@dataclass(frozen=True)
class NewCertKey:
    """What `add_certkey(s)` sends: files already on the appliance, and the key's passphrase if any."""

    name: str
    cert: str
    key: str | None = None
    inform: str = "PEM"
    passplain: str | None = field(default=None, repr=False)


@dataclass(frozen=True)
class CertBinding:
    """One `sslvserver_sslcertkey_binding`; its identity is (vserver, certkey, sni, ca)."""

    vserver: str
    certkey: str
    sni: bool = False
    ca: bool = False
    crlcheck: str | None = field(default=None, compare=False)
    """A CA binding's `-crlCheck` (Mandatory or Optional) as NITRO shows it; not part of its identity."""
    ocspcheck: str | None = field(default=None, compare=False)
    """A CA binding's `-ocspCheck`, likewise."""


@dataclass(frozen=True)
class SystemFile:
    """A file on the appliance (`systemfile`); `content` only when one file was read."""

    filename: str
    location: str
    size: int | None = None
    modified: str | None = None
    is_directory: bool = False
    content: bytes | None = field(default=None, repr=False)


@dataclass(frozen=True)
class SSLVServer:
    """An SSL virtual server (`sslvserver`), the thing certificates are bound to."""

    name: str
    sni_enabled: bool = False


@dataclass(frozen=True)
class CertLink:
    """`sslcertlink`: certkey → the CA certkey it is linked to."""

    certkey: str
    linked_to: str


@dataclass(frozen=True)
class NSVersion:
    """`nsversion`: the full banner plus release (`13.1`) and build (`49.13`) when parseable."""

    version: str
    release: str | None = None
    build: str | None = None
    mode: int | None = None


@dataclass(frozen=True)
class HANode:
    """One `hanode` row; id 0 is the node we are talking to."""

    id: int
    name: str | None
    ipaddress: str | None
    state: str | None
    """Primary, Secondary, UNKNOWN, ..."""
    hastatus: str | None


@dataclass(frozen=True)
class HAState:
    """High availability as seen from the node we talk to."""

    configured: bool
    """True when a peer node is configured (more than the local node 0)."""
    local_state: str | None
    """`Primary`, `Secondary`, ... of the local node (a standalone node reports Primary)."""
    nodes: tuple[HANode, ...] = ()

    @property
    def is_primary(self) -> bool:
        """Writes belong here: a standalone node or the primary of a pair."""
        return not self.configured or (self.local_state or "").lower() == "primary"


@dataclass(frozen=True)
class ConfigState:
    """`nsconfig`: whether the running configuration differs from the saved one."""

    changed: bool
    last_changed: str | None = None
    last_saved: str | None = None


@dataclass(frozen=True)
class BulkResult:
    """One item of a bulk request: `errorcode` 0 means it took effect."""

    index: int
    errorcode: int
    message: str
    severity: str | None = None

    @property
    def ok(self) -> bool:
        return self.errorcode == 0


@dataclass(frozen=True)
class RequestEvent:
    """One HTTP exchange with the appliance, for metrics, benchmarks and logs.

    `operation` is a fixed, low-cardinality word (`get`, `list`, `add`, `update`, `link`,
    `bind`, `login`, ...). `status`/`errorcode` are None when no reply arrived; then `error`
    names the exception class. `duration` is in seconds; `attempt` counts from 1.
    """

    method: str
    resource: str
    operation: str
    name: str | None
    status: int | None
    errorcode: int | None
    duration: float
    attempt: int = 1
    error: str | None = None


__all__ = [
    "BulkResult",
    "CertBinding",
    "CertKey",
    "CertLink",
    "ConfigState",
    "HANode",
    "HAState",
    "NSVersion",
    "NewCertKey",
    "RequestEvent",
    "SSLVServer",
    "SystemFile",
]
