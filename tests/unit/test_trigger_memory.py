"""The Secret trigger index's memory per CertificateSync (issue 18: one process at 10,000 syncs).

Each sync's trigger holds four name sets; most syncs name one TLS Secret, which the status also
lists as deployed, so the sets are equal or empty and one set object serves them all (a set
costs 216 bytes even with one name: with four, the index held about 1 KiB per sync).
"""

from __future__ import annotations

import tracemalloc

from netscaler_certsync.reconcile.triggers import trigger_of

SYNCS = 1000


def _spec_and_status(i: int) -> tuple[dict[str, object], dict[str, object]]:
    spec = {
        "connectionRefs": [{"name": "adc"}],
        "certificates": [{"secretName": f"s{i}"}],
        "bindings": [{"vserver": "vs_sni", "sni": True}],
    }
    status = {"certificates": [{"secretName": f"s{i}", "state": "Synced"}]}
    return spec, status


def test_a_trigger_of_a_one_secret_sync_holds_one_name_set() -> None:
    inputs = [_spec_and_status(i) for i in range(SYNCS)]
    tracemalloc.start()
    try:
        before = tracemalloc.get_traced_memory()[0]
        triggers = [trigger_of(spec, status) for spec, status in inputs]
        held = tracemalloc.get_traced_memory()[0] - before
    finally:
        tracemalloc.stop()
    first = triggers[0]
    assert first.secrets == first.deployed == {"s0"}
    assert not first.named_watches and not first.configmaps  # a TLS Secret: its watcher sees it
    # The dataclass itself and one frozenset of one name: about 400 bytes.
    assert held / SYNCS < 600, f"{held / SYNCS:.0f} bytes per trigger"
