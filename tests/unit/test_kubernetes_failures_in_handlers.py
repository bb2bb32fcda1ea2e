"""A Kubernetes API call failing under a handler is a retry with one log line, not a traceback.

Seen in the operator tier: a drift-check timer still reading the connection's CA Secret while the
operator shut down (its Kubernetes client already closed) raised the client's TransportError
through kopf, which logs unknown exceptions with a traceback. The same happens in production
whenever the API server restarts under a running reconcile.
"""

from __future__ import annotations

import kopf
import pytest

from netscaler_certsync.handlers.outcomes import KUBERNETES_RETRY_SECONDS, kubernetes_failures_are_temporary
from netscaler_certsync.k8s.errors import Forbidden, KubernetesError, TransportError


@pytest.mark.parametrize(
    "error",
    [
        TransportError("GET /api/v1/namespaces/default/secrets/adc-ca: ReadError: "),
        KubernetesError("etcdserver: request timed out", status=500, reason="InternalError"),
        Forbidden("secrets is forbidden", status=403, reason="Forbidden"),
    ],
)
def test_an_api_failure_becomes_kopfs_temporary_error(error: KubernetesError) -> None:
    with pytest.raises(kopf.TemporaryError) as caught, kubernetes_failures_are_temporary():
        raise error
    assert caught.value.delay == KUBERNETES_RETRY_SECONDS
    assert str(error) in str(caught.value)


def test_other_errors_are_not_hidden() -> None:
    with pytest.raises(ZeroDivisionError), kubernetes_failures_are_temporary():
        raise ZeroDivisionError
