"""The cluster-wide claim index of default bindings (reconcile/claims.py), without an appliance:
who wins a slot, who is held back, and who is looked at again when that changes."""

from __future__ import annotations

import pytest

from certsync_devkit.pki import TestPKI
from netscaler_certsync.engine import BindingSpec, DesiredCertificate
from netscaler_certsync.reconcile.claims import ClaimIndex
from tests.support.plan import want

APPLIANCE = "https://10.0.0.1#default"


@pytest.fixture(scope="module")
def pki() -> TestPKI:
    return TestPKI.create()


def _cert(pki: TestPKI, id: str, *vservers: str, key_type: str = "ec") -> DesiredCertificate:
    leaf = pki.leaf(f"{id.replace('/', '-')}.example.com", key_type=key_type)
    return want(leaf, id=id, name=id.replace("/", "-"), bindings=[BindingSpec(v, False) for v in vservers])


def _held(out: list[DesiredCertificate]) -> list[str]:
    return [d.id for d in out if d.problem is not None]


def test_a_chain_of_conflicts_is_settled_in_creation_order_and_every_change_requeues(pki: TestPKI) -> None:
    index, requeued = ClaimIndex(), []
    index.requeue = requeued.append
    a, b, c = _cert(pki, "x/a", "v1"), _cert(pki, "x/b", "v1", "v2"), _cert(pki, "x/c", "v2")
    assert _held(index.claim("x/A", "1", "ns", APPLIANCE, [a])) == []
    assert _held(index.claim("x/B", "2", "ns", APPLIANCE, [b])) == ["x/b"]  # v1 is A's
    assert _held(index.claim("x/C", "3", "ns", APPLIANCE, [c])) == []  # b claims nothing: v2 is free
    assert requeued == []
    # A drops v1: b may take v1 and v2 (earlier than C), so both B and C must look again.
    assert _held(index.claim("x/A", "1", "ns", APPLIANCE, [])) == []
    assert requeued == ["x/B", "x/C"]
    assert _held(index.claim("x/B", "2", "ns", APPLIANCE, [b])) == []
    assert _held(index.claim("x/C", "3", "ns", APPLIANCE, [c])) == ["x/c"]
    # B is deleted: C is looked at again and binds.
    requeued.clear()
    index.gone("x/B")
    assert requeued == ["x/C"]
    assert _held(index.claim("x/C", "3", "ns", APPLIANCE, [c])) == []


def test_other_appliances_and_other_key_types_are_other_slots(pki: TestPKI) -> None:
    index = ClaimIndex()
    assert _held(index.claim("x/A", "1", "ns", APPLIANCE, [_cert(pki, "x/a", "v1")])) == []
    assert _held(index.claim("y/B", "2", "ns", "https://10.0.0.2#default", [_cert(pki, "y/b", "v1")])) == []
    rsa = _cert(pki, "y/r", "v1", key_type="rsa")
    assert _held(index.claim("y/R", "3", "ns", APPLIANCE, [rsa])) == []
    sni = DesiredCertificate("y/s", "s", rsa.material, (BindingSpec("v1", True),))
    assert _held(index.claim("y/S", "4", "ns", APPLIANCE, [sni])) == []


def test_a_connection_the_sync_no_longer_names_releases_its_claims(pki: TestPKI) -> None:
    index, requeued = ClaimIndex(), []
    index.requeue = requeued.append
    index.claim("x/A", "1", "old", APPLIANCE, [_cert(pki, "x/a", "v1")])
    assert _held(index.claim("x/B", "2", "ns", APPLIANCE, [_cert(pki, "x/b", "v1")])) == ["x/b"]
    index.keep_connections("x/A", ["new"])
    assert requeued == ["x/B"]
