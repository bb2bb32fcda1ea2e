"""Watch a few Secrets by name and report when their content changes (connection credentials, CA).

NetScalerConnections reference Secrets of any type (Opaque credentials, a CA bundle), so the TLS
watcher's `type=kubernetes.io/tls` selector does not see them, and watching every Secret of a
namespace would bring all of them over the wire. `NamedSecretWatch` instead keeps one watch per
referenced Secret with `fieldSelector=metadata.name=<name>`: the server sends only that Secret.
There are few of them (one or two per connection, and connections are per appliance), and the
set follows the connections: `set_references(owner, secrets)` starts and stops the watches.

The watches are the TLS watcher's (k8s/secret_watch.py: `TLSSecretWatcher` in a `WatcherSet`,
any type, `data_digest` over every key), so resuming, relisting and backoff live in one place.
This module adds only the owners' references and the callback
`on_change(namespace, name, resource_version or "deleted")`, called when a Secret is created,
changed or deleted after its watch's first list; a change of labels alone is not content.
"""

from __future__ import annotations

import asyncio
import inspect
from collections.abc import Awaitable, Callable, Iterable, Mapping

from netscaler_certsync.k8s.api import KubeClient
from netscaler_certsync.k8s.secret_watch import (
    Backoff,
    ChangeKind,
    TLSSecretWatcher,
    WatcherSet,
    WatchKey,
    by_name,
)
from netscaler_certsync.k8s.secrets import data_digest

__all__ = ["NamedSecretWatch", "OnSecretChange"]

Key = tuple[str, str]
#: (namespace, name, resourceVersion or "deleted") -> react to a changed Secret.
OnSecretChange = Callable[[str, str, str], Awaitable[None] | None]


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
        self._backoff = backoff
        self._watch_timeout = watch_timeout_seconds
        self._client: KubeClient | None = None
        self._watchers: WatcherSet | None = None  # created by start()
        self._refs: dict[Key, frozenset[Key]] = {}  # owner -> the Secrets it references

    @property
    def watched(self) -> frozenset[Key]:
        return frozenset(self._running())

    @property
    def ready(self) -> Mapping[Key, asyncio.Event]:
        """Per watched Secret, an event set once its first list is in."""
        return {secret: watcher.ready for secret, watcher in self._running().items()}

    def start(self, client: KubeClient) -> None:
        self._client = client
        self._watchers = WatcherSet(self._watcher, "secret-watch")
        self._update()

    def set_references(self, owner: Key, secrets: Iterable[Key]) -> None:
        refs = frozenset(secrets)
        if self._refs.get(owner) == refs:
            return
        if refs:
            self._refs[owner] = refs
        else:
            self._refs.pop(owner, None)
        self._update()

    def drop(self, owner: Key) -> None:
        self.set_references(owner, ())

    def version(self, secret: Key) -> str | None:
        """The resourceVersion of `secret` as its watch last saw it; None when it is not watched,
        its first list is not in yet, or it does not exist."""
        watcher = self._running().get(secret)
        if watcher is None or not watcher.ready.is_set():
            return None
        entry = watcher.index.get(secret)
        return entry.resource_version if entry is not None else None

    def owners_of(self, secret: Key) -> list[Key]:
        """The owners that reference `secret`."""
        return sorted(owner for owner, refs in self._refs.items() if secret in refs)

    async def close(self) -> None:
        self._refs.clear()
        if self._watchers is not None:
            await self._watchers.close()

    def alive(self) -> bool:
        """False when a watch ended on its own (it never should): for the liveness probe."""
        return self._watchers is None or self._watchers.alive()

    def _running(self) -> dict[Key, TLSSecretWatcher]:
        running = self._watchers.running if self._watchers is not None else {}
        wanted = frozenset().union(*self._refs.values())
        return {secret: running[by_name(*secret)][0] for secret in wanted if by_name(*secret) in running}

    def _update(self) -> None:
        if self._watchers is not None:
            wanted = frozenset().union(*self._refs.values())
            self._watchers.update(by_name(namespace, name) for namespace, name in wanted)

    def _watcher(self, key: WatchKey) -> TLSSecretWatcher:
        assert self._client is not None

        async def notify(namespace: str, name: str, kind: ChangeKind) -> None:
            if kind == "relabelled":
                return  # credentials and CA are in the data; labels select nothing here
            entry = watcher.index.get((namespace, name))
            version = "deleted" if kind == "deleted" or entry is None else entry.resource_version
            result = self._on_change(namespace, name, version)
            if inspect.isawaitable(result):
                await result

        namespace, field_selector, _ = key
        watcher = TLSSecretWatcher(
            self._client,
            notify,
            namespace=namespace,
            field_selector=field_selector,
            secret_types=None,  # credentials and CA bundles: any type
            digest=data_digest,
            backoff=self._backoff,
            watch_timeout_seconds=self._watch_timeout,
        )
        return watcher
