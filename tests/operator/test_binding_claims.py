"""Two CertificateSyncs asking for one vserver's default certificate (issue 13), through the
emulated API server and the simulator: the earlier sync keeps the vserver, the later one reports
`BindingConflict`; deleting the loser does not touch the winner's binding, deleting the winner
lets the loser bind at once (not at its next drift check), and an operator restart changes
nothing."""

from __future__ import annotations

from certsync_devkit.k8s_thread import EmulatorThread, wait_for
from certsync_devkit.operator_thread import OperatorThread
from netscaler_certsync.k8s import ClusterAccess, keys
from netscaler_certsync.reconcile.context import OperatorOptions
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


def test_after_a_restart_the_later_sync_does_not_take_the_default(
    cluster: Cluster, emulator: EmulatorThread, operator_options: OperatorOptions
) -> None:
    """The claim index lives in the process: a new operator (helm upgrade) starts with it empty
    and must not let the later sync, whichever kopf resumes first, take the winner's default."""
    access = ClusterAccess(server=emulator.url, token="operator-token")
    with OperatorThread(access, operator_options):
        winner = _two_syncs_one_vserver(cluster)
    cluster.simulator.clear_requests()
    with OperatorThread(access, operator_options):
        cluster.request_sync("second", "first", value="after-restart")  # the loser asks first
        loser = cluster.wait_sync(
            "second",
            lambda o: "created earlier" in condition(o, "Ready")["message"],
            "the conflict named once the earlier sync reported",
        )
        assert "default/first" in condition(loser, "Ready")["message"]
        assert condition(cluster.get_sync("first"), "Ready")["status"] == "True"
    binds = [r for r in cluster.simulator.requests if r.is_write and "binding" in r.resource]
    assert binds == []  # neither unbound nor re-bound across the restart
    assert cluster.bound("vs_https") == [(winner, False)]
    assert cluster.invariants() == []
