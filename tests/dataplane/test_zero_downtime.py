"""Zero downtime: a client handshaking without pause while the real operator renews the
certificate behind the vserver 50 times (in place, with chain changes, an issuer and a root
rotation among them; then again with a new certkey per renewal). No handshake may fail, and each
must see exactly the old or the new certificate with its complete chain."""

from __future__ import annotations

import os

import pytest

from netscaler_certsync.testing.operator_thread import OperatorThread
from tests.dataplane.scenario import RunResult, describe, renew_under_load
from tests.operator.harness import Cluster

RENEWALS = int(os.environ.get("DATAPLANE_RENEWALS", "50"))


def assert_never_mixed(run: RunResult, cluster: Cluster) -> None:
    loop = run.loop
    assert run.unexpected == [], describe(run.unexpected[:5], run.generations)
    # The client really ran through the renewals: more handshakes than renewals, both chain
    # lengths (2 and 3 certificates) seen, most generations seen, and the last one served at the end.
    assert len(loop.seen) > RENEWALS
    assert set(run.chain_kinds) == {2, 3}
    assert loop.seen[-1] == run.generations[-1].served
    seen = set(loop.seen)
    assert sum(1 for g in run.generations if g.served in seen) > RENEWALS // 2
    assert run.issuer_changes >= RENEWALS // 4
    assert cluster.invariants() == []


@pytest.mark.timeout(300)
def test_new_certkey_per_renewal_never_fails_a_handshake(cluster: Cluster, operator: OperatorThread) -> None:
    run = renew_under_load(cluster, RENEWALS, preserve=False)
    assert run.loop.failures == [], f"{len(run.loop.failures)} failed handshakes: {run.loop.failures[:3]}"
    assert_never_mixed(run, cluster)


@pytest.mark.timeout(300)
def test_in_place_renewals_never_fail_a_handshake(cluster: Cluster, operator: OperatorThread) -> None:
    run = renew_under_load(cluster, RENEWALS, preserve=True)
    assert_never_mixed(run, cluster)
    same_issuer = run.failures_during(issuer_changed=False)
    assert same_issuer == [], f"{len(same_issuer)} failed handshakes: {same_issuer[:3]}"
    across = run.failures_during(issuer_changed=True)
    if across:
        # KNOWN BUG (engine, reported): an in-place renewal whose issuer changes is planned as
        # unlink -> update -> link; between those NITRO calls the vserver sends the leaf without
        # its chain, and clients that need the intermediate fail. preserveOnRenewal: false (new
        # certkey linked first, then bound in place) has no such window (test above).
        pytest.xfail(
            f"KNOWN BUG: {len(across)} of {len(run.loop.seen) + len(run.loop.failures)} handshakes failed "
            f"(incomplete chain) during {run.issuer_changes} in-place renewals across issuers: the engine "
            f"unlinks, updates, then links; first: {across[0][1]}"
        )
