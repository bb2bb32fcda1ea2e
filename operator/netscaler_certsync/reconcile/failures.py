"""What a failure means to the user: one table, reason → stalled or transient, retry delay, hint.

Both kinds use it: a NetScalerConnection's health check and a CertificateSync's apply turn the
same appliance failure into the same condition, the same retry and the same advice. Which NITRO
error gets which reason is decided in `engine.errors.FAILURES`; this table decides what the
reason asks of the user:

- `stalled=False`: retrying may fix it by itself (Reconciling=True), after `retry_after` seconds;
- `stalled=True`: a human must act (Stalled=True); we still look again after `retry_after`, since
  the fix may land where we do not watch (the appliance, a credentials Secret); `retry_after`
  None means only a change we watch (spec, Secret content) can fix it.

Post-deploy verification failures are retried on their own timer (`sync_status`), and a deletion
is retried whatever the reason (`certificatesync.finalize_sync`).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Final

from netscaler_certsync.domain import reasons
from netscaler_certsync.engine.errors import SyncAborted, classify
from netscaler_certsync.nitro.errors import WriteFenced
from netscaler_certsync.reconcile import reasons as k8s_reasons
from netscaler_certsync.reconcile.errors import ReconcileError

#: How long a failure that needs a human waits before we look again on our own.
HUMAN_RETRY: Final = 300.0


@dataclass(frozen=True)
class Policy:
    stalled: bool
    retry_after: float | None
    hint: str = ""
    """What the user can do, appended to the message."""


_FIXED_BY_INPUT = Policy(stalled=True, retry_after=None)

POLICIES: Final[Mapping[str, Policy]] = {
    # The appliance as a whole (engine.errors.FAILURES).
    reasons.Unreachable: Policy(False, 15),
    reasons.ApplianceError: Policy(False, 30),
    reasons.TLSVerificationFailed: Policy(
        True, HUMAN_RETRY, "the appliance's certificate is not trusted: set tls.caSecretRef or tls.serverName"
    ),
    reasons.AuthenticationFailed: Policy(
        True, HUMAN_RETRY, "login refused: check the username and password in the credentials Secret"
    ),
    reasons.NotAuthorized: Policy(True, HUMAN_RETRY, "the user's command policy does not allow it"),
    # Reaching the appliance from Kubernetes.
    k8s_reasons.CredentialsNotFound: Policy(True, 30),
    k8s_reasons.CANotFound: Policy(True, 30),
    k8s_reasons.NoPrimary: Policy(False, 30),
    k8s_reasons.ConnectionNotReady: Policy(False, 10),
    # Cheap to retry (no appliance call), and the connection is often created next.
    k8s_reasons.ConnectionNotFound: Policy(False, 5),
    k8s_reasons.ConfigNotSaved: Policy(False, 30),
    # One certificate: a new Secret or a spec change fixes these, and we watch both.
    **dict.fromkeys(reasons.MATERIAL_REASONS, _FIXED_BY_INPUT),
    reasons.NameTooLong: _FIXED_BY_INPUT,
    reasons.InvalidName: _FIXED_BY_INPUT,
    k8s_reasons.SecretNotFound: _FIXED_BY_INPUT,
    k8s_reasons.ConfigMapNotFound: _FIXED_BY_INPUT,
    k8s_reasons.WrongSecretType: _FIXED_BY_INPUT,
    k8s_reasons.InvalidSecretData: _FIXED_BY_INPUT,
    k8s_reasons.InvalidSpec: _FIXED_BY_INPUT,
}
#: Any other failure of one certificate (a name taken by someone else, a missing vserver): the
#: fix is on the appliance, which we do not watch.
_ON_THE_APPLIANCE = Policy(True, HUMAN_RETRY)


def policy(reason: str) -> Policy:
    return POLICIES.get(reason, _ON_THE_APPLIANCE)


def fixed_by_input(reason: str) -> bool:
    """Only a change we watch (spec, Secret content) can fix it: no timed retry."""
    return policy(reason).retry_after is None


def failure(reason: str, message: str) -> ReconcileError:
    """The error for `reason`, as the table says; the hint, if any, ends the message."""
    rule = policy(reason)
    text = f"{message}; {rule.hint}" if rule.hint else message
    return ReconcileError(reason, text, stalled=rule.stalled, retry_after=rule.retry_after)


def appliance_failure(exc: BaseException, endpoint: str) -> ReconcileError:
    """An appliance-level failure (an aborted apply, or a NITRO error of the health check)."""
    if isinstance(exc, SyncAborted):
        error = failure(exc.reason, f"{endpoint}: {exc.message}")
        cause = exc.error
    else:
        error, cause = failure(classify(exc).reason, f"{endpoint}: {exc}"), exc
    # A write refused by a claim on the appliance: look again when the claim may be ours.
    if isinstance(cause, WriteFenced) and cause.retry_after is not None:
        error.retry_after = cause.retry_after
    return error
