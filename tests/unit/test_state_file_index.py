"""`ApplianceState.files_maybe_of`: the files a plan looks at for deletion are every file the
sync may own, and none of another owner's (the planner no longer scans the whole listing)."""

from __future__ import annotations

from netscaler_certsync.domain import file_tag
from netscaler_certsync.engine.state import ApplianceState

FP = "ab" * 20


def test_a_plan_sees_its_own_leaf_files_cas_of_its_cluster_and_legacy_files_only() -> None:
    files = [
        f"cs-aaaaaa-11111111-{FP}.crt",  # ours
        f"cs-aaaaaa-11111111-{FP}.key",  # ours
        f"cs-aaaaaa-22222222-{FP}.crt",  # another sync of this cluster
        f"cs-bbbbbb-11111111-{FP}.crt",  # the same scope id in another cluster
        f"cs-ca-aaaaaa-{FP}.crt",  # a CA of this cluster
        f"cs-ca-bbbbbb-{FP}.crt",  # a CA of another cluster
        f"cs-ca-{FP}.crt",  # a CA an earlier version added (shared by all)
        f"cs-33333333-{FP}.crt",  # a leaf file an earlier version wrote (owns_file decides)
        "web.pem",  # nobody's we know
    ]
    state = ApplianceState.of([], files=files)
    seen = state.files_maybe_of("aaaaaa-11111111", "aaaaaa")
    assert seen == sorted(
        [
            f"cs-aaaaaa-11111111-{FP}.crt",
            f"cs-aaaaaa-11111111-{FP}.key",
            f"cs-ca-aaaaaa-{FP}.crt",
            f"cs-ca-{FP}.crt",
            f"cs-33333333-{FP}.crt",
        ]
    )
    # the index is a superset of what the owner-tag rule accepts, whatever the file
    for f in files:
        tag = file_tag(f)
        if tag is not None and (
            tag.owner == "aaaaaa-11111111" or (tag.scope is None and tag.cluster in ("aaaaaa", None))
        ):
            assert f in seen


def test_indexes_of_the_certkeys_carry_over_when_files_are_added() -> None:
    state = ApplianceState.of([], files=["a"])
    state.referenced_files()
    extra = state.with_extra(files=[f"cs-aaaaaa-11111111-{FP}.crt"])
    assert extra.files_maybe_of("aaaaaa-11111111", "aaaaaa") == [f"cs-aaaaaa-11111111-{FP}.crt"]
    assert extra.referenced_files() == frozenset()
