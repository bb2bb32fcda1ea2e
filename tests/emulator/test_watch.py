"""Watch semantics: resume by resourceVersion, timeouts, bookmarks, 410 Gone, selector transitions."""

from __future__ import annotations

import functools
import json
from collections.abc import Iterator
from typing import Any

import pytest
from kubernetes import client, watch
from kubernetes.client.rest import ApiException

from certsync_devkit.k8s_emulator import RealisticEmulator
from certsync_devkit.k8s_thread import EmulatorThread, declare_resources


def secret(name: str, labels: dict[str, str] | None = None) -> dict[str, Any]:
    return {"metadata": {"name": name, "labels": labels or {}}, "data": {"k": "dg=="}}


def events(core: client.CoreV1Api, **kwargs: Any) -> list[tuple[str, str]]:
    """All events of one watch request that ends by the server's timeoutSeconds."""
    stream = watch.Watch().stream(core.list_namespaced_secret, "default", timeout_seconds=1, **kwargs)
    return [(e["type"], e["object"].metadata.name) for e in stream]


def raw_lines(core: client.CoreV1Api, **params: Any) -> Iterator[dict[str, Any]]:
    """The watch stream as parsed JSON lines (no client-side retry or interpretation)."""
    response = core.list_namespaced_secret("default", watch=True, _preload_content=False, **params)
    try:
        for line in response.stream(amt=None):
            for chunk in line.splitlines():
                if chunk.strip():
                    yield json.loads(chunk)
    finally:
        response.release_conn()


def test_watch_without_rv_lists_current_state_then_ends_on_timeout(core: client.CoreV1Api) -> None:
    core.create_namespaced_secret("default", secret("a"))
    assert events(core) == [("ADDED", "a")]


def test_watch_resumes_after_resource_version(core: client.CoreV1Api) -> None:
    rv_a = core.create_namespaced_secret("default", secret("a")).metadata.resource_version
    core.create_namespaced_secret("default", secret("b"))
    core.patch_namespaced_secret("a", "default", {"metadata": {"labels": {"x": "1"}}})
    core.delete_namespaced_secret("b", "default")
    assert events(core, resource_version=rv_a) == [
        ("ADDED", "b"),
        ("MODIFIED", "a"),
        ("DELETED", "b"),
    ]


def test_object_leaving_the_selector_is_deleted_for_that_watcher(core: client.CoreV1Api) -> None:
    rv = core.create_namespaced_secret("default", secret("a", {"app": "x"})).metadata.resource_version
    core.patch_namespaced_secret("a", "default", {"metadata": {"labels": {"app": "y"}}})
    core.patch_namespaced_secret("a", "default", {"metadata": {"labels": {"app": "x"}}})
    assert events(core, resource_version=rv, label_selector="app=x") == [("DELETED", "a"), ("ADDED", "a")]


def test_compacted_resource_version_gets_410(core: client.CoreV1Api, emulator: EmulatorThread) -> None:
    rv = core.create_namespaced_secret("default", secret("a")).metadata.resource_version
    emulator.call(lambda: emulator.k.expire_watches())
    first = next(raw_lines(core, resource_version=rv, timeout_seconds=1))
    assert first["type"] == "ERROR" and first["object"]["code"] == 410
    # The kubernetes client retries a 410 once, then gives up with ApiException(410).
    with pytest.raises(ApiException) as exc:
        events(core, resource_version=rv)
    assert exc.value.status == 410
    # A fresh list gives a resourceVersion that can be watched from again.
    fresh = core.list_namespaced_secret("default").metadata.resource_version
    core.create_namespaced_secret("default", secret("b"))
    assert events(core, resource_version=fresh) == [("ADDED", "b")]


def test_open_watch_ends_with_410_when_expired(core: client.CoreV1Api, emulator: EmulatorThread) -> None:
    rv = core.create_namespaced_secret("default", secret("a")).metadata.resource_version
    lines = raw_lines(core, resource_version=rv, timeout_seconds=10)
    core.create_namespaced_secret("default", secret("b"))
    assert next(lines)["object"]["metadata"]["name"] == "b"
    emulator.call(lambda: emulator.k.expire_watches())
    gone = next(lines)
    assert gone["type"] == "ERROR" and gone["object"]["code"] == 410
    assert list(lines) == []  # the server closed the stream


def test_history_is_bounded() -> None:
    small = functools.partial(RealisticEmulator, history_limit=3)
    with EmulatorThread(small, declare_resources) as emu:  # type: ignore[arg-type]
        api = client.ApiClient(client.Configuration(host=emu.url))
        core = client.CoreV1Api(api)
        first = core.create_namespaced_secret("default", secret("s0")).metadata.resource_version
        rvs = [
            core.create_namespaced_secret("default", secret(f"s{i}")).metadata.resource_version
            for i in (1, 2, 3, 4)
        ]
        assert next(raw_lines(core, resource_version=first, timeout_seconds=1))["object"]["code"] == 410
        # Three events kept (s2..s4): resuming right after s1 still works, after s0 does not.
        assert events(core, resource_version=rvs[0]) == [("ADDED", "s2"), ("ADDED", "s3"), ("ADDED", "s4")]
        api.close()


def test_bookmark_before_timeout_and_for_watch_list(core: client.CoreV1Api) -> None:
    core.create_namespaced_secret("default", secret("a"))
    rv_now = core.list_namespaced_secret("default").metadata.resource_version
    lines = list(raw_lines(core, timeout_seconds=1, allow_watch_bookmarks=True))
    assert [e["type"] for e in lines] == ["ADDED", "BOOKMARK"]
    assert lines[-1]["object"]["metadata"]["resourceVersion"] == rv_now
    watch_list = list(
        raw_lines(
            core,
            timeout_seconds=1,
            send_initial_events=True,
            resource_version_match="NotOlderThan",
            allow_watch_bookmarks=True,
        )
    )
    initial_end = watch_list[1]
    assert initial_end["type"] == "BOOKMARK"
    assert initial_end["object"]["metadata"]["annotations"] == {"k8s.io/initial-events-end": "true"}


def test_final_deleted_after_finalizer_has_its_own_rv(core: client.CoreV1Api) -> None:
    body = {"metadata": {"name": "f", "finalizers": ["x/y"]}, "data": {}}
    rv = core.create_namespaced_secret("default", body).metadata.resource_version
    core.delete_namespaced_secret("f", "default")
    released = core.patch_namespaced_secret("f", "default", {"metadata": {"finalizers": None}})
    got = list(raw_lines(core, resource_version=rv, timeout_seconds=1))
    assert [e["type"] for e in got] == ["MODIFIED", "MODIFIED", "DELETED"]
    rvs = [int(e["object"]["metadata"]["resourceVersion"]) for e in got]
    assert rvs == sorted(set(rvs)) and rvs[1] == int(released.metadata.resource_version)
    # Resuming between the release and the DELETED still delivers the DELETED.
    assert events(core, resource_version=str(rvs[1])) == [("DELETED", "f")]
