"""A Kubernetes API emulator realistic enough for kopf, the kubernetes client, kubectl and our k8s/.

`RealisticEmulator` subclasses kmock 0.8's `KubernetesEmulator` (pinned exactly: this touches
kmock internals) and adds what a real kube-apiserver does and vanilla kmock does not
(see docs in /work/shared/reference/k8s-emulation.md, "gaps"):

* writes: uid, creationTimestamp, resourceVersion on every write, generation for non-core
  groups (bumped only when something outside metadata/status changes), namespace from the URL,
  generateName, Secret stringData folding and type rules, 201 on create, PUT (replace),
  resourceVersion preconditions (409), failed JSON-patch `test` (422), no-op patches that emit
  nothing, the status subresource kept apart from the main object, `?dryRun` not persisted,
  server-side apply approximated as create-if-absent-else-merge, protobuf bodies refused (415);
* reads: label and field selectors on list and watch, list `kind`/`apiVersion`/`resourceVersion`;
* watch: JSON content type, no lost events between snapshot and stream, resume from a
  resourceVersion out of a bounded history (`HistoryBus`), in-stream 410 Gone for a compacted
  version or on `expire_watches()`, selector transitions (an object leaving the selector is
  DELETED for that watcher), `timeoutSeconds` (with a final BOOKMARK when bookmarks are allowed),
  `sendInitialEvents` (WatchList) with the `initial-events-end` BOOKMARK;
* discovery: `/version`, `groupVersion: v1` for the core group;
* `v1/namespaces` as cluster-scoped objects (`k8s_namespaces`; kopf `-n NS` scans them).

Not emulated: schema validation/defaulting/pruning, strategic-merge list semantics, field
managers, RBAC, admission, ownerReference GC, namespace lifecycle (objects may be created in a
namespace that does not exist; deleting a namespace deletes nothing else), `limit`/`continue`
paging, periodic bookmarks.
"""

from __future__ import annotations

import asyncio
import collections
import copy
import random
import string
import uuid
from collections.abc import AsyncIterator
from typing import Any

import aiohttp.web
import attrs
import jsonpatch
import jsonpointer
from kmock._internal import boxes, dicts, dsl, enums, k8s, references, rendering

from .k8s_history import Change, Expired, HistoryBus, gone_status
from .k8s_matching import FastMatchingHandler
from .k8s_namespaces import NAMESPACES, parse_namespace_request
from .k8s_objects import (
    SERVER_MANAGED,
    bad_request,
    essence,
    fold_string_data,
    invalid,
    now,
    stale_conflict,
    unsupported_media_type,
    validate_secret,
)
from .k8s_selectors import SelectorError, match_fields, match_labels

__all__ = ["RealisticEmulator"]

KubernetesError = k8s.KubernetesError
SECRETS = references.resource("", "v1", "secrets")


def _is_secret(request: rendering.Request) -> bool:
    return request.resource == SECRETS


def _in_status(path: str) -> bool:
    return path == "/status" or path.startswith("/status/")


def _parse_rv(raw: str | None) -> int | None:
    """None means "no resume point" (absent, empty or "0": start from the current state)."""
    if not raw or raw == "0":
        return None
    if not raw.isdigit():
        raise bad_request(f"invalid resourceVersion {raw!r}")
    return int(raw)


@attrs.define(kw_only=True)
class RealisticEmulator(k8s.KubernetesEmulator, FastMatchingHandler):
    """kmock's emulator with the API-server behaviour our tests rely on (see module docstring)."""

    history_limit: int = 1000  # events kept per resource for watch resumption
    _last_rv: int = attrs.field(default=1000, init=False)

    def __attrs_post_init__(self) -> None:
        super().__attrs_post_init__()
        self._buses = collections.defaultdict(lambda: HistoryBus(stamp=self._bump, limit=self.history_limit))
        self.fallback["get /version/"] << self._serve_server_version
        # client-go refuses watch streams typed application/octet-stream (kmock's default), so
        # amend kmock's own fallback watch reaction in place to say JSON.
        for payload in list(self._payloads):
            if isinstance(payload, dsl.Reaction) and payload.response.payload == self._serve_watch:
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

    # ------------------------------------------------------------------ discovery
    def _bump(self) -> int:
        self._last_rv += 1
        return self._last_rv

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

    def _info(self, request: rendering.Request) -> references.ResourceInfo | None:
        res = request.resource
        return self._resources[res] if res is not None and res in self._resources else None

    def _has_status(self, request: rendering.Request) -> bool:
        info = self._info(request)
        return info is not None and "status" in info.subresources

    def _kind(self, request: rendering.Request) -> str:
        info = self._info(request)
        assert request.resource is not None and request.resource.plural is not None
        return info.kind if info is not None and info.kind else request.resource.plural.capitalize()

    def _api_version(self, request: rendering.Request) -> str:
        assert request.resource is not None
        return f"{request.resource.group}/{request.resource.version}".lstrip("/")

    # ------------------------------------------------------------------ dispatch
    async def __call__(self, raw_request: aiohttp.web.BaseRequest) -> aiohttp.web.StreamResponse:
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

    async def _handle(self, request: rendering.Request) -> aiohttp.web.StreamResponse:
        if request.resource is None or request.resource.plural is None:
            return await super()._handle(request)
        if request.method != enums.method.GET:
            rejection = self.rejecting_reaction(request)  # NB: a kmock view's truth is "has requests"
            if rejection is not None:
                return await rejection(request)  # an injected failure: the write must not happen
        try:
            return await self._handle_resource(request)
        except KubernetesError as e:  # an ordinary API answer, not a kmock error to escalate
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
            response = self._prepare_patch(request)
            if response is not None:
                return response
        elif request.action == enums.action.DELETE and request.name:
            response = await self._mark_deleted(request)
            if response is not None:
                return response
        elif request.method == enums.method.PUT and request.name:
            return await self._replace(request)
        return await super()._handle(request)

    # ------------------------------------------------------------------ writes
    def _prepare_create(self, request: rendering.Request) -> None:
        data: dict[str, Any] = request.data
        md = data.setdefault("metadata", {})
        if not md.get("name") and md.get("generateName"):
            suffix = "".join(random.choices(string.ascii_lowercase + string.digits, k=5))
            md["name"] = md["generateName"] + suffix
        if not md.get("name"):
            raise invalid("metadata.name: Required value: name or generateName is required")
        if request.namespace:
            if md.get("namespace") not in (None, request.namespace):
                raise bad_request("the namespace of the object does not match the namespace of the URL")
            md["namespace"] = request.namespace
        key = (request.resource, md.get("namespace"), md["name"])
        if key in self._objects and not self._objects[key].deleted:
            return  # kmock answers 409 AlreadyExists
        for server_field in ("deletionTimestamp", "deletionGracePeriodSeconds", "generation"):
            md.pop(server_field, None)
        md.update(uid=str(uuid.uuid4()), creationTimestamp=now())
        if request.resource is not None and request.resource.group:
            md["generation"] = 1  # custom resources and apps/*; core Secrets have none
        if _is_secret(request):
            fold_string_data(data)
            validate_secret(data)
        if request.resource == NAMESPACES:  # the server labels every namespace with its name
            md["labels"] = {**(md.get("labels") or {}), "kubernetes.io/metadata.name": md["name"]}
        if self._has_status(request):
            data.pop("status", None)
        if not request.params.get("dryRun"):
            md["resourceVersion"] = str(self._bump())

    def _prepare_patch(self, request: rendering.Request) -> aiohttp.web.StreamResponse | None:
        """Filter, check and stamp a PATCH in place; kmock's base then applies it."""
        key = (request.resource, request.namespace, request.name)
        if key not in self._objects or self._objects[key].deleted:
            return None  # kmock answers 404
        old: dict[str, Any] = self._objects[key].raw
        data = request.data
        is_json_patch = isinstance(data, list)
        if self._has_status(request):
            to_status = request.subresource == "status"
            if is_json_patch:  # keep `test` ops: kopf's optimistic locking relies on them
                data[:] = [
                    op for op in data if op.get("op") == "test" or _in_status(op.get("path", "")) == to_status
                ]
            elif to_status:
                rv = (data.get("metadata") or {}).get("resourceVersion")
                kept = {"status": data["status"]} if "status" in data else {}
                data.clear()
                data.update(kept)
                if rv:
                    data["metadata"] = {"resourceVersion": rv}
            else:
                data.pop("status", None)
        if not is_json_patch:
            wanted_rv = (data.get("metadata") or {}).get("resourceVersion")
            if wanted_rv and wanted_rv != old["metadata"].get("resourceVersion"):
                raise stale_conflict()
        try:
            new = dict(dicts.patch_dict(copy.deepcopy(old), data))
        except (jsonpatch.JsonPatchException, jsonpointer.JsonPointerException) as e:
            raise invalid(f"the server rejected our request due to an error in our request: {e}") from e
        except ValueError as e:  # e.g. a merge-patch replacing a mapping with a scalar
            raise invalid(str(e)) from e
        if _is_secret(request):
            fold_string_data(new)
            validate_secret(new, old)
            if isinstance(data, dict) and "stringData" in data:
                data.pop("stringData")
                data["data"] = new.get("data")
        new_md = {k: v for k, v in (new.get("metadata") or {}).items() if k not in SERVER_MANAGED}
        old_md = {k: v for k, v in old["metadata"].items() if k not in SERVER_MANAGED}
        if new_md == old_md and essence(new) == essence(old) and new.get("status") == old.get("status"):
            return aiohttp.web.json_response(old)  # a no-op: no new RV and no watch event
        if request.params.get("dryRun"):
            return aiohttp.web.json_response(new)  # kubectl diff / --dry-run=server
        stamp: dict[str, Any] = {"resourceVersion": str(self._bump())}
        if request.resource is not None and request.resource.group and essence(new) != essence(old):
            stamp["generation"] = int(old["metadata"].get("generation") or 1) + 1
        if is_json_patch:
            data.extend({"op": "add", "path": f"/metadata/{k}", "value": v} for k, v in stamp.items())
        else:
            data["metadata"] = {**(data.get("metadata") or {}), **stamp}
        return None

    async def _mark_deleted(self, request: rendering.Request) -> aiohttp.web.StreamResponse | None:
        """An object with finalizers is only marked; the final DELETED gets its RV from the bus."""
        key = (request.resource, request.namespace, request.name)
        async with self._lock:
            if key not in self._objects or self._objects[key].deleted:
                return None  # kmock answers 404
            if request.params.get("dryRun"):
                return aiohttp.web.json_response(self._objects[key].raw)
            obj = self._objects[key]
            md = obj.raw.get("metadata", {})
            if not md.get("finalizers") or md.get("deletionTimestamp"):
                return None  # kmock deletes (no finalizers) or ignores (already terminating)
            stamp = {"deletionTimestamp": now(), "deletionGracePeriodSeconds": 0}
            obj.patch({"metadata": {**stamp, "resourceVersion": str(self._bump())}})
            await self._buses[request.resource].put({"type": "MODIFIED", "object": obj.raw})
            return aiohttp.web.json_response(obj.raw)

    async def _replace(self, request: rendering.Request) -> aiohttp.web.StreamResponse:
        key = (request.resource, request.namespace, request.name)
        async with self._lock:
            if key not in self._objects or self._objects[key].deleted:
                raise k8s.KubernetesObjectNotFoundError()
            old = self._objects[key].raw
            new = copy.deepcopy(request.data or {})
            md = new.setdefault("metadata", {})
            if md.get("resourceVersion") and md["resourceVersion"] != old["metadata"].get("resourceVersion"):
                raise stale_conflict()
            if self._has_status(request):
                if request.subresource == "status":
                    new = {**old, "status": new.get("status")}
                elif "status" in old:
                    new["status"] = old["status"]
                else:
                    new.pop("status", None)
            md = new.setdefault("metadata", {})
            for kept in ("uid", "creationTimestamp", "name", "namespace", "deletionTimestamp"):
                if kept in old["metadata"]:
                    md[kept] = old["metadata"][kept]
            if _is_secret(request):
                fold_string_data(new)
                validate_secret(new, old)
            if request.params.get("dryRun"):
                return aiohttp.web.json_response(new)
            if request.resource is not None and request.resource.group:
                changed = essence(new) != essence(old)
                md["generation"] = int(old["metadata"].get("generation") or 1) + changed
            md["resourceVersion"] = str(self._bump())
            self._objects[key].create(new)  # a new version in the object's history
            await self._buses[request.resource].put({"type": "MODIFIED", "object": new})
            if md.get("deletionTimestamp") and not md.get("finalizers"):
                self._objects[key].delete()
                await self._buses[request.resource].put({"type": "DELETED", "object": new})
        return aiohttp.web.json_response(new)

    async def _server_side_apply(self, request: rendering.Request) -> aiohttp.web.StreamResponse | None:
        """Create if absent; otherwise fall through to a merge patch (no field ownership)."""
        key = (request.resource, request.namespace, request.name)
        if not isinstance(request.data, dict) or (key in self._objects and not self._objects[key].deleted):
            return None
        self._prepare_create(request)
        async with self._lock:
            if key in self._objects:
                self._objects[key].create(request.data)
            else:
                self._objects[key] = request.data
            await self._buses[request.resource].put({"type": "ADDED", "object": request.data})
        return aiohttp.web.json_response(request.data, status=201)

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

    # ------------------------------------------------------------------ reads
    def _select(self, request: rendering.Request, raw: dict[str, Any]) -> bool:
        md = raw.get("metadata") or {}
        if request.namespace is not None and md.get("namespace") != request.namespace:
            return False
        if request.name is not None and md.get("name") != request.name:
            return False
        return match_labels(request.params.get("labelSelector"), md.get("labels")) and match_fields(
            request.params.get("fieldSelector"), raw
        )

    def _snapshot(self, request: rendering.Request) -> list[dict[str, Any]]:
        return [
            obj.raw
            for (res, _ns, _name), obj in self._objects.items()
            if res == request.resource and not obj.deleted and self._select(request, obj.raw)
        ]

    async def _serve_list(self, request: rendering.Request) -> rendering.Payload:
        await super()._serve_list(request)  # raises 404 for an unknown resource
        async with self._lock:
            items = self._snapshot(request)
        return {
            "apiVersion": self._api_version(request),
            "kind": f"{self._kind(request)}List",
            "metadata": {"resourceVersion": str(self._last_rv)},
            "items": items,
        }

    def _visible(self, request: rendering.Request, change: Change) -> dict[str, Any] | None:
        """The event this watcher sees, with selector transitions as a real server reports them."""
        now_in = self._select(request, change.obj)
        if change.type != "MODIFIED" or change.old is None:
            return {"type": change.type, "object": change.obj} if now_in else None
        was_in = self._select(request, change.old)
        if now_in:
            return {"type": "MODIFIED" if was_in else "ADDED", "object": change.obj}
        if was_in:  # left the selector: the old state, stamped with this change's RV
            old_md = {**change.old["metadata"], "resourceVersion": str(change.rv)}
            return {"type": "DELETED", "object": {**change.old, "metadata": old_md}}
        return None

    def _bookmark(self, request: rendering.Request, initial_events_end: bool) -> dict[str, Any]:
        md: dict[str, Any] = {"resourceVersion": str(self._last_rv)}
        if initial_events_end:
            md["annotations"] = {"k8s.io/initial-events-end": "true"}
        obj = {"kind": self._kind(request), "apiVersion": self._api_version(request), "metadata": md}
        return {"type": "BOOKMARK", "object": obj}

    async def _serve_watch(self, request: rendering.Request) -> AsyncIterator[rendering.Payload]:
        yield b""  # send the headers now: the client waits for them before anything happens
        loop = asyncio.get_running_loop()
        timeout = request.params.get("timeoutSeconds")
        deadline = loop.time() + float(timeout) if timeout else None
        since = _parse_rv(request.params.get("resourceVersion"))
        watch_list = request.params.get("sendInitialEvents") == "true"
        bus = self._buses[request.resource]
        initial: list[dict[str, Any]] | None
        async with self._lock:  # writes publish under this lock: no gap and no duplicates
            mark = await bus.mark()
            if watch_list or since is None:
                initial = [{"type": "ADDED", "object": raw} for raw in self._snapshot(request)]
            elif since < bus.floor:
                initial = None
            else:
                initial = [e for c in bus.replay(since) if (e := self._visible(request, c)) is not None]
        try:
            if initial is None:
                message = f"too old resource version: {since} ({bus.floor})"
                yield {"type": "ERROR", "object": gone_status(message)}
                return
            for event in initial:
                yield event
            if watch_list:  # kubectl >= 1.32 `wait`/`get -w` waits for this marker
                yield self._bookmark(request, initial_events_end=True)
            stream = aiter(bus.stream(since=mark))
            while True:
                left = None if deadline is None else deadline - loop.time()
                if left is not None and left <= 0:
                    break
                try:
                    item = await asyncio.wait_for(anext(stream), left)
                except TimeoutError:
                    break
                if isinstance(item, Expired):
                    message = f"too old resource version: {since} ({item.floor})"
                    yield {"type": "ERROR", "object": gone_status(message)}
                    return
                if isinstance(item, Change) and (event := self._visible(request, item)) is not None:
                    yield event
            if request.params.get("allowWatchBookmarks") == "true":
                yield self._bookmark(request, initial_events_end=False)  # resume point before timeout
        finally:
            await bus.unmark(mark)
