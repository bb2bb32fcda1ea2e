"""Errors for certificate material and naming: each carries a reason from `reasons` and a message.

Messages name the offending Secret key or certificate subject, never key material: they end up in
conditions, Events and logs.
"""

from __future__ import annotations


class DomainError(ValueError):
    """Base: `reason` is a constant from `netscaler_certsync.domain.reasons`."""

    def __init__(self, reason: str, message: str) -> None:
        super().__init__(message)
        self.reason = reason
        self.message = message

    def __repr__(self) -> str:
        return f"{type(self).__name__}({self.reason!r}, {self.message!r})"


class MaterialError(DomainError):
    """The Secret's certificate, chain or key cannot be deployed as it is."""


class NamingError(DomainError):
    """A certkey or file name cannot be rendered within NetScaler's rules."""
