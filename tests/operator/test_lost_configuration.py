"""An appliance that lost its configuration (a reboot before a save, a factory reset, a restore)
is repaired for every CertificateSync on it as soon as the first drift check notices, not at the
end of each sync's own interval (issue 17: syncs stayed Ready with nothing on the appliance)."""

from __future__ import annotations

from certsync_devkit.k8s_thread import wait_for
from certsync_devkit.operator_thread import OperatorThread
from tests.operator.harness import Cluster, admin


def test_the_first_drift_check_to_notice_repairs_every_sync_on_the_appliance(
    cluster: Cluster, operator: OperatorThread
) -> None:
    cluster.connection()
    cluster.tls_secret("a")
    cluster.tls_secret("b")
    cluster.sync(
        "daily",
        certificates=[{"secretName": "a"}],
        bindings=[{"vserver": "vs_https"}],
        driftCheckIntervalSeconds=86400,
    )
    cluster.sync(
        "often",
        certificates=[{"secretName": "b"}],
        bindings=[{"vserver": "vs_two"}],
        driftCheckIntervalSeconds=2,
    )
    cluster.wait_ready("daily")
    cluster.wait_ready("often")

    admin(cluster.simulator, "POST", "reset")  # factory state: every certkey and binding gone
    assert cluster.certkey("default-a") is None and cluster.certkey("default-b") is None

    wait_for(lambda: cluster.certkey("default-b"), timeout=15, what="often's own drift check repairs it")
    # daily's own drift check is a day away: the first one to notice looks at it too.
    wait_for(lambda: cluster.bound("vs_https") == [("default-a", False)], timeout=15, what="daily repaired")
    assert cluster.invariants() == []
