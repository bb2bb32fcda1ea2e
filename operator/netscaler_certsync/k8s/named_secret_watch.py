"""Watch a few Secrets by name and report when their content changes (connection credentials, CA).

NetScalerConnections reference Secrets of any type (Opaque credentials, a CA bundle), so the TLS
watcher's `type=kubernetes.io/tls` selector does not see them, and watching every Secret of a
namespace would bring all of them over the wire. `NamedSecretWatch` instead runs one watch per
referenced Secret with `fieldSelector=metadata.name=<name>`: the server sends only that Secret.
There are few of them (one or two per connection, and connections are per appliance), and the
set follows the connections: `set_references(owner, secrets)` starts and stops the watches.

Per Secret it keeps only a SHA-256 of its type and data (None while it does not exist), never
the data, and calls `on_change(namespace, name, resource_version)` when that digest changes
(created, changed or deleted) after the watch's first list. Like the TLS watcher it resumes by
resourceVersion, relists after `410 Gone` and reconnects with backoff after errors.
"""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import inspect
import logging
from collections.abc import Awaitable, Callable, Iterable, Mapping
from typing import Any

from netscaler_certsync.k8s.api import KubeClient
from netscaler_certsync.k8s.errors import KubernetesError
from netscaler_certsync.k8s.secret_watch import Backoff

__all__ = ["NamedSecretWatch", "OnSecretChange", "content_digest"]

logger = logging.getLogger(__name__)

Key = tuple[str, str]
#: (namespace, name, resourceVersion or "deleted") -> react to a changed Secret.
OnSecretChange = Callable[[str, str, str], Awaitable[None] | None]


def content_digest(secret: Mapping[str, Any] | None) -> bytes | None:
    """SHA-256 of a Secret's type and data (None: no Secret); the data is never kept."""
    if secret is None:
        return None
    h = hashlib.sha256(str(secret.get("type") or "").encode())
    for key, value in sorted((secret.get("data") or {}).items()):
        h.update(b"\0" + key.encode() + b"\0" + str(value).encode())
    return h.digest()


class NamedSecretWatch:
    """One watch per referenced Secret; `start(client)` once, then `set_references` as owners change."""

    def __init__(
        self,
        on_change: OnSecretChange,
        *,
        backoff: Backoff | None = None,
        watch_timeout_seconds: int = 300,
    ) -> None:
        self._on_change = on_change
        self._backoff = backoff or Backoff()
        self._watch_timeout = watch_timeout_seconds
        self._client: KubeClient | None = None
        self._refs: dict[Key, frozenset[Key]] = {}  # owner -> the Secrets it references
        self._tasks: dict[Key, asyncio.Task[None]] = {}
        self.digests: dict[Key, bytes | None] = {}
        self.ready: dict[Key, asyncio.Event] = {}  # set once a Secret's first list is in

    @property
    def watched(self) -> frozenset[Key]:
        return frozenset(self._tasks)

    def start(self, client: KubeClient) -> None:
        self._client = client
        self._reconcile_tasks()

    def set_references(self, owner: Key, secrets: Iterable[Key]) -> None:
        refs = frozenset(secrets)
        if self._refs.get(owner) == refs:
            return
        if refs:
            self._refs[owner] = refs
        else:
            self._refs.pop(owner, None)
        self._reconcile_tasks()

    def drop(self, owner: Key) -> None:
        self.set_references(owner, ())

    def owners_of(self, secret: Key) -> list[Key]:
        """The owners that reference `secret`."""
        return sorted(owner for owner, refs in self._refs.items() if secret in refs)

    async def close(self) -> None:
        self._refs.clear()
        tasks = list(self._tasks.values())
        self._reconcile_tasks()
        await asyncio.gather(*tasks, return_exceptions=True)

    def alive(self) -> bool:
        """False when a watch ended on its own (it never should): for the liveness probe."""
        return not any(task.done() for task in self._tasks.values())

    def _reconcile_tasks(self) -> None:
        wanted = frozenset().union(*self._refs.values()) if self._refs else frozenset()
        for key in self._tasks.keys() - wanted:
            self._tasks.pop(key).cancel()
            self.digests.pop(key, None)
            self.ready.pop(key, None)
        if self._client is None:
            return  # started by start()
        for key in sorted(wanted - self._tasks.keys()):
            self.ready[key] = asyncio.Event()
            self._tasks[key] = asyncio.create_task(self._follow(key), name=f"secret-watch:{key[0]}/{key[1]}")

    async def _follow(self, key: Key) -> None:
        assert self._client is not None
        namespace, name = key
        rv: str | None = None
        attempt = 0
        while True:
            try:
                events = self._client.watch_secrets(
                    namespace,
                    field_selector=f"metadata.name={name}",
                    resource_version=rv,
                    timeout_seconds=self._watch_timeout,
                )
                async with contextlib.aclosing(events) as stream:
                    async for event in stream:
                        rv = event.resource_version
                        attempt = 0
                        if event.type == "RELISTED":
                            found = next((o for o in event.items if _name(o) == name), None)
                            await self._seen(key, content_digest(found), rv)
                        elif event.type in ("ADDED", "MODIFIED") and _name(event.object) == name:
                            await self._seen(key, content_digest(event.object), rv)
                        elif event.type == "DELETED" and _name(event.object) == name:
                            await self._seen(key, None, "deleted")
            except KubernetesError as e:
                delay = self._backoff.delay(attempt)
                attempt += 1
                logger.warning(
                    "watch of Secret %s/%s failed (%s); reconnecting in %.1fs", namespace, name, e, delay
                )
                await asyncio.sleep(delay)

    async def _seen(self, key: Key, digest: bytes | None, version: str) -> None:
        first = not self.ready[key].is_set()
        changed = not first and self.digests.get(key) != digest
        self.digests[key] = digest
        self.ready[key].set()
        if not changed:
            return
        try:
            result = self._on_change(key[0], key[1], version)
            if inspect.isawaitable(result):
                await result
        except Exception:  # one failed notice must not stop the watch; the periodic check catches up
            logger.exception("reacting to a change of Secret %s/%s failed", *key)


def _name(obj: Mapping[str, Any] | None) -> str:
    return str(((obj or {}).get("metadata") or {}).get("name") or "")
