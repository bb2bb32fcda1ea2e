"""The cluster identity: `--cluster-id` wins, else the kube-system UID; no identity, no start."""

from __future__ import annotations

import logging

import pytest

from netscaler_certsync.domain import cluster_tag
from netscaler_certsync.k8s import NotFound
from netscaler_certsync.reconcile.identity import resolve


async def test_the_kube_system_uid_is_the_default_and_is_logged(caplog: pytest.LogCaptureFixture) -> None:
    asked: list[str] = []

    async def uid(name: str) -> str:
        asked.append(name)
        return "6f1c2a44-uid"

    with caplog.at_level(logging.INFO):
        identity = await resolve(None, uid)
    assert asked == ["kube-system"]
    assert identity.status() == {
        "id": "6f1c2a44-uid",
        "tag": cluster_tag("6f1c2a44-uid"),
        "source": "kube-system",
    }
    assert f"cluster identity 6f1c2a44-uid (tag {cluster_tag('6f1c2a44-uid')}" in caplog.text


async def test_the_flag_wins_and_reads_nothing() -> None:
    async def uid(name: str) -> str:
        raise AssertionError("the flag was given: no Namespace read")

    identity = await resolve("fleet-eu-1", uid)
    assert (identity.id, identity.source) == ("fleet-eu-1", "flag")


async def test_without_an_identity_the_operator_does_not_start() -> None:
    async def uid(name: str) -> str:
        raise NotFound("namespaces kube-system not found")

    with pytest.raises(RuntimeError, match="grant `get` on namespaces or set --cluster-id"):
        await resolve(None, uid)
