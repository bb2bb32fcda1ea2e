"""Which NITRO errors abort an apply, and the reason each one gets: one table, `FAILURES`.

Per-certificate failures never raise; they are reported in the result. The errors in `FAILURES`
marked `aborts` concern the appliance as a whole (it cannot be reached, trusted, logged in to or
written to), so the apply stops with `SyncAborted`, carrying the reason and the original error.
What a reason then means for the user (stalled or transient, when to look again, what to do) is
decided once, in `reconcile.failures`, for both kinds alike.
"""

from __future__ import annotations

from dataclasses import dataclass

from netscaler_certsync.domain import reasons
from netscaler_certsync.nitro import errors as nitro_errors


@dataclass(frozen=True)
class Failure:
    """One row: errors of `error` type (or a subclass) get `reason`; `aborts` stops the apply."""

    error: type[BaseException]
    reason: str
    aborts: bool


#: Tried in order, the first matching row wins (so a subclass comes before its base).
FAILURES: tuple[Failure, ...] = (
    # This process may not write now (leadership fence): nothing was sent, and nothing will be.
    Failure(nitro_errors.WriteFenced, reasons.ApplianceError, aborts=True),
    Failure(nitro_errors.TLSVerificationError, reasons.TLSVerificationFailed, aborts=True),
    Failure(nitro_errors.TransportError, reasons.Unreachable, aborts=True),
    Failure(nitro_errors.AuthenticationError, reasons.AuthenticationFailed, aborts=True),
    Failure(nitro_errors.ForbiddenError, reasons.NotAuthorized, aborts=True),
    # The client cannot be built as asked (e.g. an unreadable CA bundle): no request can succeed.
    Failure(nitro_errors.ConfigurationError, reasons.ApplianceError, aborts=True),
    # Anything else the appliance refused or answered wrongly concerns one operation.
    Failure(nitro_errors.NitroError, reasons.ApplianceError, aborts=False),
    # A local error on the way to the appliance (e.g. a CA file that cannot be read).
    Failure(OSError, reasons.ApplianceError, aborts=False),
)
_OTHER = Failure(BaseException, reasons.ApplianceError, aborts=False)


def classify(exc: BaseException) -> Failure:
    """The row of `FAILURES` that describes `exc`."""
    return next((row for row in FAILURES if isinstance(exc, row.error)), _OTHER)


class SyncAborted(Exception):
    """The apply stopped: the appliance as a whole cannot be worked with (`reason` from
    `FAILURES`; `error` is the NITRO error that stopped it). Operations applied before the error
    stay applied; the next apply converges from there."""

    def __init__(self, reason: str, message: str, error: BaseException | None = None) -> None:
        super().__init__(message)
        self.reason = reason
        self.message = message
        self.error = error


def aborts(exc: BaseException) -> bool:
    """True when an error concerns the whole appliance, not one operation."""
    return classify(exc).aborts


def to_aborted(exc: nitro_errors.NitroError) -> SyncAborted:
    return SyncAborted(classify(exc).reason, str(exc), exc)
