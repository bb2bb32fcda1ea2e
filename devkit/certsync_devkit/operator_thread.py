"""Run the real operator (our kopf registry) in a background thread with its own event loop.

Unlike kopf's `KopfRunner`, this does not capture the process's stdout, so the demo can print
while the operator runs, and tests read the operator's logs through `logging` as usual.
"""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Coroutine, Sequence
from typing import Any, TypeVar

import kopf

from netscaler_certsync.k8s import ClusterAccess
from netscaler_certsync.reconcile.context import OperatorContext, OperatorOptions
from netscaler_certsync.runtime import build_registry, new_context

T = TypeVar("T")


class OperatorThread:
    """`OperatorThread(access, options).start()` ... `.stop()`; `.ctx` is the live context."""

    def __init__(
        self,
        access: ClusterAccess,
        options: OperatorOptions | None = None,
        *,
        namespaces: Sequence[str] = (),
    ) -> None:
        self.access = access
        self.ctx: OperatorContext = new_context(options)
        self.namespaces = list(namespaces)
        self._stop = threading.Event()
        self._ready = threading.Event()
        self._thread: threading.Thread | None = None
        self.error: BaseException | None = None
        self.loop: asyncio.AbstractEventLoop | None = None

    def start(self, timeout: float = 30.0) -> OperatorThread:
        self._thread = threading.Thread(target=self._main, name="certsync-operator", daemon=True)
        self._thread.start()
        if not self._ready.wait(timeout):
            raise RuntimeError("the operator did not start in time")
        if self.error is not None:
            raise RuntimeError("the operator failed to start") from self.error
        return self

    def _main(self) -> None:
        try:
            asyncio.run(self._serve())
        except BaseException as exc:  # reported to start() or visible in .error after stop()
            self.error = exc
            self._ready.set()

    async def _serve(self) -> None:
        self.loop = asyncio.get_running_loop()
        scope: list[str | None] = list(self.namespaces) or [None]
        registry = build_registry(self.ctx, self.access, scope)
        await kopf.operator(
            registry=registry,
            standalone=True,
            clusterwide=not self.namespaces,
            namespaces=self.namespaces,
            stop_flag=self._stop,
            ready_flag=self._ready,
        )

    def call(self, coro: Coroutine[Any, Any, T]) -> T:
        """Run `coro` on the operator's event loop and return its result (for tests' inspection)."""
        assert self.loop is not None, "the operator is not running"
        return asyncio.run_coroutine_threadsafe(coro, self.loop).result(timeout=10)

    def stop(self, timeout: float = 15.0) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout)

    def __enter__(self) -> OperatorThread:
        return self.start() if self._thread is None else self

    def __exit__(self, *_: object) -> None:
        self.stop()
