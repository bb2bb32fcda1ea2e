"""A Kubernetes API emulator realistic enough for kopf, the kubernetes client, kubectl and our k8s/.

`RealisticEmulator` subclasses kmock 0.8's `KubernetesEmulator` (pinned exactly: this touches
kmock internals) and adds what a real kube-apiserver does and vanilla kmock does not
(the gap table of the k8s-emulation feasibility report, plus a watch cache and namespaces):

* writes: uid, creationTimestamp, resourceVersion on every write, generation for non-core
  groups (bumped only when something outside metadata/status changes), namespace from the URL,
  generateName, Secret stringData folding and type rules, 201 on create, PUT (replace),
  resourceVersion preconditions (409), failed JSON-patch `test` (422), no-op patches that emit
  nothing, the status subresource kept apart from the main object, `?dryRun` not persisted,
  server-side apply approximated as create-if-absent-else-merge, protobuf bodies of Secrets,
  ConfigMaps and Namespaces decoded (`k8s_protobuf`; other kinds 415);
* errors: a `Status` whose message never contains the request body (it may carry a private
  key), and no traceback;
* kubectl: OpenAPI v3 discovery for field validation, CRDs `Established` once created (and
  served), server-side `Table`s with a CRD's printer columns (`k8s_kubectl`);
* reads: label and field selectors on list and watch, list `kind`/`apiVersion`/`resourceVersion`,
  `limit`/`continue` paging, metadata-only lists; a list reads only its resource's objects
  (`k8s_store`) and a list by `metadata.name` is a lookup, as a real server's cost does not
  grow with every other object stored;
* watch: JSON content type, no lost events between snapshot and stream, resume from a
  resourceVersion out of a bounded history (`HistoryBus`), in-stream 410 Gone for a compacted
  version or on `expire_watches()`, selector transitions (an object leaving the selector is
  DELETED for that watcher), `timeoutSeconds` (with a final BOOKMARK when bookmarks are allowed),
  `sendInitialEvents` (WatchList) with the `initial-events-end` BOOKMARK;
* discovery: `/version`, `groupVersion: v1` for the core group;
* `v1/namespaces` as cluster-scoped objects (`k8s_namespaces`; kopf `-n NS` scans them).

Parts: `k8s_writes` (writes), `k8s_watching` (list/watch), `k8s_history` (watch cache),
`k8s_store` (objects filed by resource), `k8s_selectors`, `k8s_objects` (object rules),
`k8s_namespaces`, `k8s_matching` (fast kmock reaction matching); `k8s_thread` runs it.

Not emulated: schema validation/defaulting/pruning (`fieldValidation` is accepted and ignored),
strategic-merge list semantics, field managers, RBAC, admission, ownerReference GC, namespace
lifecycle (objects may be created in a namespace that does not exist; deleting a namespace deletes
nothing else), periodic bookmarks.
"""

from __future__ import annotations

import collections
import copy
import json
from typing import Any

import aiohttp.web
import attrs
from kmock._internal import aiobus, boxes, dsl, enums, k8s, references, rendering

from .k8s_history import Change, HistoryBus
from .k8s_kubectl import CRDS, openapi_group_version, openapi_root, table, wants_table
from .k8s_matching import FastMatchingHandler
from .k8s_namespaces import parse_namespace_request
from .k8s_objects import bad_request, unsupported_media_type
from .k8s_protobuf import ProtobufError, decode_object
from .k8s_selectors import SelectorError, match_fields, match_labels
from .k8s_store import IndexedObjects
from .k8s_watching import ReadsMixin
from .k8s_writes import WritesMixin

__all__ = ["RealisticEmulator"]


@attrs.define(kw_only=True)
class RealisticEmulator(ReadsMixin, WritesMixin, k8s.KubernetesEmulator, FastMatchingHandler):
    """kmock's emulator with the API-server behaviour our tests rely on (see module docstring)."""

    history_limit: int = 1000  # events kept per resource for watch resumption
    _last_rv: int = attrs.field(default=1000, init=False)
    _pages: dict[str, tuple[int, list[Any]]] = attrs.field(factory=dict, init=False)
    _encoded: dict[tuple[Any, ...], tuple[str, bytes]] = attrs.field(factory=dict, init=False)

    def __attrs_post_init__(self) -> None:
        super().__attrs_post_init__()
        self._objects = IndexedObjects()  # before anything is stored: lists read one resource
        self._buses = collections.defaultdict(lambda: HistoryBus(stamp=self._bump, limit=self.history_limit))
        self.fallback["get /version/"] << self._serve_server_version
        # client-go refuses watch streams typed application/octet-stream (kmock's default), so
        # amend kmock's own fallback watch reaction in place to say JSON; lists are JSON put
        # together from their items' encodings (bytes to kmock), so the same for them.
        for payload in list(self._payloads):
            if isinstance(payload, dsl.Reaction) and payload.response.payload in (
                self._serve_watch,
                self._serve_list,
            ):
                payload << boxes.headers({"Content-Type": "application/json"})

    # ------------------------------------------------------------------ public test helpers
    @property
    def last_resource_version(self) -> int:
        return self._last_rv

    def bus(self, resource: references.resource) -> HistoryBus:
        return self._buses[resource]

    def _create_request(self, obj: dict[str, Any]) -> rendering.Request:
        md = obj.get("metadata") or {}
        request = rendering.Request(
            method="POST",
            action=enums.action.CREATE,
            resource=self._resource_of(obj),
            namespace=md.get("namespace"),
            data=copy.deepcopy(obj),
        )
        self._prepare_create(request)
        return request

    def seed(self, obj: dict[str, Any]) -> dict[str, Any]:
        """Store `obj` before any client connects (no watch event), e.g. the standard namespaces."""
        request = self._create_request(obj)
        md = request.data["metadata"]
        self._objects[request.resource, md.get("namespace"), md["name"]] = request.data
        return dict(request.data)

    async def create_object(self, obj: dict[str, Any]) -> dict[str, Any]:
        """Create `obj` as a POST would (stamps, checks, watch event), without HTTP: bulk test data.

        The resource comes from the object's apiVersion and kind (declared resources only).
        """
        request = self._create_request(obj)
        data: dict[str, Any] = request.data
        key = (request.resource, data["metadata"].get("namespace"), data["metadata"]["name"])
        async with self._lock:
            if key in self._objects and not self._objects[key].deleted:
                raise k8s.KubernetesObjectConflictError()
            if key in self._objects:
                self._objects[key].create(data)
            else:
                self._objects[key] = data
            raw: dict[str, Any] = self._objects[key].raw
            await self._buses[request.resource].put({"type": "ADDED", "object": raw})
        return raw

    def _resource_of(self, obj: dict[str, Any]) -> references.resource:
        group, _, version = str(obj.get("apiVersion", "")).rpartition("/")
        for res in self._resources:
            if (res.group, res.version, self._resources[res].kind) == (group, version, obj.get("kind")):
                return res
        raise LookupError(f"no declared resource for {obj.get('apiVersion')} {obj.get('kind')}")

    async def expire_watches(self, resource: references.resource | None = None) -> None:
        """Compact the watch history: open watches end with 410, resuming from old RVs gets 410."""
        async with self._lock:
            for res in [resource] if resource is not None else list(self._buses):
                await self._buses[res].expire()

    def changes_of(self, obj: dict[str, Any]) -> list[Change]:
        """The watch history of the object `obj` names (apiVersion, kind, namespace, name), oldest first."""
        md = obj.get("metadata") or {}
        key = (md.get("namespace"), md.get("name"))
        return [
            c
            for c in self._buses[self._resource_of(obj)].replay(0)
            if ((c.obj.get("metadata") or {}).get("namespace"), c.obj["metadata"].get("name")) == key
        ]

    async def deliver_late(self, change: Change) -> None:
        """Send an old `change` again to the open watches only, as a stream that lags behind the
        store would deliver it: a watcher sees a version older than the one it last saw."""
        await aiobus.Bus.put(self._buses[self._resource_of(change.obj)], change)

    # ------------------------------------------------------------------ discovery
    async def _serve_server_version(self, request: rendering.Request) -> rendering.Payload:
        return {
            "major": "1",
            "minor": "35",
            "gitVersion": "v1.35.0-kmock",
            "gitCommit": "0" * 40,
            "gitTreeState": "clean",
            "buildDate": "2026-01-01T00:00:00Z",
            "goVersion": "go1.25",
            "compiler": "gc",
            "platform": "linux/amd64",
        }

    async def _serve_version(self, request: rendering.Request) -> rendering.Payload:
        result = await super()._serve_version(request)
        if isinstance(result, dict) and str(result.get("groupVersion", "")).startswith("/"):
            result["groupVersion"] = result["groupVersion"][1:]  # kubectl can't see "/v1" types
        for entry in result.get("resources", []) if isinstance(result, dict) else []:
            if "/" in entry["name"]:
                # kmock copies short names and categories onto subresources; then kubectl resolves
                # `get netscaler` to "x/status" too and fails. A real server lists none there.
                entry.update(shortNames=[], categories=[], verbs=["get", "patch", "update"])
        return result

    # ------------------------------------------------------------------ dispatch
    async def __call__(self, raw_request: aiohttp.web.BaseRequest) -> aiohttp.web.StreamResponse:
        try:
            return await self._dispatch(raw_request)
        except Exception as e:  # aiohttp would answer with a traceback that may quote the body
            return await self._render_error(e)

    async def _dispatch(self, raw_request: aiohttp.web.BaseRequest) -> aiohttp.web.StreamResponse:
        if raw_request.path.startswith("/openapi/v3"):
            return aiohttp.web.json_response(self._openapi(raw_request.path))
        try:
            raw_request = await self._json_from_protobuf(raw_request)
        except ProtobufError as e:
            return await self._render_error(unsupported_media_type(str(e)))
        request = await parse_namespace_request(raw_request, len(self._requests))
        if request is None:
            return await super().__call__(raw_request)
        self._requests.append(request)  # the request log shows namespace requests like any other
        try:
            return await self._handle(request)
        except rendering.StreamingError as e:  # the stream has started: nothing more to say
            return e.args[0]  # type: ignore[no-any-return]
        except Exception as e:  # as kmock does: the client gets the error as a Status
            return await self._render_error(e)

    async def _json_from_protobuf(self, raw: aiohttp.web.BaseRequest) -> aiohttp.web.BaseRequest:
        """kubectl's protobuf writes as the JSON request they stand for (see `k8s_protobuf`)."""
        if "protobuf" not in raw.headers.get("Content-Type", "") or raw.method not in ("POST", "PUT"):
            return raw
        clone = raw.clone(headers={**raw.headers, "Content-Type": "application/json"})  # before reading
        obj = decode_object(await clone.read())
        clone._read_bytes = json.dumps(obj).encode()  # aiohttp's read() cache: the body kmock parses
        return clone

    def _openapi(self, path: str) -> dict[str, Any]:
        declared = [(r, self._resources[r]) for r in self._resources if r.plural and "/" not in r.plural]
        if path.rstrip("/") == "/openapi/v3":
            return openapi_root({(r.group, r.version) for r, _ in declared})
        wanted = path.removeprefix("/openapi/v3/").strip("/")
        return openapi_group_version(
            [
                (r.group, r.version, r.plural, info.kind, bool(info.namespaced))
                for r, info in declared
                if (f"apis/{r.group}/{r.version}" if r.group else f"api/{r.version}") == wanted
            ]
        )

    async def _render_error(self, exc: Exception) -> aiohttp.web.StreamResponse:
        """A `Status` as a real server sends it: never the request body, never a traceback.

        kmock puts `repr(exc)` and a traceback in the answer; for a body it could not parse that
        repr contains the body, which for a Secret is its private key.
        """
        if isinstance(exc, k8s.KubernetesError):
            code, reason, message = exc.status, exc.reason or type(exc).__name__, exc.message or ""
        else:
            code, reason = 500, "InternalError"
            message = f"the Kubernetes API emulator failed on this request ({type(exc).__name__})"
        status = {"apiVersion": "v1", "kind": "Status", "metadata": {}, "status": "Failure"}
        body = {**status, "code": code, "reason": reason, "message": message}
        return aiohttp.web.json_response(body, status=code)

    async def _handle(self, request: rendering.Request) -> aiohttp.web.StreamResponse:
        if request.resource is None or request.resource.plural is None:
            return await super()._handle(request)
        if request.method != enums.method.GET:
            rejection = self.rejecting_reaction(request)  # NB: a kmock view's truth is "has requests"
            if rejection is not None:
                return await rejection(request)  # an injected failure: the write must not happen
        try:
            if request.action in (enums.action.LIST, enums.action.FETCH) and wants_table(
                request.headers.get("Accept", "")
            ):
                return await self._table(request)
            return await self._handle_resource(request)
        except k8s.KubernetesError as e:  # an ordinary API answer, not a kmock error to escalate
            return await self._render_error(e)

    async def _handle_resource(self, request: rendering.Request) -> aiohttp.web.StreamResponse:
        content_type = request.headers.get("Content-Type", "")
        if "protobuf" in content_type:  # kubectl's imperative `create secret` sends protobuf
            raise unsupported_media_type("protobuf is not supported by the emulator; send JSON")
        if request.action in (enums.action.LIST, enums.action.WATCH):
            try:  # parse once up front: a bad selector is a 400, not an error mid-stream
                match_labels(request.params.get("labelSelector"), {})
                match_fields(request.params.get("fieldSelector"), {})
            except SelectorError as e:
                raise bad_request(str(e)) from e
        if request.action == enums.action.UPDATE and "apply-patch" in content_type:
            response = await self._server_side_apply(request)
            if response is not None:
                return response
        if request.action == enums.action.CREATE and isinstance(request.data, dict):
            self._prepare_create(request)
            if request.params.get("dryRun"):
                return aiohttp.web.json_response(request.data, status=201)
        elif request.action == enums.action.UPDATE and request.name and request.data is not None:
            response = await self._patch(request)
            # Stored already: skip kmock's own (racy, unlocked-read) patching, serve the answer.
            return response if response is not None else await FastMatchingHandler._handle(self, request)
        elif request.action == enums.action.DELETE and request.name:
            response = await self._mark_deleted(request)
            if response is not None:
                return response
        elif request.method == enums.method.PUT and request.name:
            return await self._replace(request)
        return await super()._handle(request)

    async def _table(self, request: rendering.Request) -> aiohttp.web.StreamResponse:
        """`kubectl get`'s Table: the JSON answer, rendered with the CRD's printer columns."""
        response = await self._handle_resource(request)
        if not isinstance(response, aiohttp.web.Response) or response.status != 200 or response.body is None:
            return response
        answer = json.loads(bytes(response.body))  # type: ignore[arg-type]
        items = answer.get("items", []) if request.action == enums.action.LIST else [answer]
        rv = str((answer.get("metadata") or {}).get("resourceVersion", self._last_rv))
        return aiohttp.web.json_response(table(items, self._printer_columns(request.resource), rv))

    def _printer_columns(self, res: references.resource) -> list[dict[str, Any]] | None:
        key = (CRDS, None, f"{res.plural}.{res.group}")
        if not res.group or key not in self._objects or self._objects[key].deleted:
            return None
        for version in (self._objects[key].raw.get("spec") or {}).get("versions") or []:
            if version.get("name") == res.version:
                return version.get("additionalPrinterColumns") or None
        return None

    def _get_resources(self) -> list[references.resource]:
        # kmock's own walks every stored key (on each discovery request and each list): the
        # declared and reacted-to resources plus those objects are stored under, from the index.
        declared = k8s.KubernetesScaffold._get_resources(self)
        return list({*declared, *self._objects.resources()})

    # kmock finds the object for these answers by scanning every stored object (O(n) per request);
    # the address is known, so look it up directly.
    def _stored(self, request: rendering.Request, namespace: str | None, name: str | None) -> Any:
        key = (request.resource, namespace, name)
        if key not in self._objects:
            raise k8s.KubernetesObjectNotFoundError()
        return self._objects[key]

    async def _serve_create(self, request: rendering.Request) -> rendering.Payload:
        md = request.data.get("metadata") or {}
        obj = self._stored(request, request.namespace or md.get("namespace"), md.get("name"))
        return rendering.Response(status=201, payload=obj.raw)

    async def _serve_fetch(self, request: rendering.Request) -> rendering.Payload:
        obj = self._stored(request, request.namespace, request.name)
        if obj.deleted:
            raise k8s.KubernetesObjectNotFoundError()
        return obj.raw

    async def _serve_update(self, request: rendering.Request) -> rendering.Payload:
        return self._stored(request, request.namespace, request.name).last.raw

    async def _serve_delete(self, request: rendering.Request) -> rendering.Payload:
        return self._stored(request, request.namespace, request.name).last.raw
