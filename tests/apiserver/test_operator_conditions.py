"""The conditions the operator writes are accepted by the real status schema of both kinds.

The operator builds conditions with `reconcile.conditions` and reasons from the registries
`domain.reasons`, `k8s.reasons` and `reconcile.reasons` (no reason is written as a literal
elsewhere: `hack/check_reasons.py`). If one reason broke the CRD's reason pattern, or a message
outgrew maxLength, every status write carrying it would be refused with 422 and the object would
never show why it failed. The emulated tier accepts any status, so only this tier can catch that.
"""

from __future__ import annotations

from types import ModuleType
from typing import Any

import pytest

from netscaler_certsync.domain import reasons as domain_reasons
from netscaler_certsync.k8s import reasons as k8s_client_reasons
from netscaler_certsync.reconcile import conditions
from netscaler_certsync.reconcile import reasons as k8s_reasons
from tests.apiserver.apiserver_kube import GROUP, PLURALS, VERSION, Kube, certificate_sync, connection


def _reason_modules() -> list[ModuleType]:
    """The reason registries, one per layer (`hack/check_reasons.py` keeps reasons out of code)."""
    return [domain_reasons, k8s_client_reasons, k8s_reasons]


def _all_reasons() -> list[str]:
    found = {
        value
        for module in _reason_modules()
        for name, value in vars(module).items()
        if not name.startswith("_") and isinstance(value, str) and name[:1].isupper()
    }
    return sorted(found)


REASONS = _all_reasons()


def _write(kube: Kube, kind: str, name: str, namespace: str, status: dict[str, Any]) -> dict[str, Any]:
    return kube.custom.patch_namespaced_custom_object_status(
        GROUP, VERSION, namespace, PLURALS[kind], name, {"status": status}, field_validation="Strict"
    )


@pytest.mark.parametrize("kind", ["NetScalerConnection", "CertificateSync"])
def test_every_reason_in_every_condition_shape_is_accepted(kube: Kube, namespace: str, kind: str) -> None:
    assert len(REASONS) > 10  # the reason modules were found and read
    body = connection("conds") if kind == "NetScalerConnection" else certificate_sync("conds")
    generation = kube.create(body, namespace)["metadata"]["generation"]
    current: list[dict[str, Any]] = []
    shapes = [conditions.ready, conditions.progressing, conditions.stalled]
    for i, reason in enumerate(REASONS):
        wanted = shapes[i % len(shapes)](reason, f"message for {reason}")
        current = conditions.merge_conditions(current, wanted, generation)
        stored = _write(
            kube, kind, "conds", namespace, {"conditions": current, "observedGeneration": generation}
        )
        assert stored["status"]["conditions"] == current, reason


def test_the_longest_message_the_operator_writes_fits(kube: Kube, namespace: str) -> None:
    kube.create(certificate_sync("long"), namespace)
    # Non-ASCII on purpose: the server counts characters, and so must the operator's truncation.
    huge = "é" * 40_000
    written = conditions.merge_conditions(None, conditions.stalled("ApplianceError", huge), 1)
    stored = _write(kube, "CertificateSync", "long", namespace, {"conditions": written})
    assert len(stored["status"]["conditions"][0]["message"]) == 32_768
