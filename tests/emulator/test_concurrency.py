"""Concurrent writers: optimistic locking holds and nothing is lost or answered with a 500.

kopf and our Secret watcher patch the same CertificateSync at the same time (kopf with JSON
patches carrying a `test` on resourceVersion, the watcher with merge patches). Every locked patch
that got 200 must have landed and every 422 must not have; every merge patch must land.
"""

from __future__ import annotations

import asyncio
from collections import Counter

import httpx

from certsync_devkit.k8s_builders import certificate_sync

PATH = "/apis/netscaler.certsync.dev/v1alpha1/namespaces/default/certificatesyncs"


async def test_optimistic_writers_race_without_server_errors(writer: httpx.AsyncClient) -> None:
    body = certificate_sync("cs", {})
    body["metadata"]["annotations"] = {"seed": "x"}  # so that JSON-patch ops can add to it
    assert (await writer.post(PATH, json=body)).status_code == 201

    async def locked_patch(i: int) -> int:
        rv = (await writer.get(f"{PATH}/cs")).json()["metadata"]["resourceVersion"]
        ops = [
            {"op": "test", "path": "/metadata/resourceVersion", "value": rv},
            {"op": "add", "path": f"/metadata/annotations/json-{i}", "value": "x"},
        ]
        headers = {"Content-Type": "application/json-patch+json"}
        return (
            await writer.patch(
                f"{PATH}/cs",
                json=[{"op": "add", "path": "/metadata/annotations", "value": {}}] if i < 0 else ops,
                headers=headers,
            )
        ).status_code

    async def merge_patch(i: int) -> int:
        body = {"metadata": {"labels": {f"merge-{i}": "y"}}}
        headers = {"Content-Type": "application/merge-patch+json"}
        return (await writer.patch(f"{PATH}/cs", json=body, headers=headers)).status_code

    results = await asyncio.gather(*(f(i) for i in range(30) for f in (locked_patch, merge_patch)))
    counts = Counter(results)
    assert set(counts) <= {200, 422}, counts
    assert counts[200] >= 31  # every merge patch, and at least one locked patch, got through
    final = (await writer.get(f"{PATH}/cs")).json()["metadata"]
    won = [k for k in final["annotations"] if k.startswith("json-")]
    assert len(won) == counts[200] - 30 and len(final["labels"]) == 30
