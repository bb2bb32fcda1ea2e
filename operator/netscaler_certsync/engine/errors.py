"""Errors that abort an apply: the appliance as a whole cannot be worked with right now.

Per-certificate failures never raise; they are reported in the result. These do, with a reason
from `domain.reasons` the operator turns into a condition (and a retry with backoff).
"""

from __future__ import annotations

from netscaler_certsync.domain import reasons
from netscaler_certsync.nitro import errors as nitro_errors


class SyncAborted(Exception):
    """The apply stopped: `reason` is Unreachable, TLSVerificationFailed, AuthenticationFailed,
    NotAuthorized or ApplianceError. Operations applied before the error stay applied; the next
    apply converges from there."""

    def __init__(self, reason: str, message: str) -> None:
        super().__init__(message)
        self.reason = reason
        self.message = message


def aborts(exc: BaseException) -> bool:
    """True when an error concerns the whole appliance, not one operation."""
    return isinstance(
        exc,
        nitro_errors.TransportError
        | nitro_errors.AuthenticationError
        | nitro_errors.ForbiddenError
        | nitro_errors.ConfigurationError,
    )


def to_aborted(exc: nitro_errors.NitroError) -> SyncAborted:
    if isinstance(exc, nitro_errors.TLSVerificationError):
        reason = reasons.TLSVerificationFailed
    elif isinstance(exc, nitro_errors.TransportError):
        reason = reasons.Unreachable
    elif isinstance(exc, nitro_errors.AuthenticationError):
        reason = reasons.AuthenticationFailed
    elif isinstance(exc, nitro_errors.ForbiddenError):
        reason = reasons.NotAuthorized
    else:
        reason = reasons.ApplianceError
    return SyncAborted(reason, str(exc))
