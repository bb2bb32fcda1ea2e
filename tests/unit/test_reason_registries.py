"""Reasons are spelled once, in their layer's registry, and the lint check keeps it that way.

`hack/check_reasons.py` runs in `make lint`; these tests show it refuses what it is meant to
refuse (so a green lint means something) and that the registries agree with each other and
with the CRD's reason pattern.
"""

from __future__ import annotations

import importlib.util
import sys
from pathlib import Path
from types import ModuleType

import pytest

from netscaler_certsync.domain import reasons as domain_reasons
from netscaler_certsync.k8s import reasons as k8s_client_reasons
from netscaler_certsync.reconcile import conditions
from netscaler_certsync.reconcile import reasons as k8s_reasons

ROOT = Path(__file__).resolve().parents[2]


def _checker() -> ModuleType:
    spec = importlib.util.spec_from_file_location("check_reasons", ROOT / "hack" / "check_reasons.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules.setdefault("check_reasons", module)
    spec.loader.exec_module(module)
    return module


check_reasons = _checker()
WORDS = check_reasons.registry()
REGISTRIES = (domain_reasons, k8s_client_reasons, k8s_reasons)


def _constants(module: ModuleType) -> dict[str, str]:
    return {n: v for n, v in vars(module).items() if n[:1].isupper() and isinstance(v, str)}


def test_the_operator_package_passes_the_check() -> None:
    assert check_reasons.check() == []


@pytest.mark.parametrize(
    "source",
    [
        'Event("Warning", "CleanupFailed", message)',
        'Condition("SecretsValid", "True", reasons.Synced, "")',
        'Condition(SECRETS_VALID, "True", "AllGood", "")',
        'raise stalled("SomethingBroke", "it broke", retry_after=300)',
        'SyncAborted("Unreachable", "down")',
        'ReconcileError("Oops", "m", stalled=True, retry_after=None)',
        'STALLED = {"TLSVerificationFailed", "NotAuthorized"}',
        'x = "Renewed" if renewed else other',
        'Verified: Final = "Verified"',
    ],
)
def test_a_literal_reason_or_condition_type_is_refused(source: str) -> None:
    assert check_reasons.check_source(source, "reconcile/example.py", WORDS) != []


@pytest.mark.parametrize(
    "source",
    [
        'Event("Warning", k8s_reasons.CleanupFailed, f"{name}: {warning}")',
        'Condition(SECRETS_VALID, "True", k8s_reasons.Valid, "Every Secret is usable")',
        '"""Retried when Unreachable."""',
        '__all__ = ["SyncAborted", "Unreachable"]',
        'if op == "NotIn": pass',
    ],
)
def test_names_docstrings_and_other_words_pass(source: str) -> None:
    assert check_reasons.check_source(source, "reconcile/example.py", WORDS) == []


def test_cert_states_are_another_concept_spelled_like_reasons() -> None:
    source = 'class CertState:\n    SYNCED = "Synced"\n    REMOVED = "Removed"\n'
    assert check_reasons.check_source(source, "engine/model.py", WORDS) == []
    assert check_reasons.check_source(source, "engine/other.py", WORDS) != []


def test_a_name_in_two_registries_is_the_same_word() -> None:
    seen: dict[str, str] = {}
    for module in REGISTRIES:
        for name, word in _constants(module).items():
            assert seen.setdefault(name, word) == word, name
            assert name == word, f"{module.__name__}.{name} spells {word!r}"


def test_every_registered_word_is_a_valid_condition_reason() -> None:
    for word in WORDS:
        conditions.Condition(conditions.READY, "True", word)  # raises on a word the CRD refuses


def test_condition_types_live_beside_ready() -> None:
    types = {conditions.SECRETS_VALID, conditions.CERTIFICATES_UPLOADED, conditions.CERTIFICATES_BOUND}
    assert types | {conditions.TLS_VERIFIED, conditions.READY} <= WORDS
