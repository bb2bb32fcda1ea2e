"""A late watch event of a CertificateSync's own intent write runs no second reconcile.

Under load kopf may look at an old version of an object: after its own patch it waits at most
`consistency_timeout` for that version to come back through the watch, then handles the newest
version it has. At 5,000 syncs that was often the version our intent write (reconcile/intent.py)
made in the middle of the create handler, whose body carries neither kopf's record of the finished
handler nor the final status, so kopf ran the create handler again a minute later: one more NITRO
write (a save, because the records it was handed were still `pending`). The emulated API delivers
such a version again to the open watches (`deliver_late`), which is what kopf sees in that case.

A real change (spec, manual request, Secret) is reconciled however late kopf sees it.
"""

from __future__ import annotations

from collections.abc import Callable

import pytest

from certsync_devkit.k8s_history import Change
from certsync_devkit.k8s_thread import wait_for
from certsync_devkit.operator_thread import OperatorThread
from netscaler_certsync.k8s import keys
from tests.operator.harness import NS, Cluster

_WRITES = ("POST", "PUT", "DELETE")


def _history(cluster: Cluster, name: str) -> list[Change]:
    ref = {"apiVersion": f"{keys.GROUP}/{keys.VERSION}", "kind": keys.SYNC_KIND}
    obj = {**ref, "metadata": {"namespace": NS, "name": name}}
    return cluster.emulator.call(lambda: cluster.emulator.k.changes_of(obj))


def _intent_version(cluster: Cluster, name: str) -> Change:
    """The version our intent write made: its status holds records marked `pending`."""
    return next(
        c
        for c in _history(cluster, name)
        if any(
            (e.get("records") or {}).get("pending")
            for e in (c.obj.get("status") or {}).get("connections") or ()
        )
    )


def _sync_patches(cluster: Cluster, name: str) -> int:
    return sum(
        1
        for r in cluster.emulator.requests()
        if r.method == "PATCH" and f"/{keys.SYNC_PLURAL}/{name}" in r.path
    )


def _deliver_late_and_settle(cluster: Cluster, name: str, change: Change) -> None:
    """Deliver `change` again, then wait until kopf has handled it: kopf records the handled
    version of an object it processed in its annotations (a patch), rerun or not."""
    patched = _sync_patches(cluster, name)
    cluster.emulator.call(lambda: cluster.emulator.k.deliver_late(change))
    wait_for(lambda: _sync_patches(cluster, name) > patched, timeout=15, what="kopf handled the late event")


def _nitro_writes(cluster: Cluster, since: int) -> list[str]:
    return [f"{r.method} {r.resource}" for r in cluster.simulator.requests[since:] if r.method in _WRITES]


def test_a_late_event_of_our_own_intent_write_reconciles_nothing_again(
    cluster: Cluster, operator: OperatorThread
) -> None:
    cluster.connection()
    cluster.tls_secret("a")
    cluster.sync("a", certificates=[{"secretName": "a"}], bindings=[{"vserver": "vs_https"}])
    cluster.wait_ready("a")
    intent = _intent_version(cluster, "a")
    before = len(cluster.simulator.requests)
    _deliver_late_and_settle(cluster, "a", intent)
    assert _nitro_writes(cluster, before) == [], "a late copy of our own write reconciled the sync again"
    ready = cluster.wait_ready("a")
    assert not any(e["records"].get("pending") for e in ready["status"]["connections"]), ready["status"]


def _change_spec(c: Cluster) -> Callable[[], bool]:
    c.patch_sync("a", {"spec": {"bindings": [{"vserver": "vs_two"}]}})
    return lambda: any(ck == "default-a" for ck, _ in c.bound("vs_two"))


def _request_sync(c: Cluster) -> Callable[[], bool]:
    c.patch_sync("a", {"metadata": {"annotations": {keys.SYNC_REQUESTED_AT: "late-1"}}})
    return lambda: c.get_sync("a")["status"].get("lastHandledSyncRequest") == "late-1"


def _renew(c: Cluster) -> Callable[[], bool]:
    renewed = c.renew("a")
    return lambda: (c.certkey("default-a") or {}).get("serial") == renewed.serial_hex


@pytest.mark.parametrize(
    "change", [_change_spec, _request_sync, _renew], ids=["spec", "manual-request", "secret"]
)
def test_a_real_change_after_a_late_echo_is_reconciled(
    cluster: Cluster, operator: OperatorThread, change: Callable[[Cluster], Callable[[], bool]]
) -> None:
    """Our own writes are recognised by version and by what the sync asked for: a change after
    them (spec, manual request, Secret) is the user's, and is reconciled."""
    cluster.connection()
    cluster.tls_secret("a")
    cluster.sync("a", certificates=[{"secretName": "a"}], bindings=[{"vserver": "vs_https"}])
    cluster.wait_ready("a")
    _deliver_late_and_settle(cluster, "a", _intent_version(cluster, "a"))
    done = change(cluster)
    wait_for(done, timeout=15, what="the change reconciled")
    cluster.wait_ready("a")
