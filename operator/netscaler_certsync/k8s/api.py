"""A small async Kubernetes API client on httpx: the few calls the operator makes outside kopf.

kopf lists and watches only our two kinds. Secrets are read through this client instead, with
server-side selectors, so that unrelated Secrets never reach the process (see `secret_watch`).

* `get_secret`, `list_secrets`, `get_configmap` return the API's JSON as plain dicts;
* `watch_secrets` (`watch_core` for another core kind: the ConfigMaps of CA bundles) is an
  endless async iterator of `WatchEvent`: it lists first (one `RELISTED` event with the complete
  set), follows the watch, resumes after server timeouts from the last resourceVersion
  (BOOKMARKs move it forward without an object), and on `410 Gone` lists again (another
  `RELISTED`). Transport errors propagate: the caller owns the backoff policy;
* `patch_merge` (JSON merge patch, e.g. annotations or status) and `create_event`;
* `get_object`, `create_object`, `replace_object` (PUT with a resourceVersion precondition):
  what the Lease elector (`lease`) needs.

Every failure is mapped at one seam, `_request`/`_stream`, to the tree in `errors`.
`stats` counts requests, bytes and objects received, so tests and benchmarks can prove
what did *not* cross the wire.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import ssl
from collections.abc import AsyncIterator, Iterator, Mapping
from dataclasses import dataclass, field
from typing import Any, Literal

import httpx

from netscaler_certsync.http_transport import StreamTransport
from netscaler_certsync.k8s.access import ClusterAccess
from netscaler_certsync.k8s.errors import KubernetesError, TransportError, Unauthorized, error_for_status
from netscaler_certsync.timestamps import rfc3339, utc_now

__all__ = ["KubeClient", "ObjectList", "TrafficStats", "WatchEvent", "resource_path"]

EventType = Literal["ADDED", "MODIFIED", "DELETED", "BOOKMARK", "RELISTED"]
MERGE_PATCH = "application/merge-patch+json"
EVENT_MESSAGE_LIMIT = 1024  # the API server rejects longer Event messages


def resource_path(
    group: str,
    version: str,
    plural: str,
    namespace: str | None = None,
    name: str | None = None,
    subresource: str | None = None,
) -> str:
    """`/api/v1/...` for the core group, `/apis/<group>/<version>/...` otherwise."""
    path = f"/apis/{group}/{version}" if group else f"/api/{version}"
    if namespace is not None:
        path += f"/namespaces/{namespace}"
    path += f"/{plural}"
    if name is not None:
        path += f"/{name}"
    if subresource is not None:
        path += f"/{subresource}"
    return path


@dataclass
class TrafficStats:
    """What this client received, for tests and benchmarks (bytes as downloaded)."""

    requests: int = 0
    bytes_received: int = 0
    objects_received: int = 0  # whole objects
    metadata_received: int = 0  # objects' metadata only (PartialObjectMetadata in a relist)


#: Accept header of a list of metadata only (PartialObjectMetadataList, Kubernetes >= 1.15): a
#: server that does not know it answers the full list, which `ObjectList.partial` tells apart.
METADATA_ONLY = "application/json;as=PartialObjectMetadataList;g=meta.k8s.io;v=v1,application/json"


@dataclass(frozen=True)
class ObjectList:
    items: list[dict[str, Any]]
    resource_version: str
    partial: bool = False  # items are PartialObjectMetadata: metadata only


@dataclass(frozen=True)
class WatchEvent:
    """One change; `resource_version` is where to resume after it."""

    type: EventType
    resource_version: str
    object: Mapping[str, Any] | None = None
    items: tuple[Mapping[str, Any], ...] = field(default=(), repr=False)  # RELISTED only
    partial: bool = False  # RELISTED with metadata only (`watch_core(relist_metadata=True)`)


def _selectors(label_selector: str | None, field_selector: str | None) -> dict[str, str]:
    params: dict[str, str] = {}
    if label_selector:
        params["labelSelector"] = label_selector
    if field_selector:
        params["fieldSelector"] = field_selector
    return params


class _Auth(httpx.Auth):
    """Bearer token read per request (a rotated service-account token is picked up)."""

    def __init__(self, access: ClusterAccess) -> None:
        self._access = access

    def auth_flow(self, request: httpx.Request) -> Iterator[httpx.Request]:
        try:
            token = self._access.bearer_token()
        except OSError as e:  # e.g. the projected token volume is being rotated or is gone
            raise Unauthorized(f"cannot read the service-account token: {e}") from e
        if token:
            request.headers["Authorization"] = f"Bearer {token}"
        yield request


class KubeClient:
    """Authenticated connections to one API server. Use as `async with KubeClient(...)`.

    Two pools: requests (reads, lists, writes) share `max_connections`; each watch holds a
    connection for minutes, so watches have a pool of their own (`watch_connections`, None:
    unbounded; the callers bound how many watches they open, decision 218). However many
    watches are open, a status PATCH or a Secret read never waits for one of them to end.
    """

    def __init__(
        self,
        access: ClusterAccess,
        *,
        transport: httpx.AsyncBaseTransport | None = None,
        timeout: float = 30.0,
        max_connections: int = 100,
        watch_connections: int | None = None,
    ) -> None:
        self.access = access
        self.stats = TrafficStats()
        self._timeout = timeout
        self._transport = transport
        self._verify = access.ssl_context()  # once: both pools trust the same server
        self._watch_limits = httpx.Limits(
            max_connections=watch_connections, max_keepalive_connections=watch_connections
        )
        # Requests read whole replies: the lean transport (http_transport.py); watches stream.
        context = self._verify if isinstance(self._verify, ssl.SSLContext) else None
        lean = StreamTransport(context, max_idle=max_connections, max_connections=max_connections)
        self._http = self._pool(httpx.Limits(max_connections=max_connections), transport or lean)
        self._watch_http: httpx.AsyncClient | None = None  # opened by the first watch

    def _pool(self, limits: httpx.Limits, transport: httpx.AsyncBaseTransport | None) -> httpx.AsyncClient:
        return httpx.AsyncClient(
            base_url=self.access.server,
            verify=self._verify,
            auth=_Auth(self.access),
            transport=transport,
            timeout=self._timeout,
            limits=limits,
            headers={"Accept": "application/json", "User-Agent": "netscaler-certsync"},
        )

    async def __aenter__(self) -> KubeClient:
        return self

    async def __aexit__(self, *_: object) -> None:
        await self.aclose()

    async def aclose(self) -> None:
        await self._http.aclose()
        if self._watch_http is not None:
            await self._watch_http.aclose()

    # ------------------------------------------------------------------ the one seam
    @contextlib.contextmanager
    def _transport_errors(self, method: str, path: str) -> Iterator[None]:
        try:
            yield
        except httpx.TransportError as e:  # connect, read, TLS, timeouts, protocol
            detail = f"{type(e).__name__}: {e}" if str(e) else type(e).__name__  # httpx timeouts say nothing
            raise TransportError(f"{method} {path}: {detail}") from e

    @staticmethod
    def _status_error(response: httpx.Response) -> KubernetesError:
        try:
            body = response.json()
        except ValueError:
            body = None
        return error_for_status(
            response.status_code, body if isinstance(body, dict) else None, response.text[:200]
        )

    async def _request(
        self,
        method: str,
        path: str,
        *,
        params: Mapping[str, str] | None = None,
        body: Any = None,
        content_type: str = "application/json",
        accept: str | None = None,
    ) -> dict[str, Any]:
        content = json.dumps(body).encode() if body is not None else None
        headers = {"Content-Type": content_type} if content is not None else {}
        if accept is not None:
            headers["Accept"] = accept
        with self._transport_errors(method, path):
            response = await self._http.request(method, path, params=params, content=content, headers=headers)
        self.stats.requests += 1
        self.stats.bytes_received += response.num_bytes_downloaded
        if response.status_code >= 400:
            raise self._status_error(response)
        try:
            data: dict[str, Any] = response.json()
        except ValueError as e:  # a proxy's HTML page, a truncated body
            raise TransportError(f"{method} {path}: the answer is not JSON: {response.text[:100]!r}") from e
        return data

    async def _stream(
        self, path: str, params: Mapping[str, str], timeout_seconds: int
    ) -> AsyncIterator[dict[str, Any]]:
        """One watch request: raw events until the server ends it; an ERROR event is raised."""
        # The server ends the stream after timeoutSeconds; a read timeout a bit later catches a
        # connection that went silent without closing (so the caller reconnects).
        timeout = httpx.Timeout(self._timeout, read=timeout_seconds + 30)
        if self._watch_http is None:
            self._watch_http = self._pool(self._watch_limits, self._transport)
        with self._transport_errors("WATCH", path):
            async with self._watch_http.stream("GET", path, params=params, timeout=timeout) as response:
                self.stats.requests += 1
                if response.status_code >= 400:
                    await response.aread()
                    self.stats.bytes_received += response.num_bytes_downloaded
                    raise self._status_error(response)
                counted = 0
                async for line in response.aiter_lines():
                    self.stats.bytes_received += response.num_bytes_downloaded - counted
                    counted = response.num_bytes_downloaded
                    if not line.strip():
                        continue
                    try:
                        event = json.loads(line)
                    except ValueError as e:
                        raise TransportError(f"WATCH {path}: not a JSON event: {line[:100]!r}") from e
                    if event.get("type") == "ERROR":
                        status = event.get("object") or {}
                        raise error_for_status(int(status.get("code") or 500), status)
                    yield event

    # ------------------------------------------------------------------ cluster identity
    async def namespace_uid(self, name: str) -> str:
        """The UID of Namespace `name` (kube-system's identifies the cluster); `NotFound` if absent."""
        namespace = await self._request("GET", resource_path("", "v1", "namespaces", None, name))
        self.stats.objects_received += 1
        return str(namespace["metadata"]["uid"])

    # ------------------------------------------------------------------ Secrets
    async def get_secret(self, namespace: str, name: str) -> dict[str, Any]:
        """The Secret as the API returns it; `NotFound` when it does not exist."""
        return await self.get_core("secrets", namespace, name)

    async def list_secrets(
        self, namespace: str | None, label_selector: str | None = None, field_selector: str | None = None
    ) -> ObjectList:
        """Secrets in `namespace` (None: all namespaces) that match both selectors, on the server."""
        return await self.list_core("secrets", namespace, label_selector, field_selector)

    def watch_secrets(
        self,
        namespace: str | None,
        label_selector: str | None = None,
        field_selector: str | None = None,
        resource_version: str | None = None,
        timeout_seconds: int = 300,
    ) -> AsyncIterator[WatchEvent]:
        """Follow Secrets forever (see the module docstring); cancel the consumer to stop."""
        return self.watch_core(
            "secrets", namespace, label_selector, field_selector, resource_version, timeout_seconds
        )

    # ------------------------------------------------------------------ ConfigMaps
    async def get_configmap(self, namespace: str, name: str) -> dict[str, Any]:
        """The ConfigMap as the API returns it (a CA bundle); `NotFound` when it does not exist."""
        return await self.get_core("configmaps", namespace, name)

    # ------------------------------------------------------------------ core kinds, by plural
    async def get_core(self, plural: str, namespace: str, name: str) -> dict[str, Any]:
        """One object of a core kind (`secrets`, `configmaps`); `NotFound` when it does not exist."""
        found = await self._request("GET", resource_path("", "v1", plural, namespace, name))
        self.stats.objects_received += 1
        return found

    async def list_core(
        self,
        plural: str,
        namespace: str | None,
        label_selector: str | None = None,
        field_selector: str | None = None,
        *,
        metadata_only: bool = False,
    ) -> ObjectList:
        """Objects of a core kind (`secrets`, `configmaps`) matching both selectors, on the server.

        `metadata_only`: ask for their metadata only (a tenth of a TLS Secret's bytes); `partial`
        on the answer says whether the server did."""
        path = resource_path("", "v1", plural, namespace)
        params = _selectors(label_selector, field_selector)
        data = await self._request(
            "GET", path, params=params, accept=METADATA_ONLY if metadata_only else None
        )
        items = list(data.get("items") or [])
        partial = data.get("kind") == "PartialObjectMetadataList"
        if partial:
            self.stats.metadata_received += len(items)
        else:
            self.stats.objects_received += len(items)
        rv = str((data.get("metadata") or {}).get("resourceVersion") or "")
        return ObjectList(items, rv, partial=partial)

    async def watch_core(
        self,
        plural: str,
        namespace: str | None,
        label_selector: str | None = None,
        field_selector: str | None = None,
        resource_version: str | None = None,
        timeout_seconds: int = 300,
        *,
        relist_metadata: bool = False,
    ) -> AsyncIterator[WatchEvent]:
        """Follow objects of a core kind forever (see the module docstring); cancel to stop.

        `relist_metadata`: the lists after a 410 ask for metadata only (the first list is whole);
        the caller reads the few objects whose resourceVersion it does not know."""
        path = resource_path("", "v1", plural, namespace)
        selectors = _selectors(label_selector, field_selector)
        rv = resource_version
        relisting = False
        while True:
            if not rv:
                listed = await self.list_core(
                    plural,
                    namespace,
                    label_selector,
                    field_selector,
                    metadata_only=relisting and relist_metadata,
                )
                rv = listed.resource_version
                yield WatchEvent("RELISTED", rv, items=tuple(listed.items), partial=listed.partial)
            params = {
                **selectors,
                "watch": "true",
                "allowWatchBookmarks": "true",
                "resourceVersion": rv,
                "timeoutSeconds": str(timeout_seconds),
            }
            started, received = asyncio.get_running_loop().time(), 0
            try:
                async with contextlib.aclosing(self._stream(path, params, timeout_seconds)) as stream:
                    async for raw in stream:
                        received += 1
                        obj = raw.get("object") or {}
                        rv = str((obj.get("metadata") or {}).get("resourceVersion") or rv)
                        kind = raw.get("type")
                        if kind == "BOOKMARK":
                            yield WatchEvent("BOOKMARK", rv)
                        elif kind in ("ADDED", "MODIFIED", "DELETED"):
                            self.stats.objects_received += 1
                            yield WatchEvent(kind, rv, obj)
            except KubernetesError as e:
                if e.status != 410:
                    raise
                rv, relisting = None, True  # too old: the history is gone, list again
                continue
            if not received and asyncio.get_running_loop().time() - started < 1:
                # The server ended the watch at once without a word (a misbehaving proxy?):
                # do not turn that into a busy loop of requests.
                await asyncio.sleep(1)

    # ------------------------------------------------------------------ any object by name
    async def get_object(
        self, group: str, version: str, plural: str, namespace: str | None, name: str
    ) -> dict[str, Any]:
        """One object as the API returns it; `NotFound` when it does not exist."""
        return await self._request("GET", resource_path(group, version, plural, namespace, name))

    async def list_objects(
        self, group: str, version: str, plural: str, namespace: str | None
    ) -> list[dict[str, Any]]:
        """Every object of a kind in `namespace` (None: all namespaces)."""
        data = await self._request("GET", resource_path(group, version, plural, namespace))
        items = list(data.get("items") or [])
        self.stats.objects_received += len(items)
        return items

    async def create_object(
        self, group: str, version: str, plural: str, namespace: str | None, body: Mapping[str, Any]
    ) -> dict[str, Any]:
        """POST a new object; `Conflict` when one of that name exists already."""
        return await self._request("POST", resource_path(group, version, plural, namespace), body=body)

    async def replace_object(
        self, group: str, version: str, plural: str, namespace: str | None, name: str, body: Mapping[str, Any]
    ) -> dict[str, Any]:
        """PUT the whole object; with metadata.resourceVersion set, `Conflict` when it changed since."""
        return await self._request("PUT", resource_path(group, version, plural, namespace, name), body=body)

    # ------------------------------------------------------------------ writes
    async def patch_merge(
        self,
        group: str,
        version: str,
        plural: str,
        namespace: str | None,
        name: str,
        body: Mapping[str, Any],
        subresource: str | None = None,
    ) -> dict[str, Any]:
        """A JSON merge patch (`None` deletes a key); include metadata.resourceVersion to lock."""
        path = resource_path(group, version, plural, namespace, name, subresource)
        return await self._request("PATCH", path, body=body, content_type=MERGE_PATCH)

    async def create_event(
        self,
        involved_object: Mapping[str, Any],
        reason: str,
        message: str,
        type: Literal["Normal", "Warning"] = "Normal",
        component: str = "netscaler-certsync",
    ) -> dict[str, Any]:
        """A core/v1 Event about `involved_object` (a full object or its apiVersion/kind/metadata)."""
        md = involved_object.get("metadata") or {}
        namespace = md.get("namespace") or self.access.namespace
        now = rfc3339(utc_now())
        ref = {
            "apiVersion": involved_object.get("apiVersion"),
            "kind": involved_object.get("kind"),
            "name": md.get("name"),
            "namespace": namespace,
            "uid": md.get("uid"),
            "resourceVersion": md.get("resourceVersion"),
        }
        event = {
            "apiVersion": "v1",
            "kind": "Event",
            "metadata": {"generateName": f"{md.get('name') or 'object'}.", "namespace": namespace},
            "involvedObject": {k: v for k, v in ref.items() if v is not None},
            "reason": reason,
            "message": message[:EVENT_MESSAGE_LIMIT],
            "type": type,
            "source": {"component": component},
            "reportingComponent": component,
            "firstTimestamp": now,
            "lastTimestamp": now,
            "count": 1,
        }
        return await self._request("POST", resource_path("", "v1", "events", namespace), body=event)
