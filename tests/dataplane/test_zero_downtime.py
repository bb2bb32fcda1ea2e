"""Zero downtime: a client handshaking without pause while the real operator renews the
certificate behind the vserver 50 times (in place, with chain changes, an issuer and a root
rotation among them; then again with a new certkey per renewal). No handshake may fail, and each
must see exactly the old or the new certificate with its complete chain."""

from __future__ import annotations

import os

import pytest

from certsync_devkit.operator_thread import OperatorThread
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
    # Same-issuer renewals are updated in place; issuer changes become a new certkey, linked before
    # it is bound in place of the old one: neither may leave a moment without the chain.
    for issuer_changed in (False, True):
        failed = run.failures_during(issuer_changed=issuer_changed)
        kind = "across issuers" if issuer_changed else "same issuer"
        assert failed == [], f"{len(failed)} failed handshakes ({kind}): {failed[:3]}"
