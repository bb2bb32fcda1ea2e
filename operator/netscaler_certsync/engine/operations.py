"""The operations a plan is made of, their groups, and how they read in a dry run or an Event.

Each operation belongs to a `Group` (one certificate, one CA, one removal or clean-up) and may
`need` other groups: when an operation fails, the rest of its group and every group needing it
are skipped, and all other certificates carry on.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass, field
from typing import Any


class GroupKind(enum.StrEnum):
    CERT = "cert"
    """One desired certificate (named by its id)."""
    CA = "ca"
    """Installing and linking one CA certificate (named by its fingerprint)."""
    REMOVE = "remove"
    """Removing one inactive certificate's certkey."""
    RETIRE = "retire"
    """Deleting a predecessor once its successor is in place."""
    ORPHAN = "orphan"
    """A certkey of ours no record explains (an interrupted apply's)."""
    GC = "gc"
    """An unused CA certkey of ours, or (unnamed) files of ours nothing loads."""
    CLIENT_CA = "client-ca"
    """The client-authentication CAs of one vserver (named by it): `engine/plan_client_ca.py`."""


class Group(str):
    """Which group an operation belongs to: a kind and a name, never parsed from text.

    A `str` whose text is the certificate id for a certificate's group and `kind:name` otherwise,
    so that logs and a group compared with a certificate id read as before; code asks `kind`.
    """

    kind: GroupKind
    name: str

    def __new__(cls, kind: GroupKind, name: str = "") -> Group:
        text = name if kind is GroupKind.CERT else f"{kind}:{name}" if name else str(kind)
        self = super().__new__(cls, text)
        self.kind, self.name = kind, name
        return self

    def __eq__(self, other: object) -> bool:
        if isinstance(other, Group):
            return (self.kind, self.name) == (other.kind, other.name)
        return str.__eq__(self, other)

    def __ne__(self, other: object) -> bool:
        return not self == other

    __hash__ = str.__hash__

    def __reduce__(self) -> tuple[Any, ...]:
        return (Group, (self.kind, self.name))

    @classmethod
    def cert(cls, cert_id: str) -> Group:
        return cls(GroupKind.CERT, cert_id)

    @classmethod
    def ca(cls, fingerprint: str) -> Group:
        return cls(GroupKind.CA, fingerprint)

    @classmethod
    def remove(cls, name: str) -> Group:
        return cls(GroupKind.REMOVE, name)

    @classmethod
    def retire(cls, name: str) -> Group:
        return cls(GroupKind.RETIRE, name)

    @classmethod
    def orphan(cls, name: str) -> Group:
        return cls(GroupKind.ORPHAN, name)

    @classmethod
    def gc(cls, name: str = "") -> Group:
        return cls(GroupKind.GC, name)

    @classmethod
    def client_ca(cls, vserver: str) -> Group:
        return cls(GroupKind.CLIENT_CA, vserver)


class Kind(enum.StrEnum):
    UPLOAD = "upload"
    ADD = "add"
    CHANGE = "change"
    LINK = "link"
    UNLINK = "unlink"
    BIND = "bind"
    UNBIND = "unbind"
    DELETE = "delete"
    DELETE_FILE = "delete-file"


@dataclass(frozen=True)
class Operation:
    kind: Kind
    group: Group
    name: str
    """The certkey (or, for file operations, the file) acted on."""
    needs: tuple[Group, ...] = ()
    cert: str | None = None
    key: str | None = None
    vserver: str | None = None
    sni: bool = False
    link_to: str | None = None
    """LINK: the CA certkey name as planned."""
    link_to_fp: str | None = None
    """LINK: the CA's fingerprint, so a CA found under another name at apply time is followed."""
    ca_fp: str | None = None
    """ADD of a CA certkey: its fingerprint (the appliance may already hold it under another name)."""
    ca: bool = False
    """BIND / UNBIND with `-CA`: a CA trusted for client certificates."""
    crlcheck: str | None = None
    ocspcheck: str | None = None
    """BIND with `-CA`: its `-crlCheck` / `-ocspCheck` (None: not given)."""
    content: bytes | None = field(default=None, repr=False, compare=False)
    passplain: str | None = field(default=None, repr=False, compare=False)
    """ADD / CHANGE of a leaf whose key file is encrypted: its passphrase (never described)."""

    def describe(self) -> str:
        k = self.kind
        if k is Kind.UPLOAD:
            return f"upload file {self.name} ({len(self.content or b'')} bytes)"
        if k is Kind.ADD:
            what = "CA certkey" if self.key is None else "certkey"
            files = self.cert if self.key is None else f"{self.cert} + {self.key}"
            return f"add {what} {self.name} from {files}"
        if k is Kind.CHANGE:
            return f"update certkey {self.name} in place to {self.cert} + {self.key} (nodomaincheck)"
        if k is Kind.LINK:
            return f"link certkey {self.name} to CA {self.link_to}"
        if k is Kind.UNLINK:
            return f"unlink certkey {self.name} from its CA"
        if k is Kind.BIND and self.ca:
            checks = [
                f"{n} {v}" for n, v in (("crlCheck", self.crlcheck), ("ocspCheck", self.ocspcheck)) if v
            ]
            return f"bind CA certkey {self.name} to vserver {self.vserver} for client authentication" + (
                f" ({', '.join(checks)})" if checks else ""
            )
        if k is Kind.BIND:
            sni = " as SNI certificate" if self.sni else ""
            return f"bind certkey {self.name} to vserver {self.vserver}{sni}"
        if k is Kind.UNBIND and self.ca:
            return f"unbind CA certkey {self.name} from vserver {self.vserver} (client authentication)"
        if k is Kind.UNBIND:
            return f"unbind certkey {self.name} from vserver {self.vserver}{' (SNI)' if self.sni else ''}"
        if k is Kind.DELETE:
            return f"delete certkey {self.name}"
        return f"delete file {self.name}"
