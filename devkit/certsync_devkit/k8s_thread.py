"""Run the emulator for tests: in a background thread (sync clients, kubectl, KopfRunner) or in-loop.

* `EmulatorThread` runs the emulator and a kmock `Server` on 127.0.0.1 (random port) in a daemon
  thread with its own event loop. The sync kubernetes client must not run in the emulator's loop
  (it blocks it), hence the thread. `.call(fn)` runs `fn` inside that loop, which is the only safe
  way to read `k.objects` or the request log from the test's thread.
* `running_emulator()` is the same for a test that lives in one asyncio loop with the emulator.
* `declare_resources(k)` is the discovery our operator needs: core/v1 and friends from kmock's
  bundle (kopf waits forever without `v1/namespaces` in discovery) plus our two CRDs.
* `request_log(k)` lists what clients asked for, so tests can assert on selectors and verbs.
"""

from __future__ import annotations

import asyncio
import contextlib
import inspect
import threading
import time
import warnings
from collections.abc import AsyncIterator, Callable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TypeVar

import kmock

from .k8s_emulator import RealisticEmulator
from .k8s_namespaces import STANDARD_NAMESPACES, namespace_object

__all__ = [
    "CRD_GROUP",
    "CRD_VERSION",
    "EmulatorThread",
    "RecordedRequest",
    "declare_resources",
    "kubeconfig_text",
    "request_log",
    "running_emulator",
    "unselected_secret_reads",
    "wait_for",
]

CRD_GROUP = "netscaler.certsync.dev"
CRD_VERSION = "v1alpha1"
_CRD_VERBS = {"list", "watch", "get", "create", "patch", "update", "delete"}

T = TypeVar("T")


def wait_for(
    fn: Callable[[], T], timeout: float = 10, what: str = "condition", *, interval: float = 0.02
) -> T:
    """Poll `fn` every `interval` seconds until it returns something truthy; tests never sleep blindly."""
    deadline = time.monotonic() + timeout
    while True:
        result = fn()
        if result:
            return result
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {timeout}s waiting for {what}")
        time.sleep(interval)


def declare_resources(k: kmock.KubernetesEmulator) -> None:
    """core/v1 (secrets, events, namespaces...) and our CRDs, both with the status subresource.

    A `RealisticEmulator` also gets the namespaces every cluster has (default, kube-system...).
    """
    with warnings.catch_warnings():  # kmock 0.8 uses importlib.resources.read_binary (deprecated)
        warnings.simplefilter("ignore", DeprecationWarning)
        k.resources.load_bundled()
    if isinstance(k, RealisticEmulator):
        for name in STANDARD_NAMESPACES:
            k.seed(namespace_object(name))
    for plural, kind, short in (
        ("netscalerconnections", "NetScalerConnection", "nsconn"),
        ("certificatesyncs", "CertificateSync", "certsync"),
    ):
        k.resources[f"{CRD_GROUP}/{CRD_VERSION}/{plural}"] = kmock.ResourceInfo(
            kind=kind,
            singular=kind.lower(),
            namespaced=True,
            shortnames={short},
            categories={"netscaler"},
            verbs=_CRD_VERBS,
            subresources={"status"},
        )


@dataclass(frozen=True)
class RecordedRequest:
    """One request as the emulator received it (bodies are left out on purpose)."""

    method: str
    path: str
    params: Mapping[str, str]

    @property
    def is_watch(self) -> bool:
        return self.params.get("watch") in ("true", "1")


def request_log(k: kmock.RawHandler) -> list[RecordedRequest]:
    """Every request so far, oldest first. Call inside the emulator's loop (`EmulatorThread.call`)."""
    return [RecordedRequest(str(r.method.value), r.url.path, dict(r.params)) for r in k]


def unselected_secret_reads(log: list[RecordedRequest]) -> list[RecordedRequest]:
    """Secret lists/watches that would pull every Secret in scope: no label and no field selector.

    The operator must never make one (docs/decisions/006-tls-secret-watcher.md); operator tests
    assert this is empty.
    """
    return [
        r
        for r in log
        if r.method == "GET"
        and r.path.endswith("/secrets")
        and not r.params.get("labelSelector")
        and not r.params.get("fieldSelector")
    ]


def kubeconfig_text(url: str, namespace: str = "default") -> str:
    return f"""apiVersion: v1
kind: Config
clusters:
- name: emulator
  cluster:
    server: {url}
users:
- name: emulator
  user:
    token: emulator-token
contexts:
- name: emulator
  context: {{cluster: emulator, user: emulator, namespace: {namespace}}}
current-context: emulator
"""


def close_loop(loop: asyncio.AbstractEventLoop) -> None:
    """Cancel what a server thread's loop left running (watch streams waiting on a Condition), let
    it unwind and close the loop, as `asyncio.run` does: a coroutine closed later by the garbage
    collector, outside its loop, "ignores GeneratorExit", which pytest reports in whatever test
    runs then."""
    pending = [t for t in asyncio.all_tasks(loop) if not t.done()]
    for task in pending:
        task.cancel()
    if pending:
        loop.run_until_complete(asyncio.gather(*pending, return_exceptions=True))
    loop.run_until_complete(loop.shutdown_asyncgens())
    loop.close()


@contextlib.asynccontextmanager
async def running_emulator(
    cls: type[RealisticEmulator] = RealisticEmulator,
    setup: Callable[[RealisticEmulator], None] | None = declare_resources,
    port: int | None = None,
) -> AsyncIterator[RealisticEmulator]:
    """The emulator served on loopback in the current loop; `str(k.url)` is its base URL."""
    async with cls() as k, kmock.Server(k, port=port):
        if setup is not None:
            setup(k)
        yield k


class EmulatorThread:
    """The emulator in a daemon thread with its own loop; `start()` returns once it listens."""

    def __init__(
        self,
        cls: type[RealisticEmulator] = RealisticEmulator,
        setup: Callable[[RealisticEmulator], None] | None = declare_resources,
        port: int | None = None,  # None: any free port
    ) -> None:
        self._cls = cls
        self._setup = setup
        self._port = port
        self.loop = asyncio.new_event_loop()
        self._k: RealisticEmulator | None = None
        self.url = ""
        self._ready = threading.Event()
        self._stop: asyncio.Event | None = None
        self._error: BaseException | None = None
        self._thread = threading.Thread(target=self._main, daemon=True, name="k8s-emulator")

    @property
    def k(self) -> RealisticEmulator:
        if self._k is None:
            raise RuntimeError("the emulator is not running")
        return self._k

    def _main(self) -> None:
        asyncio.set_event_loop(self.loop)
        try:
            self.loop.run_until_complete(self._serve())
        except BaseException as e:  # reported to start()'s caller; the thread must not die silently
            self._error = e
            self._ready.set()
        finally:
            close_loop(self.loop)

    async def _serve(self) -> None:
        self._stop = asyncio.Event()
        async with running_emulator(self._cls, self._setup, self._port) as k:
            self._k = k
            self.url = str(k.url).rstrip("/")
            self._ready.set()
            await self._stop.wait()

    def start(self, timeout: float = 10) -> EmulatorThread:
        self._thread.start()
        if not self._ready.wait(timeout):
            raise TimeoutError("the emulator did not start")
        if self._error is not None:
            raise self._error
        return self

    def stop(self) -> None:
        if self._stop is not None and self._thread.is_alive():
            self.loop.call_soon_threadsafe(self._stop.set)
        self._thread.join(10)

    def __enter__(self) -> EmulatorThread:
        return self.start()

    def __exit__(self, *_: object) -> None:
        self.stop()

    def call(self, fn: Callable[[], T], timeout: float = 10) -> T:
        """Run `fn` inside the emulator's loop; a coroutine it returns is awaited there too."""

        async def _run() -> Any:
            result = fn()
            return await result if inspect.isawaitable(result) else result

        return asyncio.run_coroutine_threadsafe(_run(), self.loop).result(timeout)

    def requests(self) -> list[RecordedRequest]:
        return self.call(lambda: request_log(self.k))

    def write_kubeconfig(self, path: str | Path, namespace: str = "default") -> str:
        Path(path).write_text(kubeconfig_text(self.url, namespace))
        return str(path)
