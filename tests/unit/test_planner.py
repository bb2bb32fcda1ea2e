"""The pure planner, scenario by scenario: which operations, in which order, and which records.

Each test builds an appliance snapshot and previous records by hand and checks the operations a
user would see in a dry run. The same scenarios run against the simulator in tests/engine.
"""

from __future__ import annotations

import datetime as dt

import pytest

from certsync_devkit.pki import TestPKI, make_ca
from netscaler_certsync.domain import NamingError, ca_file_name, leaf_file_names, reasons, successor_name
from netscaler_certsync.engine import Action, BindingSpec, DesiredCertificate, render_plan
from tests.support.plan import (
    CLUSTER_TAG,
    OWNER_ID,
    bound,
    ca_certkey,
    ca_name,
    kinds,
    leaf_certkey,
    leaf_files,
    make_plan,
    record,
    snapshot,
    want,
)

HTTPS = BindingSpec("vs_https")
SNI = BindingSpec("vs_sni", sni=True)


@pytest.fixture(scope="module")
def pki() -> TestPKI:
    return TestPKI.create()


def only(p, action: str):  # the single visible certificate plan
    visible = [c for c in p.certificates if c.visible]
    assert len(visible) == 1, visible
    assert visible[0].action == action, visible[0]
    return visible[0]


def test_first_deploy_without_chain_is_four_writes(pki: TestPKI) -> None:
    d = want(pki.leaf(), bindings=[HTTPS])
    p = make_plan([d], snapshot(files=[]))
    assert kinds(p) == ["upload", "upload", "add", "bind"]
    cp = only(p, Action.CREATE)
    files = leaf_file_names(OWNER_ID, d.material.fingerprint, d.material.key_id)
    assert cp.records_ok[0].files == (files.cert, files.key)
    assert cp.records_ok[0].bindings == (HTTPS,)
    assert cp.records_failed == ()


def test_first_deploy_with_chain_uploads_ca_before_leaf_and_links(pki: TestPKI) -> None:
    d = want(pki.leaf(), [pki.intermediate], bindings=[HTTPS])
    p = make_plan([d], snapshot(files=[]))
    assert kinds(p) == ["upload", "add", "upload", "upload", "add", "link", "bind"]
    link = p.operations[5]
    assert link.link_to == ca_name(pki.intermediate) and link.name == d.name


def test_multi_level_chain_links_every_level() -> None:
    root = make_ca("Root")
    mid1 = make_ca("Mid 1", issuer=root)
    mid2 = make_ca("Mid 2", issuer=mid1)
    leaf = TestPKI(root, mid2).leaf()
    d = want(leaf, [mid2, mid1])
    p = make_plan([d], snapshot(files=[]))
    links = {(op.name, op.link_to) for op in p.operations if op.kind == "link"}
    assert links == {(d.name, ca_name(mid2)), (ca_name(mid2), ca_name(mid1))}
    adds = [op.name for op in p.operations if op.kind == "add"]
    assert adds.index(ca_name(mid1)) < adds.index(ca_name(mid2)) < adds.index(d.name)


def test_no_op_costs_nothing(pki: TestPKI) -> None:
    leaf = pki.leaf()
    d = want(leaf, [pki.intermediate], bindings=[HTTPS, SNI])
    state = snapshot(
        ca_certkey(pki.intermediate),
        leaf_certkey(d.name, leaf, linked_to=ca_name(pki.intermediate)),
        bindings=[bound("vs_https", d.name), bound("vs_sni", d.name, sni=True)],
    )
    p = make_plan([d], state, [record(d)])
    assert p.operations == () and not p.mismatch
    assert only(p, Action.UNCHANGED).reason == reasons.Unchanged


def test_renewal_in_place_updates_then_deletes_old_files(pki: TestPKI) -> None:
    old_leaf, new_leaf = pki.leaf(), pki.leaf()
    old = want(old_leaf, bindings=[HTTPS])
    new = want(new_leaf, bindings=[HTTPS])
    state = snapshot(leaf_certkey(old.name, old_leaf), bindings=[bound("vs_https", old.name)], files=[])
    p = make_plan([new], state, [record(old)])
    assert kinds(p) == ["upload", "upload", "change", "delete-file", "delete-file"]
    change = p.operations[2]
    assert change.name == old.name  # same certkey: bindings untouched
    old_files = leaf_files(old_leaf)
    assert {op.name for op in p.operations[3:]} == {old_files.cert, old_files.key}
    assert only(p, Action.RENEW).reason == reasons.Renewed


def test_renewal_as_new_object_binds_new_and_keeps_old(pki: TestPKI) -> None:
    old_leaf, new_leaf = pki.leaf(), pki.leaf()
    old = want(old_leaf, bindings=[HTTPS, SNI])
    new = want(new_leaf, bindings=[HTTPS, SNI])
    state = snapshot(
        leaf_certkey(old.name, old_leaf),
        bindings=[bound("vs_https", old.name), bound("vs_sni", old.name, sni=True)],
        files=[],
    )
    p = make_plan([new], state, [record(old)], preserve_on_renewal=False)
    cp = only(p, Action.REPLACE)
    assert cp.certkey != old.name and cp.certkey.startswith(old.name)
    lines = render_plan(p)
    # SNI: the old binding goes first (NetScaler refuses two SNI certificates for one domain);
    # default: the new binding replaces the old one, then the old one is unbound (no gap).
    assert lines.index(f"unbind certkey {old.name} from vserver vs_sni (SNI)") < lines.index(
        f"bind certkey {cp.certkey} to vserver vs_sni as SNI certificate"
    )
    assert lines.index(f"bind certkey {cp.certkey} to vserver vs_https") < lines.index(
        f"unbind certkey {old.name} from vserver vs_https"
    )
    assert "delete" not in kinds(p)
    superseded = [r for r in cp.records_ok if r.superseded]
    assert [r.certkey for r in superseded] == [old.name]


def test_superseded_certificate_is_removed_once_expired(pki: TestPKI) -> None:
    leaf = pki.leaf()
    d = want(leaf)
    old_leaf = pki.leaf(not_before=dt.datetime.now(dt.UTC) - dt.timedelta(days=30), days=10)
    old = want(old_leaf, name="www-cert-old")
    state = snapshot(leaf_certkey(d.name, leaf), leaf_certkey("www-cert-old", old_leaf), files=[])
    recs = [record(d), record(old, superseded=True, bindings=())]
    p = make_plan([d], state, recs, preserve_on_renewal=False)
    assert [op.name for op in p.operations if op.kind == "delete"] == ["www-cert-old"]
    kept = make_plan([d], state, recs, preserve_on_renewal=False, remove_inactive=False)
    assert kept.operations == ()


def test_chain_added_uploads_ca_and_links(pki: TestPKI) -> None:
    leaf = pki.leaf()
    before, after = want(leaf), want(leaf, [pki.intermediate])
    state = snapshot(leaf_certkey(before.name, leaf), files=[])
    p = make_plan([after], state, [record(before)])
    assert kinds(p) == ["upload", "add", "link"]
    assert only(p, Action.UPDATE).reason == reasons.Synced


def test_chain_removed_unlinks_and_collects_the_unused_ca(pki: TestPKI) -> None:
    leaf = pki.leaf()
    d = want(leaf)
    state = snapshot(
        ca_certkey(pki.intermediate),
        leaf_certkey(d.name, leaf, linked_to=ca_name(pki.intermediate)),
        files=[],
    )
    p = make_plan([d], state, [record(d)])
    assert render_plan(p) == [
        f"unlink certkey {d.name} from its CA",
        f"delete certkey {ca_name(pki.intermediate)}",
        f"delete file {ca_file_name(pki.intermediate.fingerprint_sha256, CLUSTER_TAG)}",
    ]


def _issuer_change(pki: TestPKI, *, bindings=(HTTPS,), foreign=()):
    """The old leaf (under pki) deployed, linked and bound; the new one from another issuer."""
    other = TestPKI.create("Rotated")
    old_leaf, new_leaf = pki.leaf(), other.leaf()
    old = want(old_leaf, [pki.intermediate], bindings=bindings)
    new = want(new_leaf, [other.intermediate], bindings=bindings)
    state = snapshot(
        ca_certkey(pki.intermediate),
        leaf_certkey(old.name, old_leaf, linked_to=ca_name(pki.intermediate)),
        bindings=[bound(b.vserver, old.name, b.sni) for b in (*bindings, *foreign)],
        files=[],
    )
    return other, old, new, state


def test_issuer_change_is_a_new_certkey_linked_then_bound_then_the_old_one_deleted(pki: TestPKI) -> None:
    other, old, new, state = _issuer_change(pki)
    p = make_plan([new], state, [record(old)])
    succ = successor_name(old.name, new.material.fingerprint)
    lines = render_plan(p)
    assert "change" not in kinds(p)
    order = [
        next(line for line in lines if line.startswith(f"add certkey {succ} ")),
        f"link certkey {succ} to CA {ca_name(other.intermediate)}",
        f"bind certkey {succ} to vserver vs_https",
        f"unbind certkey {old.name} from vserver vs_https",
        f"unlink certkey {old.name} from its CA",
        f"delete certkey {old.name}",
        f"delete certkey {ca_name(pki.intermediate)}",
    ]
    assert [lines.index(line) for line in order] == sorted(lines.index(line) for line in order)
    # The old certkey's deletion is its own group, run only once the certificate's group succeeded.
    delete = next(op for op in p.operations if op.kind == "delete" and op.name == old.name)
    assert delete.group != new.id and delete.needs == (new.id,)
    cp = only(p, Action.REPLACE)
    assert cp.certkey == succ
    was, now = pki.intermediate.common_name, other.intermediate.common_name
    assert f"the issuer changed ({was} → {now})" in cp.message
    assert "without its chain" in cp.message
    assert [(r.certkey, r.base, r.superseded) for r in cp.records_ok] == [(succ, old.name, False)]
    retire = next(c for c in p.certificates if c.group == delete.group)
    assert not retire.visible and [(r.certkey, r.superseded) for r in retire.records_failed] == [
        (old.name, True)
    ]


def test_issuer_change_with_sni_binding_stays_in_place_and_says_why(pki: TestPKI) -> None:
    _, old, new, state = _issuer_change(pki, bindings=(SNI,))
    p = make_plan([new], state, [record(old)])
    k = kinds(p)
    # No unlink before the update: NetScaler drops the incompatible link itself (1587).
    leaf_ops = [str(op.kind) for op in p.operations if op.group == new.id and op.kind != "upload"]
    assert leaf_ops[:2] == ["change", "link"] and "add" not in leaf_ops
    assert k.count("unlink") == 0
    cp = only(p, Action.RENEW)
    assert cp.certkey == old.name
    assert "SNI binding" in cp.message and "between update and link" in cp.message


def test_issuer_change_with_a_foreign_binding_stays_in_place(pki: TestPKI) -> None:
    _, old, new, state = _issuer_change(pki, foreign=(BindingSpec("vs_two"),))
    p = make_plan([new], state, [record(old)])
    cp = only(p, Action.RENEW)
    assert cp.certkey == old.name and "someone else bound it" in cp.message
    assert [str(op.kind) for op in p.operations if op.name == old.name] == ["change", "link"]


def test_renewal_without_chain_unlinks_after_the_update(pki: TestPKI) -> None:
    other, old, _, state = _issuer_change(pki)
    new = want(other.leaf(), bindings=[HTTPS])  # the Secret no longer carries a chain
    p = make_plan([new], state, [record(old)])
    leaf_ops = [str(op.kind) for op in p.operations if op.group == new.id and op.kind != "upload"]
    assert leaf_ops[:2] == ["change", "unlink"]
    only(p, Action.RENEW)


def test_successor_of_an_issuer_change_is_renewed_in_place_under_its_name(pki: TestPKI) -> None:
    other = TestPKI.create("Rotated")
    current, renewed = other.leaf(), other.leaf()
    d = want(current, [other.intermediate], bindings=[HTTPS])
    succ = successor_name(d.name, d.material.fingerprint)
    state = snapshot(
        ca_certkey(other.intermediate),
        leaf_certkey(succ, current, linked_to=ca_name(other.intermediate)),
        bindings=[bound("vs_https", succ)],
        files=[],
    )
    records = [record(d, succ, base=d.name)]
    steady = make_plan([d], state, records)
    assert steady.operations == () and "becomes" not in only(steady, Action.UNCHANGED).message
    lost = make_plan([d], state, [])  # records lost: the successor is still recognised as settled
    assert lost.operations == () and "becomes" not in only(lost, Action.UNCHANGED).message
    assert only(lost, Action.UNCHANGED).records_ok[0].base == d.name
    p = make_plan([want(renewed, [other.intermediate], bindings=[HTTPS])], state, records)
    cp = only(p, Action.RENEW)
    assert cp.certkey == succ and cp.records_ok[0].base == d.name
    assert kinds(p) == ["upload", "upload", "change", "delete-file", "delete-file"]
    # An edited certKeyName still moves at the next renewal.
    moved = make_plan(
        [want(renewed, [other.intermediate], name="new-name", bindings=[HTTPS])], state, records
    )
    assert only(moved, Action.REPLACE).certkey == "new-name"


def test_changed_chain_same_leaf_relinks(pki: TestPKI) -> None:
    # The same intermediate re-issued (new key, same name) and the leaf re-issued under it.
    mid2 = make_ca(pki.intermediate.common_name, issuer=pki.root)
    old_leaf, new_leaf = pki.leaf(), TestPKI(pki.root, mid2).leaf()
    old, new = want(old_leaf, [pki.intermediate]), want(new_leaf, [mid2])
    state = snapshot(
        ca_certkey(pki.intermediate),
        leaf_certkey(old.name, old_leaf, linked_to=ca_name(pki.intermediate)),
        files=[],
    )
    p = make_plan([new], state, [record(old)])
    link = next(op for op in p.operations if op.kind == "link")
    assert link.link_to == ca_name(mid2)


def test_binding_added_and_removed(pki: TestPKI) -> None:
    leaf = pki.leaf()
    before = want(leaf, bindings=[HTTPS])
    after = want(leaf, bindings=[BindingSpec("vs_two")])
    state = snapshot(leaf_certkey(before.name, leaf), bindings=[bound("vs_https", before.name)])
    p = make_plan([after], state, [record(before)])
    assert render_plan(p) == [
        f"bind certkey {after.name} to vserver vs_two",
        f"unbind certkey {after.name} from vserver vs_https",
    ]


def test_binding_made_by_someone_else_is_left_alone(pki: TestPKI) -> None:
    leaf = pki.leaf()
    d = want(leaf, bindings=[HTTPS])
    state = snapshot(
        leaf_certkey(d.name, leaf), bindings=[bound("vs_https", d.name), bound("vs_two", d.name)]
    )
    assert make_plan([d], state, [record(d)]).operations == ()


def test_sni_binding(pki: TestPKI) -> None:
    d = want(pki.leaf(), bindings=[SNI])
    p = make_plan([d], snapshot(files=[]))
    bind = p.operations[-1]
    assert bind.kind == "bind" and bind.sni and bind.vserver == "vs_sni"


@pytest.mark.parametrize("cause", ["deleted", "expired"])
def test_inactive_certificate_is_unbound_deleted_with_files_and_ca_collected(
    pki: TestPKI, cause: str
) -> None:
    leaf = pki.leaf()
    d = want(leaf, [pki.intermediate], bindings=[HTTPS])
    state = snapshot(
        ca_certkey(pki.intermediate),
        leaf_certkey(d.name, leaf, linked_to=ca_name(pki.intermediate)),
        bindings=[bound("vs_https", d.name)],
        files=[],
    )
    desired: list[DesiredCertificate] = []
    if cause == "expired":
        desired = [d]
    later = dt.datetime.now(dt.UTC) + dt.timedelta(days=365)
    p = make_plan(desired, state, [record(d)], now=later)
    assert kinds(p) == ["unbind", "unlink", "delete", "delete-file", "delete-file", "delete", "delete-file"]
    cp = only(p, Action.REMOVE)
    assert cp.records_ok == ()
    assert cp.reason == reasons.Removed
    if cause == "expired":  # when, so the user can compare it with the Secret (issue 17)
        assert cp.message == f"certkey {d.name} removed (expired on {d.material.leaf.not_after:%Y-%m-%d})"


def test_an_expired_certificate_never_deployed_says_when_it_expired(pki: TestPKI) -> None:
    leaf = pki.leaf()
    d = want(leaf, bindings=[HTTPS])
    later = dt.datetime.now(dt.UTC) + dt.timedelta(days=365)
    cp = only(make_plan([d], snapshot(files=[]), now=later), Action.FAILED)
    assert cp.reason == reasons.CertificateExpired
    assert cp.message == (
        f"certificate {d.material.leaf.common_name!r} (serial {d.material.leaf.serial}) expired on "
        f"{d.material.leaf.not_after:%Y-%m-%d}; not deployed"
    )


def test_removal_disabled_keeps_everything(pki: TestPKI) -> None:
    leaf = pki.leaf()
    d = want(leaf, bindings=[HTTPS])
    state = snapshot(leaf_certkey(d.name, leaf), bindings=[bound("vs_https", d.name)])
    p = make_plan([], state, [record(d)], remove_inactive=False)
    assert p.operations == ()
    assert only(p, Action.KEEP).records_ok == (record(d),)


def test_removal_keeps_a_certkey_someone_else_bound(pki: TestPKI) -> None:
    leaf = pki.leaf()
    d = want(leaf, bindings=[HTTPS])
    state = snapshot(
        leaf_certkey(d.name, leaf), bindings=[bound("vs_https", d.name), bound("vs_two", d.name)]
    )
    p = make_plan([], state, [record(d)])
    assert render_plan(p) == [f"unbind certkey {d.name} from vserver vs_https"]
    assert "vs_two" in only(p, Action.KEEP).message


def test_foreign_objects_are_never_touched_and_identical_ca_is_reused(pki: TestPKI) -> None:
    leaf = pki.leaf()
    d = want(leaf, [pki.intermediate], bindings=[HTTPS])
    foreign_ca = ca_certkey(pki.intermediate, name="LetsEncrypt-R11", file="r11.pem")
    foreign_leaf = leaf_certkey("www-cert-old-by-hand", pki.leaf(), owner="00000000")
    lookalike = ca_certkey(make_ca("Someone's CA"), name="csca-0123456789abcdef0123", file="mine.crt")
    state = snapshot(
        foreign_ca,
        foreign_leaf,
        lookalike,
        bindings=[bound("vs_two", "www-cert-old-by-hand")],
        files=["r11.pem", "mine.crt", "cs-00000000-" + "a" * 40 + ".crt"],
    )
    p = make_plan([d], state)
    touched = {op.name for op in p.operations}
    assert touched.isdisjoint(
        {
            "LetsEncrypt-R11",
            "www-cert-old-by-hand",
            "csca-0123456789abcdef0123",
            "r11.pem",
            "mine.crt",
            "cs-00000000-" + "a" * 40 + ".crt",
        }
    )
    link = next(op for op in p.operations if op.kind == "link")
    assert link.link_to == "LetsEncrypt-R11"  # reused: NetScaler refuses the same CA twice
    assert kinds(p) == ["upload", "upload", "add", "link", "bind"]


def test_name_collision_with_foreign_certkey_is_reported_not_overwritten(pki: TestPKI) -> None:
    d = want(pki.leaf(), bindings=[HTTPS])
    state = snapshot(leaf_certkey(d.name, pki.leaf(), owner="00000000"))
    p = make_plan([d], state)
    assert p.operations == ()
    cp = only(p, Action.FAILED)
    assert cp.reason == reasons.NameCollision and d.name in cp.message


def test_two_certificates_rendering_the_same_name_collide(pki: TestPKI) -> None:
    a = want(pki.leaf(), id="shop/a", name="same")
    b = want(pki.leaf(), id="shop/b", name="same")
    p = make_plan([a, b], snapshot(files=[]))
    assert [c.action for c in p.certificates] == [Action.CREATE, Action.FAILED]
    assert p.certificates[1].reason == reasons.NameCollision


def test_name_too_long_fails_that_certificate_and_keeps_its_deployment(pki: TestPKI) -> None:
    leaf = pki.leaf()
    d = want(leaf, bindings=[HTTPS])
    state = snapshot(leaf_certkey(d.name, leaf), bindings=[bound("vs_https", d.name)])
    problem = NamingError(reasons.NameTooLong, "certkey name 'x...' is longer than 31 characters")
    bad = DesiredCertificate(d.id, "", None, d.bindings, problem)
    other = want(pki.leaf(), id="shop/other", name="other")
    p = make_plan([bad, other], state, [record(d)])
    assert {op.name for op in p.operations if op.kind == "add"} == {"other"}
    failed = next(c for c in p.certificates if c.id == d.id)
    assert failed.action == Action.FAILED and failed.reason == reasons.NameTooLong
    assert failed.records_ok == (record(d),)  # still ours, still deployed: never removed for a bad Secret


def test_unknown_vserver_fails_only_that_certificate(pki: TestPKI) -> None:
    a = want(pki.leaf(), id="shop/a", name="a", bindings=[BindingSpec("vs_missing")])
    b = want(pki.leaf(), id="shop/b", name="b", bindings=[HTTPS])
    p = make_plan([a, b], snapshot(files=[]))
    assert {op.name for op in p.operations if op.kind == "add"} == {"b"}
    assert p.certificates[0].reason == reasons.VServerNotFound


def test_leftovers_of_an_interrupted_apply_are_collected(pki: TestPKI) -> None:
    leaf = pki.leaf()
    d = want(leaf)
    stale = leaf_file_names(OWNER_ID, "f" * 64)
    state = snapshot(
        leaf_certkey("www-orphan", pki.leaf()),
        files=[stale.cert, stale.key, ca_file_name("e" * 64, CLUSTER_TAG), "somebody-elses.crt"],
    )
    p = make_plan([d], state)
    deleted = {op.name for op in p.operations if op.kind in ("delete", "delete-file")}
    assert {"www-orphan", stale.cert, stale.key, ca_file_name("e" * 64, CLUSTER_TAG)} <= deleted
    assert "somebody-elses.crt" not in deleted


def test_certkey_from_interrupted_first_deploy_is_adopted(pki: TestPKI) -> None:
    leaf = pki.leaf()
    d = want(leaf, bindings=[HTTPS])
    p = make_plan([d], snapshot(leaf_certkey(d.name, leaf)))  # no records: the apply never finished
    assert kinds(p) == ["bind"]


def test_a_second_certificate_with_the_same_name_never_takes_over_the_first(pki: TestPKI) -> None:
    leaf_a, leaf_b = pki.leaf(), pki.leaf()
    a = want(leaf_a, id="shop/a", name="same")
    b = want(leaf_b, id="shop/b", name="same")
    state = snapshot(leaf_certkey("same", leaf_a))
    for order in ([a, b], [b, a]):
        p = make_plan(order, state, [record(a)])
        assert p.operations == ()  # b must not renew a's certkey in place
        by_id = {c.id: c for c in p.certificates}
        assert by_id["shop/a"].action == Action.UNCHANGED
        assert by_id["shop/b"].reason == reasons.NameCollision


def test_preserve_off_steady_state_keeps_the_superseded_record(pki: TestPKI) -> None:
    old_leaf, new_leaf = pki.leaf(), pki.leaf()
    old, new = want(old_leaf), want(new_leaf)
    first = make_plan(
        [new], snapshot(leaf_certkey(old.name, old_leaf), files=[]), [record(old)], preserve_on_renewal=False
    )
    records = only(first, Action.REPLACE).records_ok
    new_name = records[0].certkey
    state = snapshot(leaf_certkey(old.name, old_leaf), leaf_certkey(new_name, new_leaf))
    again = make_plan([new], state, records, preserve_on_renewal=False)
    assert again.operations == ()
    assert only(again, Action.UNCHANGED).records_ok == records


def test_our_ca_is_kept_while_someone_elses_certificate_links_to_it(pki: TestPKI) -> None:
    leaf = pki.leaf()
    d = want(leaf, [pki.intermediate])
    theirs = leaf_certkey("by-hand", pki.leaf(), linked_to=ca_name(pki.intermediate), owner="00000000")
    state = snapshot(
        ca_certkey(pki.intermediate), theirs, leaf_certkey(d.name, leaf, linked_to=ca_name(pki.intermediate))
    )
    p = make_plan([], state, [record(d)])
    assert f"delete certkey {d.name}" in render_plan(p)
    assert f"delete certkey {ca_name(pki.intermediate)}" not in render_plan(p)


def test_dry_run_lines_never_carry_key_material(pki: TestPKI) -> None:
    leaf = pki.leaf()
    p = make_plan([want(leaf, [pki.intermediate], bindings=[HTTPS])], snapshot(files=[]))
    text = "\n".join(render_plan(p)) + repr(p.operations)
    assert "PRIVATE KEY" not in text and leaf.key_pem.decode().splitlines()[1] not in text


def test_a_changed_name_moves_at_the_next_renewal_not_before(pki: TestPKI) -> None:
    old_leaf, new_leaf = pki.leaf(), pki.leaf()
    deployed = want(old_leaf, name="old-name", bindings=[HTTPS])
    state = snapshot(leaf_certkey("old-name", old_leaf), bindings=[bound("vs_https", "old-name")], files=[])
    # Same certificate, new wanted name: nothing moves (it would need an outage), the user is told.
    same = make_plan([want(old_leaf, name="new-name", bindings=[HTTPS])], state, [record(deployed)])
    assert (
        same.operations == ()
        and "becomes new-name at the next renewal" in only(same, Action.UNCHANGED).message
    )
    # Renewed: the new certificate goes in under the new name, is bound, and the old certkey goes.
    renewed = make_plan([want(new_leaf, name="new-name", bindings=[HTTPS])], state, [record(deployed)])
    lines = render_plan(renewed)
    assert (
        lines.index("bind certkey new-name to vserver vs_https")
        < lines.index("unbind certkey old-name from vserver vs_https")
        < lines.index("delete certkey old-name")
    )
    cp = only(renewed, Action.REPLACE)
    assert [r.certkey for r in cp.records_ok] == ["new-name"]


def test_renewal_that_keeps_its_key_keeps_its_key_file(pki: TestPKI) -> None:
    old_leaf = pki.leaf()
    new_leaf = pki.leaf(key=old_leaf.key)  # cert-manager's rotationPolicy: Never
    old, new = want(old_leaf), want(new_leaf)
    on_disk = [leaf_files(old_leaf).cert, leaf_files(old_leaf).key]
    state = snapshot(leaf_certkey(old.name, old_leaf), files=on_disk)
    p = make_plan([new], state, [record(old)])
    assert kinds(p) == ["upload", "change", "delete-file"]
    change = p.operations[1]
    assert change.key == leaf_files(old_leaf).key and change.cert == leaf_files(new_leaf).cert


def test_a_key_file_another_certkey_loads_is_not_deleted(pki: TestPKI) -> None:
    a_leaf = pki.leaf("a.example.com")
    b_leaf = pki.leaf("b.example.com", key=a_leaf.key)  # two certificates, one key
    a, b = want(a_leaf, id="shop/a", name="a"), want(b_leaf, id="shop/b", name="b")
    state = snapshot(leaf_certkey("a", a_leaf), leaf_certkey("b", b_leaf), files=[])
    p = make_plan([b], state, [record(a), record(b)])
    deleted = {op.name for op in p.operations if op.kind == "delete-file"}
    assert deleted == {leaf_files(a_leaf).cert}
