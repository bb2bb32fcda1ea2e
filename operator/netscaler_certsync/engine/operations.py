"""The operations a plan is made of, and how they read in a dry run or an Event.

Each operation belongs to a `group` (one certificate's id, one CA, or clean-up) and may `need`
other groups: when an operation fails, the rest of its group and every group needing it are
skipped, and all other certificates carry on.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass, field


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
    group: str
    name: str
    """The certkey (or, for file operations, the file) acted on."""
    needs: tuple[str, ...] = ()
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
    content: bytes | None = field(default=None, repr=False, compare=False)

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
        if k is Kind.BIND:
            sni = " as SNI certificate" if self.sni else ""
            return f"bind certkey {self.name} to vserver {self.vserver}{sni}"
        if k is Kind.UNBIND:
            return f"unbind certkey {self.name} from vserver {self.vserver}{' (SNI)' if self.sni else ''}"
        if k is Kind.DELETE:
            return f"delete certkey {self.name}"
        return f"delete file {self.name}"
