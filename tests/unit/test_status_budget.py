"""status.certificates stays writable: under the byte budget, messages shortened or dropped first."""

from __future__ import annotations

import json

from netscaler_certsync.reconcile.sync_status import fit_entries


def test_status_entries_fit_the_budget_messages_give_way_first() -> None:
    entries = [
        {
            "secretName": f"s{i}",
            "certKeyName": f"ck{i}",
            "serial": "AB" * 20,
            "state": "Synced" if i % 2 else "Failed",
            "reason": "Synced" if i % 2 else "KeyMismatch",
            "message": "x" * 4000,
        }
        for i in range(1024)
    ]
    out = fit_entries(entries, budget=300_000)
    assert len(json.dumps(out)) <= 300_000
    assert len(out) == 1024
    assert all(e["serial"] == "AB" * 20 and e["reason"] for e in out)
    failed = [e for e in out if e["state"] == "Failed"]
    assert all(e.get("message") for e in failed), "a failure keeps its (shortened) message"
