"""The emulator behaves like an API server where our code and tools depend on it.

Each test probes one API-server behaviour the operator, kopf or kubectl relies on, driven through
the sync kubernetes client exactly as against a cluster. A kmock upgrade that breaks the subclass fails
here first, in one place.
"""

from __future__ import annotations

import base64
import json

import kmock
import pytest
from kubernetes import client
from kubernetes.client.rest import ApiException

from certsync_devkit.k8s_thread import (
    CRD_GROUP,
    CRD_VERSION,
    EmulatorThread,
    unselected_secret_reads,
)

G, V, P = CRD_GROUP, CRD_VERSION, "certificatesyncs"


def secret(name: str, labels: dict[str, str] | None = None, **extra: object) -> dict[str, object]:
    return {"metadata": {"name": name, "labels": labels or {}}, "data": {"k": "dg=="}, **extra}


def tls_secret(name: str, labels: dict[str, str] | None = None) -> dict[str, object]:
    data = {"tls.crt": base64.b64encode(b"CRT").decode(), "tls.key": base64.b64encode(b"KEY").decode()}
    return {"metadata": {"name": name, "labels": labels or {}}, "type": "kubernetes.io/tls", "data": data}


def certsync(name: str, **spec: object) -> dict[str, object]:
    return {"apiVersion": f"{G}/{V}", "kind": "CertificateSync", "metadata": {"name": name}, "spec": spec}


def status_code(exc: pytest.ExceptionInfo[ApiException]) -> int:
    return int(exc.value.status)


def test_version_endpoint(api_client: client.ApiClient) -> None:
    assert client.VersionApi(api_client).get_code().git_version.startswith("v1.35")


def test_create_stamps_server_fields_and_folds_string_data(core: client.CoreV1Api) -> None:
    body = {"metadata": {"name": "s1"}, "stringData": {"password": "pw"}}
    created = core.create_namespaced_secret("default", body)
    md = created.metadata
    assert md.uid and md.creation_timestamp and md.namespace == "default"
    assert int(md.resource_version) > 0
    assert created.data == {"password": base64.b64encode(b"pw").decode()}
    fetched = core.read_namespaced_secret("s1", "default")
    assert fetched.metadata.uid == md.uid and fetched.metadata.resource_version == md.resource_version


def test_duplicate_create_is_409(core: client.CoreV1Api) -> None:
    core.create_namespaced_secret("default", secret("dup"))
    with pytest.raises(ApiException) as exc:
        core.create_namespaced_secret("default", secret("dup"))
    assert status_code(exc) == 409


def test_generate_name_gives_distinct_names(core: client.CoreV1Api) -> None:
    body = {"metadata": {"generateName": "gen-"}, "data": {}}
    a = core.create_namespaced_secret("default", body).metadata.name
    b = core.create_namespaced_secret("default", body).metadata.name
    assert a.startswith("gen-") and b.startswith("gen-") and a != b


def test_every_write_bumps_resource_version(core: client.CoreV1Api) -> None:
    rv1 = int(core.create_namespaced_secret("default", secret("s")).metadata.resource_version)
    rv2 = int(
        core.patch_namespaced_secret(
            "s", "default", {"metadata": {"labels": {"a": "b"}}}
        ).metadata.resource_version
    )
    assert rv2 > rv1
    # A patch that changes nothing is a no-op for the server: same RV.
    rv3 = int(
        core.patch_namespaced_secret(
            "s", "default", {"metadata": {"labels": {"a": "b"}}}
        ).metadata.resource_version
    )
    assert rv3 == rv2


def test_generation_counts_spec_changes_only(crs: client.CustomObjectsApi) -> None:
    created = crs.create_namespaced_custom_object(G, V, "default", P, certsync("cs", autoSync=True))
    assert created["metadata"]["generation"] == 1
    labelled = crs.patch_namespaced_custom_object(
        G, V, "default", P, "cs", {"metadata": {"labels": {"x": "y"}}}
    )
    assert labelled["metadata"]["generation"] == 1
    changed = crs.patch_namespaced_custom_object(G, V, "default", P, "cs", {"spec": {"autoSync": False}})
    assert changed["metadata"]["generation"] == 2


def test_status_subresource_is_separate(crs: client.CustomObjectsApi) -> None:
    body = {**certsync("cs", autoSync=True), "status": {"ignored": "on create"}}
    created = crs.create_namespaced_custom_object(G, V, "default", P, body)
    assert "status" not in created
    via_status = {"spec": {"autoSync": False}, "status": {"observedGeneration": 1}}
    after = crs.patch_namespaced_custom_object_status(G, V, "default", P, "cs", via_status)
    assert after["spec"] == {"autoSync": True} and after["status"] == {"observedGeneration": 1}
    via_main = {"spec": {"autoSync": False}, "status": {"observedGeneration": 99}}
    after = crs.patch_namespaced_custom_object(G, V, "default", P, "cs", via_main)
    assert after["spec"] == {"autoSync": False} and after["status"] == {"observedGeneration": 1}
    removed = crs.patch_namespaced_custom_object_status(
        G, V, "default", P, "cs", {"status": {"observedGeneration": None}}
    )
    assert removed.get("status") in ({}, None)


def test_failed_json_patch_test_is_422(crs: client.CustomObjectsApi) -> None:
    crs.create_namespaced_custom_object(G, V, "default", P, certsync("cs"))
    ops = [
        {"op": "test", "path": "/metadata/resourceVersion", "value": "1"},
        {"op": "add", "path": "/metadata/finalizers", "value": ["x/y"]},
    ]
    with pytest.raises(ApiException) as exc:  # a list body is sent as application/json-patch+json
        crs.patch_namespaced_custom_object(G, V, "default", P, "cs", ops)
    assert status_code(exc) == 422
    assert "finalizers" not in crs.get_namespaced_custom_object(G, V, "default", P, "cs")["metadata"]


def test_stale_resource_version_is_409_on_patch_and_replace(core: client.CoreV1Api) -> None:
    created = core.create_namespaced_secret("default", secret("s"))
    stale = created.metadata.resource_version
    core.patch_namespaced_secret("s", "default", {"metadata": {"labels": {"v": "2"}}})
    with pytest.raises(ApiException) as exc:
        core.patch_namespaced_secret(
            "s", "default", {"metadata": {"resourceVersion": stale, "labels": {"v": "3"}}}
        )
    assert status_code(exc) == 409
    created.metadata.labels = {"v": "4"}
    with pytest.raises(ApiException) as exc:
        core.replace_namespaced_secret("s", "default", created)
    assert status_code(exc) == 409
    fresh = core.read_namespaced_secret("s", "default")
    fresh.metadata.labels = {"v": "5"}
    assert core.replace_namespaced_secret("s", "default", fresh).metadata.labels == {"v": "5"}


def test_tls_secret_requires_both_keys_and_type_is_immutable(core: client.CoreV1Api) -> None:
    bad = tls_secret("t")
    del bad["data"]["tls.key"]  # type: ignore[attr-defined]
    with pytest.raises(ApiException) as exc:
        core.create_namespaced_secret("default", bad)
    assert status_code(exc) == 422 and "tls.key" in str(exc.value.body)
    core.create_namespaced_secret("default", tls_secret("t"))
    with pytest.raises(ApiException) as exc:
        core.patch_namespaced_secret("t", "default", {"type": "Opaque"})
    assert status_code(exc) == 422


@pytest.mark.parametrize(
    ("selector", "expected"),
    [
        ("app=a", {"s1", "s2"}),
        ("app==a,tier=web", {"s1"}),
        ("app!=a", {"s3", "s4"}),
        ("app in (a,b)", {"s1", "s2", "s3"}),
        ("app notin (a)", {"s3", "s4"}),
        ("tier", {"s1", "s3"}),
        ("!tier", {"s2", "s4"}),
    ],
)
def test_label_selectors_filter_on_the_server(
    core: client.CoreV1Api, selector: str, expected: set[str]
) -> None:
    core.create_namespaced_secret("default", secret("s1", {"app": "a", "tier": "web"}))
    core.create_namespaced_secret("default", secret("s2", {"app": "a"}))
    core.create_namespaced_secret("default", secret("s3", {"app": "b", "tier": "db"}))
    core.create_namespaced_secret("default", secret("s4"))
    names = {s.metadata.name for s in core.list_namespaced_secret("default", label_selector=selector).items}
    assert names == expected


def test_field_selectors_and_namespaces(core: client.CoreV1Api) -> None:
    core.create_namespaced_secret("default", tls_secret("t1"))
    core.create_namespaced_secret("default", secret("o1"))
    core.create_namespaced_secret("other", tls_secret("t2"))
    tls = core.list_secret_for_all_namespaces(field_selector="type=kubernetes.io/tls")
    assert {(s.metadata.namespace, s.metadata.name) for s in tls.items} == {
        ("default", "t1"),
        ("other", "t2"),
    }
    assert tls.kind == "SecretList" and tls.api_version == "v1"
    named = core.list_namespaced_secret("default", field_selector="metadata.name=o1")
    assert [s.metadata.name for s in named.items] == ["o1"]
    assert [s.metadata.name for s in core.list_namespaced_secret("other").items] == ["t2"]
    # A list by name still applies every other requirement, and only in its namespace.
    by_name = core.list_namespaced_secret
    assert by_name("default", field_selector="metadata.name==t1,type=kubernetes.io/tls").items
    assert not by_name("default", field_selector="metadata.name=o1,type=kubernetes.io/tls").items
    assert not by_name("default", field_selector="metadata.name=t2").items
    assert not by_name("default", field_selector="metadata.name=absent").items
    assert [s.metadata.name for s in by_name("default", field_selector="metadata.name!=o1").items] == ["t1"]
    core.delete_namespaced_secret("t1", "default")
    assert not by_name("default", field_selector="metadata.name=t1").items


def test_malformed_selector_is_400(core: client.CoreV1Api) -> None:
    with pytest.raises(ApiException) as exc:
        core.list_namespaced_secret("default", field_selector="type")
    assert status_code(exc) == 400


def test_dry_run_is_not_persisted(core: client.CoreV1Api) -> None:
    core.create_namespaced_secret("default", secret("dry"), dry_run="All")
    with pytest.raises(ApiException) as exc:
        core.read_namespaced_secret("dry", "default")
    assert status_code(exc) == 404


def test_finalizer_holds_deletion_until_removed(core: client.CoreV1Api) -> None:
    core.create_namespaced_secret(
        "default", {**secret("f"), "metadata": {"name": "f", "finalizers": ["x/y"]}}
    )
    core.delete_namespaced_secret("f", "default")
    held = core.read_namespaced_secret("f", "default")
    assert held.metadata.deletion_timestamp is not None
    core.patch_namespaced_secret("f", "default", {"metadata": {"finalizers": None}})
    with pytest.raises(ApiException) as exc:
        core.read_namespaced_secret("f", "default")
    assert status_code(exc) == 404


def test_request_log_shows_selectors(core: client.CoreV1Api, emulator: EmulatorThread) -> None:
    core.list_namespaced_secret("default", label_selector="a=b", field_selector="type=kubernetes.io/tls")
    gets = [r for r in emulator.requests() if r.method == "GET" and r.path.endswith("/secrets")]
    assert gets[-1].params == {"labelSelector": "a=b", "fieldSelector": "type=kubernetes.io/tls"}
    assert not gets[-1].is_watch
    assert unselected_secret_reads(emulator.requests()) == []
    core.list_secret_for_all_namespaces()  # what the operator must never do
    assert [r.path for r in unselected_secret_reads(emulator.requests())] == ["/api/v1/secrets"]


def test_namespaces_are_cluster_scoped_objects(core: client.CoreV1Api) -> None:
    names = {n.metadata.name for n in core.list_namespace().items}
    assert {"default", "kube-system"} <= names
    created = core.create_namespace({"metadata": {"name": "team-a"}})
    assert created.metadata.labels == {"kubernetes.io/metadata.name": "team-a"} and created.metadata.uid
    selected = core.list_namespace(label_selector="kubernetes.io/metadata.name=team-a").items
    assert [n.metadata.name for n in selected] == ["team-a"]
    with pytest.raises(ApiException) as exc:
        core.create_namespace({"metadata": {"name": "team-a"}})
    assert status_code(exc) == 409
    core.delete_namespace("team-a")
    with pytest.raises(ApiException) as exc:
        core.read_namespace("team-a")
    assert status_code(exc) == 404


def test_an_injected_write_failure_does_not_write(core: client.CoreV1Api, emulator: EmulatorThread) -> None:
    """kmock applies a write even when the test's reaction answers it with an error; we do not."""
    core.create_namespaced_secret("default", secret("s", {"v": "1"}))
    patches = emulator.k[kmock.action.UPDATE, kmock.resource("", "v1", "secrets")]
    emulator.call(lambda: patches[:1] << 503)
    with pytest.raises(ApiException) as exc:
        core.patch_namespaced_secret("s", "default", {"metadata": {"labels": {"v": "2"}}})
    assert status_code(exc) == 503
    assert core.read_namespaced_secret("s", "default").metadata.labels == {"v": "1"}
    core.patch_namespaced_secret(
        "s", "default", {"metadata": {"labels": {"v": "3"}}}
    )  # only the first failed
    assert core.read_namespaced_secret("s", "default").metadata.labels == {"v": "3"}


def test_lists_page_with_limit_and_continue_at_one_resource_version(core: client.CoreV1Api) -> None:
    for name in ("c", "a", "e", "b", "d"):
        core.create_namespaced_secret("default", secret(name))
    first = core.list_namespaced_secret("default", limit=2)
    assert [s.metadata.name for s in first.items] == ["a", "b"]  # key order, as a real server pages
    assert first.metadata.remaining_item_count == 3 and first.metadata._continue
    core.create_namespaced_secret("default", secret("f"))  # after the list's RV: not in its pages
    second = core.list_namespaced_secret("default", limit=2, _continue=first.metadata._continue)
    last = core.list_namespaced_secret("default", limit=2, _continue=second.metadata._continue)
    assert [s.metadata.name for s in second.items + last.items] == ["c", "d", "e"]
    assert not last.metadata._continue
    versions = {page.metadata.resource_version for page in (first, second, last)}
    assert versions == {first.metadata.resource_version}
    with pytest.raises(ApiException) as exc:  # a token is used once; an unknown one has expired
        core.list_namespaced_secret("default", limit=2, _continue=first.metadata._continue)
    assert status_code(exc) == 410
    assert len(core.list_namespaced_secret("default").items) == 6  # no limit: everything at once


def test_a_list_reads_its_own_resource_through_deletes_and_recreation(
    core: client.CoreV1Api, crs: client.CustomObjectsApi, emulator: EmulatorThread
) -> None:
    # The store files objects by resource (k8s_store): a list must still see exactly its own.
    core.create_namespaced_secret("default", secret("x"))
    crs.create_namespaced_custom_object(G, V, "default", P, certsync("x"))

    def listed() -> tuple[list[str], list[str]]:
        secrets = [s.metadata.name for s in core.list_namespaced_secret("default").items]
        syncs = crs.list_namespaced_custom_object(G, V, "default", P)["items"]
        return secrets, [o["metadata"]["name"] for o in syncs]

    assert listed() == (["x"], ["x"])
    core.delete_namespaced_secret("x", "default")  # soft: kmock keeps the key and its history
    assert listed() == ([], ["x"])
    core.create_namespaced_secret("default", secret("x"))
    assert listed() == (["x"], ["x"])

    def hard_delete() -> None:
        del emulator.k.objects["v1/secrets", "default", "x"]

    emulator.call(hard_delete)
    assert listed() == ([], ["x"])
    core.create_namespaced_secret("default", secret("y"))
    core.create_namespaced_secret("default", secret("x"))  # a new history, listed again
    assert sorted(listed()[0]) == ["x", "y"]


def test_a_list_after_a_write_shows_the_write(core: client.CoreV1Api) -> None:
    # Lists reuse each object's JSON until a write stamps a new resourceVersion (k8s_watching).
    core.create_namespaced_secret("default", secret("w", labels={"v": "1"}))
    for _ in range(2):
        (listed,) = core.list_namespaced_secret("default").items
        assert listed.metadata.labels == {"v": "1"}
    core.patch_namespaced_secret("w", "default", {"metadata": {"labels": {"v": "2"}}})
    whole = core.list_namespaced_secret("default", _preload_content=False)
    assert whole.headers["Content-Type"].startswith("application/json")  # kopf's client insists
    (item,) = json.loads(whole.data)["items"]
    assert item["metadata"]["labels"] == {"v": "2"}
    assert item["metadata"]["resourceVersion"] == json.loads(whole.data)["metadata"]["resourceVersion"]
