"""Bulk requests: one array body, `X-NITRO-ONERROR: continue`, 207 Multi-Status read per item."""

from __future__ import annotations

from netscaler_certsync.nitro.errors import ProtocolError
from netscaler_certsync.nitro.models import BulkResult
from netscaler_certsync.nitro.parsing import as_int, as_str
from netscaler_certsync.nitro.wire import Reply

CONTINUE_ON_ERROR = {"X-NITRO-ONERROR": "continue"}


def bulk_results(reply: Reply, count: int) -> list[BulkResult]:
    """Per-item outcomes: a 2xx without per-item detail means every item took effect."""
    items = reply.body.get("response")
    if reply.status != 207 and not isinstance(items, list):
        return [BulkResult(index, 0, "Done", "NONE") for index in range(count)]
    if not isinstance(items, list):
        raise ProtocolError("bulk reply 207 without a per-item `response` array")
    listed_ok = any(isinstance(i, dict) and not as_int(i.get("errorcode")) for i in items)
    if len(items) < count and reply.status == 207 and not listed_ok:
        # X-NITRO-ONERROR: exit lists only the failed item (NRD error-and-exception-handling.md):
        # which one failed, and which ran before it, cannot be told. Every item's outcome is
        # unknown; the caller reads the state or repeats them one by one.
        failure = next((i for i in items if isinstance(i, dict) and as_int(i.get("errorcode"))), {})
        message = f"outcome unknown: the bulk request stopped at a failure ({failure.get('message', '')})"
        return [BulkResult(index, -1, message, None) for index in range(count)]
    results = []
    for index, item in enumerate(items):
        if not isinstance(item, dict):
            raise ProtocolError(f"bulk reply item {index} is not an object")
        results.append(
            BulkResult(
                index=index,
                errorcode=as_int(item.get("errorcode")) or 0,
                message=str(item.get("message") or ""),
                severity=as_str(item.get("severity")),
            )
        )
    # Fewer items than sent without a failure among them: the rest never ran.
    results.extend(
        BulkResult(index, -1, "not attempted: the bulk request stopped at an earlier failure", None)
        for index in range(len(results), count)
    )
    return results


__all__ = ["CONTINUE_ON_ERROR", "bulk_results"]
