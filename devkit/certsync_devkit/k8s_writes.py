"""The write half of the emulator: create, patch, delete, replace and server-side apply.

Each method prepares or performs one kind of write the way kube-apiserver does (see the list in
`k8s_emulator`); kmock's own `_handle` then stores what was prepared and publishes the event.
"""

from __future__ import annotations

import copy
import random
import string
import uuid
from typing import Any

import aiohttp.web
import jsonpatch
import jsonpointer
from kmock._internal import dicts, k8s, references, rendering

from .k8s_kubectl import CRDS, established
from .k8s_namespaces import NAMESPACES
from .k8s_objects import (
    SERVER_MANAGED,
    bad_request,
    essence,
    fold_string_data,
    invalid,
    now,
    stale_conflict,
    validate_secret,
)
from .k8s_state import EmulatorBase

__all__ = ["WritesMixin"]

SECRETS = references.resource("", "v1", "secrets")


def _is_secret(request: rendering.Request) -> bool:
    return request.resource == SECRETS


def _in_status(path: str) -> bool:
    return path == "/status" or path.startswith("/status/")


class WritesMixin(EmulatorBase):
    """Writes with server-managed fields, preconditions, status separation and Secret rules."""

    __slots__ = ()

    def _serve_crd(self, crd: dict[str, Any]) -> None:
        """Declare a created CRD's kinds in discovery (kept when already declared, e.g. by a test)."""
        spec = crd.get("spec") or {}
        names = spec.get("names") or {}
        for version in spec.get("versions") or []:
            res = references.resource(spec.get("group", ""), version.get("name", ""), names.get("plural"))
            if names.get("plural") and res not in self._resources:
                self._resources[res] = references.ResourceInfo(
                    kind=names.get("kind"),
                    singular=names.get("singular") or str(names.get("kind", "")).lower(),
                    namespaced=spec.get("scope") == "Namespaced",
                    shortnames=set(names.get("shortNames") or ()),
                    categories=set(names.get("categories") or ()),
                    verbs={"list", "watch", "get", "create", "patch", "update", "delete", "deletecollection"},
                    subresources=set((version.get("subresources") or {}).keys()),
                )

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
        if request.resource == NAMESPACES:
            data["status"] = {"phase": "Active"}
        if request.resource == CRDS:  # served at once, as a real server does within a second
            data["status"] = established(data)
            self._serve_crd(data)
        if not request.params.get("dryRun"):
            md["resourceVersion"] = str(self._bump())

    def _filter_patch(self, request: rendering.Request) -> None:
        """Keep only what this endpoint may change: status via /status, the rest via the object."""
        data = request.data
        if not self._has_status(request):
            return
        to_status = request.subresource == "status"
        if isinstance(data, list):  # keep `test` ops: kopf's optimistic locking relies on them
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

    async def _patch(self, request: rendering.Request) -> aiohttp.web.StreamResponse | None:
        """Apply a PATCH under the lock (check, compute, stamp, store, publish) in one step.

        Returns a response for a no-op or a dry run; None when stored (kmock then answers with
        the stored object, or a test's own reaction answers).
        """
        key = (request.resource, request.namespace, request.name)
        self._filter_patch(request)
        data = request.data
        async with self._lock:
            if key not in self._objects or self._objects[key].deleted:
                raise k8s.KubernetesObjectNotFoundError()
            old: dict[str, Any] = self._objects[key].raw
            if isinstance(data, dict):
                wanted_rv = (data.get("metadata") or {}).get("resourceVersion")
                if wanted_rv and wanted_rv != old["metadata"].get("resourceVersion"):
                    raise stale_conflict()
            try:
                new = dict(dicts.patch_dict(copy.deepcopy(old), data))
            except (jsonpatch.JsonPatchException, jsonpointer.JsonPointerException) as e:
                raise invalid(f"the server rejected our request due to an error in our request: {e}") from e
            except ValueError as e:  # e.g. a merge-patch replacing a mapping with a scalar
                raise invalid(str(e)) from e
            md = new["metadata"] = dict(new.get("metadata") or {})
            for owned in (*SERVER_MANAGED, "deletionTimestamp"):  # the server's, not the client's
                if owned in old["metadata"]:
                    md[owned] = old["metadata"][owned]
                else:
                    md.pop(owned, None)
            if _is_secret(request):
                fold_string_data(new)
                validate_secret(new, old)
            if new == old:
                return aiohttp.web.json_response(old)  # a no-op: no new RV and no watch event
            if request.params.get("dryRun"):
                return aiohttp.web.json_response(new)  # kubectl diff / --dry-run=server
            md["resourceVersion"] = str(self._bump())
            if request.resource is not None and request.resource.group and essence(new) != essence(old):
                md["generation"] = int(old["metadata"].get("generation") or 1) + 1
            self._objects[key].create(new)  # a new version in the object's history
            await self._buses[request.resource].put({"type": "MODIFIED", "object": new})
            if md.get("deletionTimestamp") and not md.get("finalizers"):  # the last finalizer went
                self._objects[key].delete()
                await self._buses[request.resource].put({"type": "DELETED", "object": new})
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
