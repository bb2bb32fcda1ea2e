"""k8s.KubeClient and friends against the emulator: reads, selectors, watch, patches, Events, errors."""

from __future__ import annotations

import asyncio
import base64
import subprocess
import sys
from pathlib import Path

import httpx
import pytest

from certsync_devkit.k8s_builders import (
    certificate_sync,
    credentials_secret,
    opaque_secret,
    tls_secret,
)
from certsync_devkit.k8s_emulator import RealisticEmulator
from certsync_devkit.k8s_thread import kubeconfig_text, request_log
from netscaler_certsync.k8s import (
    ClusterAccess,
    ConfigError,
    Conflict,
    CredentialsSecret,
    Forbidden,
    KubeClient,
    NotFound,
    SecretError,
    TransportError,
    Unauthorized,
    WatchEvent,
    keys,
    read_certificate,
)
from tests.support.waiting import until

SECRETS = "/api/v1/namespaces/default/secrets"
SYNC_LABEL = "example.com/sync"  # the tests' own label: any label selector is passed through


async def post(writer: httpx.AsyncClient, path: str, body: dict[str, object]) -> dict[str, object]:
    response = await writer.post(path, json=body)
    assert response.status_code == 201, response.text
    return dict(response.json())


def test_kubeconfig_is_read(tmp_path: Path) -> None:
    path = tmp_path / "kubeconfig"
    path.write_text(kubeconfig_text("http://127.0.0.1:1234", namespace="certs"))
    access = ClusterAccess.from_kubeconfig(path)
    assert (access.server, access.bearer_token(), access.namespace) == (
        "http://127.0.0.1:1234",
        "emulator-token",
        "certs",
    )
    assert "emulator-token" not in repr(access)


def test_an_unusable_kubeconfig_is_a_config_error(tmp_path: Path) -> None:
    path = tmp_path / "kubeconfig"
    path.write_text(kubeconfig_text("http://127.0.0.1:1234"))
    with pytest.raises(ConfigError, match="no context named 'elsewhere'"):
        ClusterAccess.from_kubeconfig(path, context="elsewhere")
    with pytest.raises(ConfigError, match="cannot use kubeconfig"):
        ClusterAccess.from_kubeconfig(tmp_path / "missing")


def test_in_cluster_reads_the_service_account(tmp_path: Path) -> None:
    (tmp_path / "token").write_text("sa-token-1\n")
    (tmp_path / "namespace").write_text("netscaler-system")
    (tmp_path / "ca.crt").write_text("the cluster CA")  # always mounted; the library insists on it
    env = {"KUBERNETES_SERVICE_HOST": "10.0.0.1", "KUBERNETES_SERVICE_PORT": "443"}
    access = ClusterAccess.in_cluster(env=env, account_dir=tmp_path)
    assert access.server == "https://10.0.0.1:443" and access.namespace == "netscaler-system"
    assert access.bearer_token() == "sa-token-1"
    (tmp_path / "token").write_text("sa-token-2\n")  # the kubelet rotated it
    assert access.bearer_token() == "sa-token-2"
    with pytest.raises(ConfigError, match="not running in a cluster"):
        ClusterAccess.in_cluster(env={}, account_dir=tmp_path)


IN_A_POD = """
import sys
from pathlib import Path
from netscaler_certsync.commands.run import import_kopf_without_the_kubernetes_client
import_kopf_without_the_kubernetes_client()  # what `netscaler-certsync run` does first
import netscaler_certsync.runtime
from netscaler_certsync.k8s import ClusterAccess
env = {"KUBERNETES_SERVICE_HOST": "fd00::1", "KUBERNETES_SERVICE_PORT": "6443"}
access = ClusterAccess.in_cluster(env=env, account_dir=Path(sys.argv[1]))
print(access.server, "kubernetes" in sys.modules)
kubeconfig = ClusterAccess.from_kubeconfig(sys.argv[2])  # the library still loads when needed
print(kubeconfig.server, "kubernetes" in sys.modules)
"""


def test_the_operator_in_a_pod_never_loads_the_kubernetes_client(tmp_path: Path) -> None:
    """The `kubernetes` package costs about 23 MiB resident; in a pod the operator needs none of it."""
    (tmp_path / "token").write_text("sa-token\n")
    (tmp_path / "ca.crt").write_text("the cluster CA")
    (tmp_path / "kubeconfig").write_text(kubeconfig_text("http://127.0.0.1:1234"))
    out = subprocess.run(
        [sys.executable, "-c", IN_A_POD, str(tmp_path), str(tmp_path / "kubeconfig")],
        capture_output=True,
        text=True,
        timeout=120,
        check=True,
    ).stdout.split("\n")
    assert out[:2] == ["https://[fd00::1]:6443 False", "http://127.0.0.1:1234 True"]


def test_an_empty_service_account_token_is_a_config_error(tmp_path: Path) -> None:
    (tmp_path / "token").write_text("")
    (tmp_path / "ca.crt").write_text("the cluster CA")
    env = {"KUBERNETES_SERVICE_HOST": "10.0.0.1", "KUBERNETES_SERVICE_PORT": "443"}
    with pytest.raises(ConfigError, match="is empty"):
        ClusterAccess.in_cluster(env=env, account_dir=tmp_path)


async def test_get_and_list_with_server_side_selectors(
    k8s: RealisticEmulator, kube: KubeClient, writer: httpx.AsyncClient
) -> None:
    await post(writer, SECRETS, tls_secret("web", b"CRT", b"KEY", labels={SYNC_LABEL: "true"}))
    await post(writer, SECRETS, opaque_secret("other", {"x": b"y"}, labels={SYNC_LABEL: "true"}))
    secret = read_certificate(await kube.get_secret("default", "web"), include_ca_crt=True)
    assert (secret.cert_pem, secret.key_pem, secret.ca_pem) == (b"CRT", b"KEY", None)
    assert "KEY" not in repr(secret)
    listed = await kube.list_secrets(None, f"{SYNC_LABEL}=true", keys.TLS_TYPE_FIELD_SELECTOR)
    assert [s["metadata"]["name"] for s in listed.items] == ["web"]
    assert int(listed.resource_version) >= int(secret.resource_version)
    sent = [r for r in request_log(k8s) if r.method == "GET" and r.path == "/api/v1/secrets"]
    assert sent[-1].params == {
        "labelSelector": f"{SYNC_LABEL}=true",
        "fieldSelector": "type=kubernetes.io/tls",
    }
    with pytest.raises(NotFound):
        await kube.get_secret("default", "missing")


async def test_secret_models_explain_what_is_wrong(kube: KubeClient, writer: httpx.AsyncClient) -> None:
    await post(writer, SECRETS, credentials_secret("login", "nsroot", "s3cret"))
    await post(writer, SECRETS, opaque_secret("half", {"username": b"nsroot"}))
    await post(writer, SECRETS, credentials_secret("echoed", "nsroot\n", "s3cret\n"))  # `echo pw | base64`
    creds = CredentialsSecret.from_raw(await kube.get_secret("default", "login"))
    assert (creds.username, creds.password) == ("nsroot", "s3cret") and "s3cret" not in repr(creds)
    echoed = CredentialsSecret.from_raw(await kube.get_secret("default", "echoed"))
    assert (echoed.username, echoed.password) == ("nsroot", "s3cret")
    with pytest.raises(SecretError) as missing:
        CredentialsSecret.from_raw(await kube.get_secret("default", "half"))
    assert missing.value.reason == "MissingData" and "'password'" in str(missing.value)
    with pytest.raises(SecretError) as wrong_type:
        read_certificate(await kube.get_secret("default", "login"))
    assert wrong_type.value.reason == "WrongSecretType" and "default/login" in str(wrong_type.value)


async def test_watch_lists_first_then_follows_and_relists_after_410(
    k8s: RealisticEmulator, kube: KubeClient, writer: httpx.AsyncClient
) -> None:
    await post(writer, SECRETS, tls_secret("a", b"C1", b"K1"))
    events: asyncio.Queue[WatchEvent] = asyncio.Queue()

    async def follow() -> None:
        async for event in kube.watch_secrets("default", field_selector=keys.TLS_TYPE_FIELD_SELECTOR):
            await events.put(event)

    task = asyncio.create_task(follow())
    try:
        first = await asyncio.wait_for(events.get(), 5)
        assert first.type == "RELISTED" and [i["metadata"]["name"] for i in first.items] == ["a"]
        await post(writer, SECRETS, opaque_secret("ignored", {"x": b"y"}))
        await post(writer, SECRETS, tls_secret("b", b"C2", b"K2"))
        added = await asyncio.wait_for(events.get(), 5)
        assert added.type == "ADDED" and added.object is not None and added.object["metadata"]["name"] == "b"
        await k8s.expire_watches()
        relisted = await asyncio.wait_for(events.get(), 5)
        assert relisted.type == "RELISTED"
        assert sorted(i["metadata"]["name"] for i in relisted.items) == ["a", "b"]
    finally:
        task.cancel()
        with pytest.raises(asyncio.CancelledError):
            await task


async def test_patch_merge_and_conflict(kube: KubeClient, writer: httpx.AsyncClient) -> None:
    path = "/apis/netscaler.certsync.dev/v1alpha1/namespaces/default/certificatesyncs"
    created = await post(writer, path, certificate_sync("cs", {"autoSync": True}))
    stale_rv = created["metadata"]["resourceVersion"]  # type: ignore[index]
    annotation = {"metadata": {"annotations": {keys.SYNC_REQUESTED_AT: "2026-11-27T12:00:00Z"}}}
    patched = await kube.patch_merge(keys.GROUP, keys.VERSION, keys.SYNC_PLURAL, "default", "cs", annotation)
    assert patched["metadata"]["annotations"][keys.SYNC_REQUESTED_AT] == "2026-11-27T12:00:00Z"
    assert patched["metadata"]["generation"] == 1  # an annotation is not a spec change
    locked = {"metadata": {"resourceVersion": stale_rv, "annotations": {keys.SYNC_REQUESTED_AT: "again"}}}
    with pytest.raises(Conflict):
        await kube.patch_merge(keys.GROUP, keys.VERSION, keys.SYNC_PLURAL, "default", "cs", locked)
    status = {"status": {"observedGeneration": 1}}
    after = await kube.patch_merge(
        keys.GROUP, keys.VERSION, keys.SYNC_PLURAL, "default", "cs", status, "status"
    )
    assert after["status"] == {"observedGeneration": 1}
    with pytest.raises(NotFound):
        await kube.patch_merge(keys.GROUP, keys.VERSION, keys.SYNC_PLURAL, "default", "nope", annotation)


async def test_create_event(kube: KubeClient, writer: httpx.AsyncClient) -> None:
    path = "/apis/netscaler.certsync.dev/v1alpha1/namespaces/default/certificatesyncs"
    cs = await post(writer, path, certificate_sync("cs", {}))
    await kube.create_event(cs, "Synced", "x" * 5000, type="Normal")
    await kube.create_event(cs, "Synced", "second")  # generateName: no 409 on the second
    items = (await writer.get("/api/v1/namespaces/default/events")).json()["items"]
    assert len(items) == 2
    ref = items[0]["involvedObject"]
    assert (ref["kind"], ref["name"], ref["uid"]) == ("CertificateSync", "cs", cs["metadata"]["uid"])  # type: ignore[index]
    assert len(items[0]["message"]) == 1024


async def test_errors_are_mapped_at_one_seam() -> None:
    def forbid(request: httpx.Request) -> httpx.Response:
        status = {"kind": "Status", "code": 403, "reason": "Forbidden", "message": 'secrets "x" is forbidden'}
        return httpx.Response(403, json=status)

    async with KubeClient(ClusterAccess("http://k8s.test"), transport=httpx.MockTransport(forbid)) as api:
        with pytest.raises(Forbidden, match="is forbidden") as exc:
            await api.get_secret("default", "x")
        assert exc.value.status == 403

    def proxy_page(request: httpx.Request) -> httpx.Response:
        return httpx.Response(200, text="<html>Sign in to the corporate proxy</html>")

    async with KubeClient(ClusterAccess("http://k8s.test"), transport=httpx.MockTransport(proxy_page)) as api:
        with pytest.raises(TransportError, match="not JSON"):
            await api.get_secret("default", "x")

    gone_token = ClusterAccess("http://k8s.test", token_file="/nonexistent/token")
    async with KubeClient(gone_token, transport=httpx.MockTransport(proxy_page)) as api:
        with pytest.raises(Unauthorized, match="service-account token"):
            await api.get_secret("default", "x")

    async with KubeClient(ClusterAccess("http://127.0.0.1:9"), timeout=2) as api:  # discard port: refused
        with pytest.raises(TransportError) as transport:
            await api.get_secret("default", "x")
        assert isinstance(transport.value.__cause__, httpx.TransportError)


def test_secret_digest_ignores_metadata() -> None:
    from netscaler_certsync.k8s import tls_content_digest

    a = tls_secret("a", b"C", b"K", labels={"x": "1"})
    b = tls_secret("b", b"C", b"K", labels={"y": "2"})
    assert tls_content_digest(a) == tls_content_digest(b)
    assert tls_content_digest(a) != tls_content_digest(tls_secret("a", b"C2", b"K"))
    assert base64.b64decode(a["data"]["tls.crt"]) == b"C"


async def test_bookmarks_move_the_resume_point_past_unrelated_churn(
    k8s: RealisticEmulator, kube: KubeClient, writer: httpx.AsyncClient
) -> None:
    """Churn the watch never shows still advances where it resumes (so it does not fall to 410)."""
    seen: list[WatchEvent] = []

    async def follow() -> None:
        async for event in kube.watch_secrets(
            "default", field_selector=keys.TLS_TYPE_FIELD_SELECTOR, timeout_seconds=1
        ):
            seen.append(event)

    task = asyncio.create_task(follow())
    try:
        await until(lambda: bool(seen), "the initial list")
        listed_rv = int(seen[0].resource_version)
        await post(writer, SECRETS, opaque_secret("noise", {"x": b"y"}))  # filtered out for this watch
        churn_rv = k8s.last_resource_version
        await until(lambda: any(e.type == "BOOKMARK" for e in seen), "the bookmark at the watch's timeout")
        bookmark = next(e for e in seen if e.type == "BOOKMARK")
        assert int(bookmark.resource_version) == churn_rv > listed_rv

        def resumed() -> list[str]:
            watches = [r for r in request_log(k8s) if r.is_watch and r.path == SECRETS]
            return [r.params["resourceVersion"] for r in watches]

        await until(lambda: len(resumed()) >= 2, "the resumed watch")
        assert resumed()[:2] == [str(listed_rv), str(churn_rv)]
    finally:
        task.cancel()
        with pytest.raises(asyncio.CancelledError):
            await task


async def test_a_watch_that_ends_at_once_is_not_retried_in_a_busy_loop() -> None:
    calls: list[str] = []

    def server(request: httpx.Request) -> httpx.Response:
        calls.append(request.url.params.get("watch", "list"))
        if request.url.params.get("watch"):
            return httpx.Response(200, content=b"")  # ends immediately, no events
        return httpx.Response(
            200, json={"kind": "SecretList", "metadata": {"resourceVersion": "7"}, "items": []}
        )

    async with KubeClient(ClusterAccess("http://k8s.test"), transport=httpx.MockTransport(server)) as api:

        async def follow() -> None:
            async for _ in api.watch_secrets(None):
                pass

        task = asyncio.create_task(follow())
        await asyncio.sleep(0.5)
        task.cancel()
        with pytest.raises(asyncio.CancelledError):
            await task
    assert calls[0] == "list" and 1 <= calls.count("true") <= 2, calls  # a busy loop makes hundreds


async def test_a_timeout_with_no_message_is_named_by_its_type_alone() -> None:
    def silent_timeout(request: httpx.Request) -> httpx.Response:
        raise httpx.ReadTimeout("", request=request)  # httpx's timeouts often carry no message

    async with KubeClient(
        ClusterAccess("http://k8s.test"), transport=httpx.MockTransport(silent_timeout)
    ) as api:
        with pytest.raises(TransportError) as exc:
            await api.get_secret("default", "x")
    assert str(exc.value) == "GET /api/v1/namespaces/default/secrets/x: ReadTimeout"


async def test_open_watches_never_hold_the_connections_requests_need(
    k8s: RealisticEmulator, writer: httpx.AsyncClient
) -> None:
    """Watches hold their connection for minutes: a status PATCH or a Secret read must not wait
    for one of them to end, however many are open (decision 218)."""
    await post(writer, SECRETS, tls_secret("a", b"C1", b"K1"))
    access = ClusterAccess(server=str(k8s.url).rstrip("/"), token="t")
    async with KubeClient(access, max_connections=2, timeout=3) as api:

        async def follow(name: str) -> None:
            async for _ in api.watch_secrets("default", field_selector=f"metadata.name={name}"):
                pass

        watches = [asyncio.create_task(follow(f"s{i}")) for i in range(6)]  # 3 times the pool
        try:
            opened = lambda: [r for r in request_log(k8s) if r.params.get("watch") == "true"]  # noqa: E731
            await until(lambda: len(opened()) == 6, "six watches open")
            assert (await asyncio.wait_for(api.get_secret("default", "a"), 5))["metadata"]["name"] == "a"
            listed = await asyncio.wait_for(
                api.list_secrets("default", None, keys.TLS_TYPE_FIELD_SELECTOR), 5
            )
            assert [s["metadata"]["name"] for s in listed.items] == ["a"]
            assert all(not w.done() for w in watches), "the watches are still open"
        finally:
            for w in watches:
                w.cancel()
            await asyncio.gather(*watches, return_exceptions=True)
