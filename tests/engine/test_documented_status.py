"""What docs/api.md and the CRDs document about status is what the code produces, both ways.

Condition types, certificate-entry states and reasons: each documented one is produced by the
reconcilers in a scenario here (or, for reasons that need a fault or bad input, asserted by a
named test), and each one the code can produce (its registries, `CertState`) is documented.
"""

from __future__ import annotations

import base64
import re
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest
import yaml

from certsync_devkit.pki import TestPKI
from netscaler_certsync.engine import CertState
from netscaler_certsync.reconcile import conditions
from netscaler_certsync.reconcile.certificatesync import finalize_sync
from netscaler_certsync.simulator import Simulator, SimulatorConfig, run_simulator
from tests.engine.test_status_is_true import World
from tests.unit.test_reason_registries import check_reasons

ROOT = Path(__file__).resolve().parents[2]
API = (ROOT / "docs" / "api.md").read_text()
CRD = ROOT / "crds" / "netscaler.certsync.dev_certificatesyncs.yaml"


def _between(tag: str) -> str:
    return API[API.index(f"<!-- {tag}:begin -->") : API.index(f"<!-- {tag}:end -->")]


def _first_column(tag: str) -> set[str]:
    return set(re.findall(r"^\| `([A-Za-z]+)` \|", _between(tag), re.MULTILINE))


def _without_parentheses(text: str) -> str:
    out, depth = [], 0
    for ch in text:
        depth += ch == "("
        if depth == 0:
            out.append(ch)
        depth -= ch == ")" and depth > 0
    return "".join(out)


def _documented_condition_types() -> dict[str, set[str]]:
    """Per kind, the types its status table lists (first sentence of its `conditions` row)."""
    found = {}
    for kind in ("NetScalerConnection", "CertificateSync"):
        section = API[API.index(f"## {kind}") :]
        row = next(line for line in section.splitlines() if line.startswith("| `conditions` |"))
        first = _without_parentheses(row.split("|")[2]).split(". ")[0]
        found[kind] = set(re.findall(r"`([A-Za-z]+)`", first))
    return found


DOCUMENTED_TYPES = _documented_condition_types()
DOCUMENTED_STATES = _first_column("states")
DOCUMENTED_REASONS = _first_column("reasons")
CODE_TYPES = {
    v for k, v in vars(conditions).items() if k.isupper() and isinstance(v, str) and v[:1].isupper()
}


def test_condition_types_in_the_docs_are_those_of_the_code() -> None:
    assert set().union(*DOCUMENTED_TYPES.values()) == CODE_TYPES


def test_states_in_the_docs_and_the_crd_are_those_status_can_show() -> None:
    # A removed certificate's entry is dropped (sync_status), so Removed is no state a user sees.
    assert {s.value for s in CertState} - {CertState.REMOVED} == DOCUMENTED_STATES
    crd = yaml.safe_load(CRD.read_text())
    schema = crd["spec"]["versions"][0]["schema"]["openAPIV3Schema"]
    entry = schema["properties"]["status"]["properties"]["certificates"]["items"]["properties"]
    described = set(re.findall(r"[A-Z][a-z]+", entry["state"]["description"]))
    assert described >= DOCUMENTED_STATES and CertState.REMOVED not in described


def test_reasons_in_the_docs_are_those_of_the_registries() -> None:
    assert check_reasons.registry() - CODE_TYPES == DOCUMENTED_REASONS


# ------------------------------------------------------------------- produced by the code
#: Reasons the scenarios below do not reach (a fault, bad input, a second process): the test that
#: asserts each one on a user-visible surface. The file must assert the word.
ELSEWHERE = {
    "BindingConflict": "tests/engine/test_binding_truth.py",
    "InsecureHTTP": "tests/engine/test_status_is_true.py",
    "CredentialsNotFound": "tests/operator/test_connection.py",
    "ConfigMapNotFound": "tests/operator/test_client_auth.py",
    "ConnectionInUse": "tests/operator/test_deletion_ordering.py",
    "WrongSecretType": "tests/operator/test_bad_input.py",
    "InvalidSecretData": "tests/unit/test_sources.py",
    "MissingData": "tests/unit/test_material.py",
    "InvalidPEM": "tests/operator/test_bad_input.py",
    "KeyMismatch": "tests/operator/test_bad_input.py",
    "EncryptedKey": "tests/operator/test_bad_input.py",
    "UnsupportedKey": "tests/unit/test_material.py",
    "CertificateExpired": "tests/operator/test_bad_input.py",
    "ChainInvalid": "tests/unit/test_material.py",
    "MaterialTooLarge": "tests/unit/test_material.py",
    "InvalidName": "tests/unit/test_naming.py",
    "NameCollision": "tests/unit/test_planner.py",
    "KeyTypeNotSupported": "tests/engine/test_fidelity.py",
    "CertificateInUse": "tests/engine/test_fidelity.py",
    "AdoptionRefused": "tests/engine/test_adoption.py",
    "Adopted": "tests/engine/test_adoption.py",
    "AdoptedKept": "tests/engine/test_adoption.py",
    "DuplicateCertificate": "tests/engine/test_scenarios.py",
    "VServerNotSSL": "tests/engine/test_scenarios.py",
    "ApplianceError": "tests/engine/test_failure_meaning.py",
    "Unreachable": "tests/engine/test_aborts.py",
    "TLSVerificationFailed": "tests/engine/test_aborts.py",
    "NotAuthorized": "tests/engine/test_aborts.py",
    "ServedCertificateMismatch": "tests/dataplane/test_operator_verification.py",
    "ChainIncomplete": "tests/dataplane/test_operator_verification.py",
    "ConfigNotSaved": "tests/engine/test_failure_meaning.py",
    "CleanupFailed": "tests/operator/test_drift_and_deletion.py",
    "InvalidKeystore": "tests/operator/test_sources.py",
    "WrongPassword": "tests/operator/test_sources.py",
    "MissingKey": "tests/operator/test_sources.py",
    "MultipleLeaves": "tests/operator/test_sources.py",
}


def _tls(world: World, name: str, pki: TestPKI) -> None:
    leaf = pki.leaf(f"{name}.example.com")
    world.secrets[name] = {
        "metadata": {"namespace": "shop", "name": name},
        "type": "kubernetes.io/tls",
        "data": {
            "tls.crt": base64.b64encode(leaf.cert_pem).decode(),
            "tls.key": base64.b64encode(leaf.key_pem).decode(),
        },
    }


class Seen:
    def __init__(self) -> None:
        self.types: dict[str, set[str]] = {"NetScalerConnection": set(), "CertificateSync": set()}
        self.states: set[str] = set()
        self.reasons: set[str] = set()

    def add(self, kind: str, outcome: Any) -> None:
        self.types[kind] |= {c.type for c in outcome.conditions}
        self.reasons |= {c.reason for c in outcome.conditions} | {e.reason for e in outcome.events}
        for entry in outcome.status.get("certificates") or ():
            self.states.add(entry["state"])
            self.reasons |= {entry["reason"], entry.get("verificationReason") or entry["reason"]}
        self.reasons |= {c["reason"] for c in outcome.status.get("connections") or () if c.get("reason")}


@pytest.fixture
async def secondary() -> AsyncIterator[Simulator]:
    """The other node of an HA pair, secondary: never written to."""
    async with run_simulator(SimulatorConfig(ha_state="secondary", log_requests=False)) as sim:
        yield sim


@pytest.fixture
async def seen(sim: Simulator, secondary: Simulator, pki: TestPKI) -> AsyncIterator[Seen]:
    """Every condition type, state and reason a set of ordinary scenarios produces."""
    s = Seen()
    w = World(sim, pki)
    try:
        s.add("NetScalerConnection", await w.connection())
        s.add("NetScalerConnection", await w.connection(tls={"insecureSkipVerify": True}))
        del w.secrets["ca"]
        s.add("NetScalerConnection", await w.connection())
        _tls(w, "two", pki)
        w.secrets["ca"] = {
            "metadata": {},
            "type": "Opaque",
            "data": {"ca.crt": base64.b64encode(sim.ca_pem).decode()},
        }
        bindings = [{"vserver": "vs_https"}]
        s.add(
            "CertificateSync",
            await w.sync(certificates=[{"secretName": "www"}], bindings=bindings, dryRun=True),
        )
        spec = {"certificates": [{"secretName": "www"}, {"secretName": "two"}], "preserveOnRenewal": False}
        s.add(
            "CertificateSync",
            await w.sync(**spec, bindings=[{"vserver": "vs_sni", "sni": True}], removeInactive=False),
        )
        _tls(w, "www", pki)  # renewed: beside its predecessor (Superseded)
        s.add(
            "CertificateSync",
            await w.sync(**spec, bindings=[{"vserver": "vs_sni", "sni": True}], removeInactive=False),
        )
        only_two = {"certificates": [{"secretName": "two"}], "removeInactive": False}
        s.add(
            "CertificateSync", await w.sync(**only_two, bindings=[{"vserver": "vs_sni", "sni": True}])
        )  # Kept
        s.add(
            "CertificateSync",
            await w.sync(certificates=[{"secretName": "gone"}], bindings=[{"vserver": "vs_x"}]),
        )
        s.add("CertificateSync", await w.sync(certificates=[{"secretName": "two", "certKeyName": "x" * 40}]))
        s.add(
            "CertificateSync",
            await w.sync(certificates=[{"secretName": "two"}], bindings=[{"vserver": "vs_nope"}]),
        )
        s.add("CertificateSync", await w.sync(bindings=bindings))  # neither certificates nor selector
        s.add(
            "CertificateSync",
            await w.sync(connectionRefs=[{"name": "absent"}], certificates=[{"secretName": "two"}]),
        )
        pair = {"endpoint": None, "endpoints": [sim.url, secondary.url]}
        s.add("CertificateSync", await w.sync(connection=pair, certificates=[{"secretName": "two"}]))
        s.add(
            "NetScalerConnection",
            await w.connection(
                endpoint=None, endpoints=[secondary.url, secondary.url], tls={"insecureSkipVerify": True}
            ),
        )
        connections = {("shop", "ns"): {"spec": w.connection_spec(), "status": {}}}
        s.add(
            "CertificateSync",
            await finalize_sync(
                w.ctx,
                w.request({"certificates": [{"secretName": "two"}], "deletionPolicy": "Orphan"}, "delete"),
                connections,
            ),
        )
        s.add(
            "CertificateSync",
            await finalize_sync(
                w.ctx, w.request({"certificates": [{"secretName": "two"}]}, "delete"), connections
            ),
        )

        async def refuse(namespace: str, name: str, status: Any) -> None:
            raise OSError("the API server is away")

        w.ctx.patch_sync_status = refuse
        _tls(w, "new", pki)
        s.add("CertificateSync", await w.sync(certificates=[{"secretName": "new"}]))  # intent first
        w.secrets["creds"]["data"]["password"] = base64.b64encode(b"wrong").decode()
        s.add("NetScalerConnection", await w.connection())
    finally:
        await w.close()
    return s


async def test_every_documented_condition_type_is_produced(seen: Seen) -> None:
    assert seen.types == DOCUMENTED_TYPES


async def test_every_documented_state_is_produced(seen: Seen) -> None:
    assert seen.states == DOCUMENTED_STATES


async def test_every_documented_reason_is_produced_here_or_asserted_elsewhere(seen: Seen) -> None:
    assert seen.reasons <= DOCUMENTED_REASONS, "produced but not documented"
    missing = DOCUMENTED_REASONS - seen.reasons - set(ELSEWHERE)
    assert missing == set(), "documented, produced by no scenario and asserted by no test"
    here = sorted(r for r in ELSEWHERE if r in seen.reasons)
    assert here == [], "produced here: drop them from ELSEWHERE"
    unasserted = sorted(r for r, path in ELSEWHERE.items() if r not in (ROOT / path).read_text())
    assert unasserted == [], "the named test does not assert them"
