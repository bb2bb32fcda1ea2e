"""kmock's object store with an index by resource, so that serving a list reads its own objects.

kmock keeps every object of every resource in one dict and answers a list by walking all of it,
comparing each key's resource in Python: at 10,000 CertificateSyncs and 10,000 Secrets a list of
the three CustomResourceDefinitions took 55 ms, and the emulator serves one request at a time,
so every relist made each GET behind it wait for scans of objects it never returns. A real API
server keeps each resource under its own prefix (etcd, the watch cache). `IndexedObjects` is
kmock's `ObjectsArray` (kmock is pinned: its private helpers are used here) that also files
each object under its resource as it is stored or hard-deleted; soft deletes keep the entry, as
kmock keeps the key.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

import attrs
from kmock._internal import k8s_dicts, k8s_views, references

__all__ = ["IndexedObjects"]

ResourceKey = tuple[Any, Any, Any]  # (group, version, plural): kmock's resource equality


def resource_key(resource: references.resource) -> ResourceKey:
    return (resource.group, resource.version, resource.plural)


@attrs.frozen(eq=False, order=False)
class IndexedObjects(k8s_views.ObjectsArray):
    _by_resource: dict[ResourceKey, dict[tuple[str | None, str], k8s_dicts.Object]] = attrs.field(
        factory=dict, init=False
    )
    _resource: dict[ResourceKey, references.resource] = attrs.field(factory=dict, init=False)

    def __setitem__(self, key: Any, value: Any, /) -> None:
        super().__setitem__(key, value)
        if k8s_views._is_object_key(key):
            resource, namespace, name = k8s_views._parse_resource(key[0]), key[-2], key[-1]
            stored, rkey = self._objects[resource, namespace, name], resource_key(resource)
            self._by_resource.setdefault(rkey, {})[namespace, name] = stored
            self._resource.setdefault(rkey, resource)

    def __delitem__(self, key: Any, /) -> None:
        super().__delitem__(key)
        if k8s_views._is_object_key(key):
            resource = k8s_views._parse_resource(key[0])
            self._by_resource.get(resource_key(resource), {}).pop((key[-2], key[-1]), None)

    def of(self, resource: references.resource) -> Iterable[k8s_dicts.Object]:
        """The objects stored under `resource`, soft-deleted ones included, in insertion order."""
        return self._by_resource.get(resource_key(resource), {}).values()

    def resources(self) -> list[references.resource]:
        """Every resource an object is stored under (kmock's discovery lists these too)."""
        return [self._resource[key] for key, objects in self._by_resource.items() if objects]
