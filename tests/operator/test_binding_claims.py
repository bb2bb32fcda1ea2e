"""Two CertificateSyncs asking for one vserver's default certificate (issue 13), through the
emulated API server and the simulator: the earlier sync keeps the vserver, the later one reports
`BindingConflict`; deleting the loser does not touch the winner's binding, and deleting the
winner lets the loser bind at once (not at its next drift check)."""

from __future__ import annotations

from certsync_devkit.k8s_thread import wait_for
from certsync_devkit.operator_thread import OperatorThread
from netscaler_certsync.k8s import keys
from tests.operator.harness import Cluster, condition


def _two_syncs_one_vserver(cluster: Cluster) -> str:
    """`first` holds vs_https, `second` is held back; returns the winner's certkey name."""
    cluster.connection()
    cluster.tls_secret("www")
    cluster.tls_secret("shop")
    cluster.sync("first", certificates=[{"secretName": "www"}], bindings=[{"vserver": "vs_https"}])
    winner = cluster.wait_ready("first")["status"]["certificates"][0]["certKeyName"]
    cluster.sync("second", certificates=[{"secretName": "shop"}], bindings=[{"vserver": "vs_https"}])
    loser = cluster.wait_reason("second", "BindingConflict")
    assert "default/first" in condition(loser, "Ready")["message"]
    event = cluster.wait_event("second", "BindingConflict")
    assert "default/first" in event.message and "default/www" in event.message
    assert cluster.bound("vs_https") == [(winner, False)]
    assert condition(cluster.get_sync("first"), "Ready")["status"] == "True"
    return winner


def _delete(cluster: Cluster, name: str) -> None:
    cluster.crs.delete_namespaced_custom_object(keys.GROUP, keys.VERSION, "default", keys.SYNC_PLURAL, name)
    wait_for(lambda: cluster.get(keys.SYNC_PLURAL, name) is None, timeout=15, what=f"{name} deleted")


def test_deleting_the_loser_leaves_the_winners_binding_alone(
    cluster: Cluster, operator: OperatorThread
) -> None:
    winner = _two_syncs_one_vserver(cluster)
    cluster.simulator.clear_requests()
    _delete(cluster, "second")
    touching = [
        r for r in cluster.simulator.requests if r.is_write and (r.name == winner or winner in r.targets)
    ]
    assert touching == []
    assert cluster.bound("vs_https") == [(winner, False)]
    assert condition(cluster.get_sync("first"), "Ready")["status"] == "True"
    assert cluster.invariants() == []


def test_deleting_the_winner_lets_the_loser_bind(cluster: Cluster, operator: OperatorThread) -> None:
    _two_syncs_one_vserver(cluster)
    _delete(cluster, "first")
    # Its drift check is minutes away: only the released claim brings it back this soon.
    ready = cluster.wait_ready("second", timeout=10)
    certkey = ready["status"]["certificates"][0]["certKeyName"]
    assert cluster.bound("vs_https") == [(certkey, False)]
    assert cluster.invariants() == []
