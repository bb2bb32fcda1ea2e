"""The planner and other clusters' objects (issue 13): tagged by another cluster means foreign,
an earlier version's untagged objects are ours only while our records list them, and a CA certkey
goes only when nothing links to it and this cluster added it."""

from __future__ import annotations

import dataclasses

import pytest

from certsync_devkit.pki import TestPKI
from netscaler_certsync.domain import ca_file_name, cluster_tag, owner_id, owner_tag, reasons
from netscaler_certsync.engine import BindingSpec
from netscaler_certsync.nitro import CertKey
from tests.support.plan import (
    OWNER,
    bound,
    ca_certkey,
    ca_name,
    leaf_certkey,
    leaf_files,
    make_plan,
    record,
    snapshot,
    want,
)

HTTPS = BindingSpec("vs_https")
OTHER = owner_tag("cluster-b", OWNER)  # the same CertificateSync, in another cluster
WRITES = ("change", "link", "unlink", "unbind", "delete", "delete-file", "bind")


@pytest.fixture(scope="module")
def pki() -> TestPKI:
    return TestPKI.create("Ownership")


def touched(p: object, names: set[str]) -> list[str]:
    return [op.describe() for op in p.operations if str(op.kind) in WRITES and op.name in names]  # type: ignore[attr-defined]


def test_another_clusters_certkey_of_the_same_sync_is_never_a_leftover(pki: TestPKI) -> None:
    theirs = leaf_certkey("web-shop-tls", pki.leaf(), owner=OTHER)
    files = leaf_files(pki.leaf(), OTHER)
    state = snapshot(theirs, bindings=[bound("vs_https", "web-shop-tls")], files=[files.cert, files.key])
    p = make_plan([want(pki.leaf(), id="web/other-tls", name="web-other-tls")], state, scan_files=True)
    assert touched(p, {"web-shop-tls", theirs.cert or "", theirs.key or "", files.cert, files.key}) == []


def test_the_name_held_by_another_cluster_is_a_collision_that_names_it(pki: TestPKI) -> None:
    leaf = pki.leaf()
    state = snapshot(leaf_certkey("www-cert", leaf, owner=OTHER), bindings=[bound("vs_https", "www-cert")])
    p = make_plan([want(leaf, bindings=[HTTPS])], state)  # even the very same certificate
    assert p.operations == ()
    (cert,) = p.certificates
    assert cert.reason == reasons.NameCollision and cluster_tag("cluster-b") in cert.message
    removal = make_plan([], state, [record(want(leaf, bindings=[HTTPS]))])
    assert touched(removal, {"www-cert"}) == []  # records that name it do not make it ours


def test_an_earlier_versions_certkey_is_ours_only_with_our_records(pki: TestPKI) -> None:
    leaf, renewed = pki.leaf(), pki.leaf()
    legacy = owner_id(OWNER)
    state = snapshot(leaf_certkey("www-cert", leaf, owner=legacy), bindings=[bound("vs_https", "www-cert")])
    d = want(leaf, bindings=[HTTPS])
    old = record(d, files=tuple(leaf_files(leaf, legacy).__dict__.values()))
    with_records = make_plan([want(renewed, bindings=[HTTPS])], state, [old])
    assert [str(op.kind) for op in with_records.operations if op.name == "www-cert"] == ["change"]
    without = make_plan([want(renewed, bindings=[HTTPS])], state)
    assert touched(without, {"www-cert"}) == [] and without.certificates[0].reason == reasons.NameCollision
    assert "earlier version" in without.certificates[0].message


def test_a_ca_certkey_goes_only_unlinked_and_only_by_the_cluster_that_added_it(pki: TestPKI) -> None:
    fp = pki.intermediate.fingerprint_sha256
    theirs = ca_certkey(pki.intermediate, file=ca_file_name(fp, cluster_tag("cluster-b")))
    ours = ca_certkey(pki.intermediate)
    unlinked_theirs = make_plan([], snapshot(theirs, files=[theirs.cert]), scan_files=True)
    assert touched(unlinked_theirs, {ca_name(pki.intermediate), theirs.cert or ""}) == []
    unlinked_ours = make_plan([], snapshot(ours, files=[ours.cert]), scan_files=True)
    assert [str(op.kind) for op in unlinked_ours.operations] == ["delete", "delete-file"]
    linked = leaf_certkey("their-leaf", pki.leaf(), owner=OTHER, linked_to=ca_name(pki.intermediate))
    still_used = make_plan([], snapshot(ours, linked, files=[ours.cert]), scan_files=True)
    assert touched(still_used, {ca_name(pki.intermediate), ours.cert or ""}) == []


def test_a_default_certificate_another_cluster_deployed_is_never_replaced(pki: TestPKI) -> None:
    """Binding a second default certificate replaces the first on NetScaler: when that first is
    another cluster's, the bind is not made (BindingConflict naming it), before any write."""
    theirs = leaf_certkey("their-cert", pki.leaf(), owner=OTHER)
    state = snapshot(theirs, bindings=[bound("vs_https", "their-cert")])
    p = make_plan([want(pki.leaf(), bindings=[HTTPS])], state)
    assert p.operations == ()
    (cert,) = p.certificates
    assert cert.reason == reasons.BindingConflict
    assert "their-cert" in cert.message and cluster_tag("cluster-b") in cert.message
    sni = make_plan([want(pki.leaf(), bindings=[BindingSpec("vs_https", sni=True)])], state)
    assert "bind" in [str(op.kind) for op in sni.operations]  # SNI beside it replaces nothing


def test_a_hand_made_default_is_replaced_and_another_key_type_is_left_beside(pki: TestPKI) -> None:
    hand_made = CertKey("manual", cert="manual.crt", key="manual.key", certificate_types=("SRVR_CERT",))
    state = snapshot(hand_made, bindings=[bound("vs_https", "manual")])
    p = make_plan([want(pki.leaf(), bindings=[HTTPS])], state)
    assert ("bind", "www-cert") in [(str(op.kind), op.name) for op in p.operations]
    leaf = pki.leaf(key_type="ec")
    theirs_rsa = dataclasses.replace(leaf_certkey("their-cert", pki.leaf(), owner=OTHER), key_type="RSA")
    state = snapshot(theirs_rsa, bindings=[bound("vs_https", "their-cert")])
    ecdsa = make_plan([want(leaf, bindings=[HTTPS])], state)
    assert ("bind", "www-cert") in [(str(op.kind), op.name) for op in ecdsa.operations]
