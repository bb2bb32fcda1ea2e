"""The whole operator for benchmarks: emulated Kubernetes, simulated appliance, operator process.

`OperatorStack` starts an `EmulatorThread` and a `SimulatorThread` in this process and the
operator as a separate process (`python -m netscaler_certsync run`), so that the operator's
resident memory (/proc/<pid>/status) is its own and it has its own interpreter lock, as in a pod.
Test data goes straight into the emulator's store (`create_object`: the same stamps and watch
events as a POST, without HTTP), because creating thousands of objects over HTTP would time the
emulator, not the operator. Renewals go over HTTP, as a user's (or cert-manager's) PATCH would.
"""

from __future__ import annotations

import contextlib
import gc
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterable, Iterator, Mapping
from pathlib import Path
from typing import Any

import httpx

from certsync_devkit import k8s_builders as build
from certsync_devkit.k8s_thread import CRD_GROUP, CRD_VERSION, EmulatorThread, wait_for
from certsync_devkit.pki import Issued, TestPKI
from netscaler_certsync.simulator import SimulatorConfig, SimulatorThread

__all__ = ["NS", "OperatorStack", "memory_mb"]

NS = "default"
VSERVER = "vs_sni"


def memory_mb(pid: int) -> tuple[float, float]:
    """(VmRSS, VmHWM) of a process in MiB, from /proc/<pid>/status."""
    fields: dict[str, float] = {}
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        key, _, value = line.partition(":")
        if key in ("VmRSS", "VmHWM"):
            fields[key] = int(value.split()[0]) / 1024  # kB
    return fields["VmRSS"], fields["VmHWM"]


def cpu_seconds(pid: int) -> float:
    """User plus system CPU time a process has used so far (/proc/<pid>/stat)."""
    fields = Path(f"/proc/{pid}/stat").read_text().rpartition(")")[2].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def settle(pid: int, quiet: float = 0.05, window: float = 1.0, timeout: float = 20) -> float:
    """Wait until the process uses less than `quiet` of a CPU over `window` seconds, at most
    `timeout` seconds; returns its CPU use (fraction of one core) over the last window."""
    deadline = time.monotonic() + timeout
    before = cpu_seconds(pid)
    while True:
        time.sleep(window)
        now = cpu_seconds(pid)
        busy = (now - before) / window
        if busy < quiet or time.monotonic() > deadline:
            return busy
        before = now


IMPORT_STEPS = (
    ("interpreter", ""),
    ("+ httpx, cryptography", "import httpx, cryptography.x509"),
    (
        "+ kopf (aiohttp), as `run` imports it: without the kubernetes client",
        "from netscaler_certsync.commands.run import import_kopf_without_the_kubernetes_client as k; k()",
    ),
    ("+ the operator's modules (in a pod: all it loads)", "import netscaler_certsync.runtime"),
    ("+ the kubernetes client (only to read a kubeconfig)", "import kubernetes.config"),
)


def freeze_harness() -> None:
    """Before timing: the objects alive in this process are never collected again.

    The emulated API and the simulators live in this process. A full collection of their
    objects took 0.5-0.9 s at 5,000 syncs (more as the store grows), and every request the
    operator made waited for it: the slowest renewal of a run was this process's pause, not
    the operator's (traced, docs/benchmarks.md). What the timed part allocates is collected
    as usual."""
    gc.collect()
    gc.freeze()


def import_footprint() -> list[tuple[str, float]]:
    """VmRSS of a fresh interpreter after each import step: where the idle memory goes."""
    script = "; ".join(
        f"{code + '; ' if code else ''}print(open('/proc/self/status').read().split('VmRSS:')[1].split()[0])"
        for _, code in IMPORT_STEPS
    )
    out = subprocess.run(
        [sys.executable, "-c", script], capture_output=True, text=True, check=True
    ).stdout.split()
    return [(label, int(kb) / 1024) for (label, _), kb in zip(IMPORT_STEPS, out, strict=True)]


def _ready(obj: Mapping[str, Any]) -> bool:
    status = obj.get("status") or {}
    ready = next((c for c in status.get("conditions") or () if c.get("type") == "Ready"), {})
    gen = (obj.get("metadata") or {}).get("generation")
    return ready.get("status") == "True" and status.get("observedGeneration") == gen


class OperatorStack:
    """Emulator + simulator in threads, the operator in a child process; use as a context manager."""

    def __init__(self, pki: TestPKI) -> None:
        self.pki = pki
        self._tmp = Path(tempfile.mkdtemp(prefix="bench-operator-"))
        self.emulator = EmulatorThread()
        config = SimulatorConfig(ssl_vservers=(VSERVER,), sni_vservers=(VSERVER,), log_requests=False)
        self.simulator = SimulatorThread(config)
        self.process: subprocess.Popen[bytes] | None = None
        self.others: list[subprocess.Popen[bytes]] = []
        """Further operator processes (the shards after the first, see `start_shards`)."""
        self.http: httpx.Client | None = None
        self._traces: Path | None = None
        self._snapshots = 0

    # ------------------------------------------------------------------ lifecycle
    def __enter__(self) -> OperatorStack:
        self.emulator.start()
        self.simulator.start()
        self.http = httpx.Client(
            base_url=self.emulator.url, headers={"Authorization": "Bearer bench"}, timeout=30
        )
        return self

    def __exit__(self, *_: object) -> None:
        self.stop_operator()
        if self.http is not None:
            self.http.close()
        self.simulator.stop()
        self.emulator.stop()
        shutil.rmtree(self._tmp, ignore_errors=True)  # the operator's log and kubeconfig

    def start_shards(self, shards: int, args: tuple[str, ...] = ()) -> list[int]:
        """Start one operator process per shard (`--shard 0` .. `--shard K-1`, each under its own
        Lease, with `args` too); the first is `self.process`, the others `self.others`. Returns
        their pids."""
        pids = [self.start_operator(args=("--shard", "0", *args))]
        for shard in range(1, shards):
            pids.append(self._spawn(None, ("--shard", str(shard), *args), f"operator-{shard}.log"))
        return pids

    def pids(self) -> list[int]:
        return [p.pid for p in (self.process, *self.others) if p is not None]

    def start_operator(
        self, profile: Path | None = None, args: tuple[str, ...] = (), trace_memory: Path | None = None
    ) -> int:
        """Start `netscaler-certsync run` against the emulator; returns its pid. With `profile`,
        under cProfile: the statistics are written there when the process stops (SIGTERM).
        With `trace_memory` (a directory), under tracemalloc: each SIGUSR1 writes a snapshot
        there (`snapshot-1.bin`, `snapshot-2.bin`, ...; see `memory_snapshot`)."""
        return self._spawn(profile, args, "operator.log", first=True, trace_memory=trace_memory)

    def memory_snapshot(self, timeout: float = 120) -> Path:
        """Have the operator (started with `trace_memory`) write its next tracemalloc snapshot;
        returns the file once it is complete."""
        assert self.process is not None and self._traces is not None
        self._snapshots += 1
        path = self._traces / f"snapshot-{self._snapshots}.bin"
        os.kill(self.process.pid, signal.SIGUSR1)
        done = path.with_suffix(".done")
        wait_for(done.exists, timeout, "the tracemalloc snapshot", interval=0.2)
        return path

    def _spawn(
        self,
        profile: Path | None,
        args: tuple[str, ...],
        log_name: str,
        *,
        first: bool = False,
        trace_memory: Path | None = None,
    ) -> int:
        kubeconfig = self.emulator.write_kubeconfig(self._tmp / "kubeconfig")
        env = {**os.environ, "KUBECONFIG": kubeconfig}
        log = (self._tmp / log_name).open("wb")
        launcher = "import sys; from netscaler_certsync.cli import main; sys.exit(main())"
        if profile is not None:
            launcher = (
                "import cProfile, sys; from netscaler_certsync.cli import main; "
                f"sys.exit(cProfile.run('main()', {str(profile)!r}))"
            )
        if trace_memory is not None:  # opt-in: tracemalloc slows the operator about twofold
            trace_memory.mkdir(parents=True, exist_ok=True)
            self._traces, self._snapshots = trace_memory, 0
            launcher = (
                "import itertools, os, signal, tracemalloc; n = itertools.count(1)\n"
                "frames = int(os.environ.get('BENCH_TRACE_FRAMES', '1'))  # 0: resident memory only\n"
                "if frames: tracemalloc.start(frames)\n"
                "def dump(*_):\n"
                f"    p = {str(trace_memory)!r} + f'/snapshot-{{next(n)}}'\n"
                "    import gc; gc.collect()\n"
                "    if os.environ.get('BENCH_MALLOC_TRIM'):  # what the C heap holds free\n"
                "        import ctypes; ctypes.CDLL('libc.so.6').malloc_trim(0)\n"
                "    if frames: tracemalloc.take_snapshot().dump(p + '.bin')\n"
                "    open(p + '.done', 'w').close()\n"
                "signal.signal(signal.SIGUSR1, dump)\n"
            ) + launcher
        process = subprocess.Popen(
            [sys.executable, "-c", launcher, "run", "--liveness", "", "--metrics-port", "0", *args],
            env=env,
            stdout=log,
            stderr=subprocess.STDOUT,
        )
        if first:
            self.process = process
        else:
            self.others.append(process)
        return process.pid

    def stop_operator(self) -> None:
        for process in (self.process, *self.others):
            if process is None:
                continue
            process.terminate()
            try:
                process.wait(15)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait(5)
        self.process, self.others = None, []

    def memory(self) -> tuple[float, float]:
        assert self.process is not None and self.process.poll() is None, self.log_tail()
        return memory_mb(self.process.pid)

    def log_tail(self, lines: int = 20) -> str:
        path = self._tmp / "operator.log"
        return "\n".join(path.read_text(errors="replace").splitlines()[-lines:]) if path.exists() else ""

    # ------------------------------------------------------------------ cluster contents
    def create(self, objects: Iterable[dict[str, Any]]) -> int:
        """Store objects in the emulator (watchers see ADDED events); returns how many."""
        batch = list(objects)

        async def go() -> None:
            for obj in batch:
                await self.emulator.k.create_object(obj)

        self.emulator.call(go, timeout=600)
        return len(batch)

    def connection(self, name: str = "adc") -> None:
        sim = self.simulator
        self.create(
            [
                build.credentials_secret(f"{name}-login", "nsroot", "nsroot", namespace=NS),
                build.opaque_secret(f"{name}-ca", {"ca.crt": sim.ca_pem}, namespace=NS),
                build.netscaler_connection(
                    name,
                    {
                        "endpoint": sim.url,
                        "credentialsSecretRef": {"name": f"{name}-login"},
                        "tls": {"caSecretRef": {"name": f"{name}-ca"}},
                    },
                    namespace=NS,
                ),
            ]
        )

    def tls_secret(self, name: str, leaf: Issued, **kw: Any) -> dict[str, Any]:
        return build.tls_secret(name, leaf.cert_pem + self.pki.intermediate.cert_pem, leaf.key_pem, **kw)

    @staticmethod
    def sync(name: str, secret: str, drift_interval: float | None = None) -> dict[str, Any]:
        spec: dict[str, Any] = {
            "connectionRefs": [{"name": "adc"}],
            "certificates": [{"secretName": secret}],
            "bindings": [{"vserver": VSERVER, "sni": True}],
        }
        if drift_interval is not None:
            spec["driftCheckIntervalSeconds"] = drift_interval
        return build.certificate_sync(name, spec, namespace=NS)

    def objects(self, plural: str) -> list[dict[str, Any]]:
        """Live objects of one of our kinds, read inside the emulator's loop (no HTTP)."""

        def read() -> list[dict[str, Any]]:
            return [
                obj.raw
                for (res, _, _), obj in self.emulator.k.objects.items()
                if res.group == CRD_GROUP and res.version == CRD_VERSION and res.plural == plural
                if not obj.deleted
            ]

        return self.emulator.call(read, timeout=60)

    def ready_syncs(self) -> dict[str, dict[str, Any]]:
        return {o["metadata"]["name"]: o for o in self.objects("certificatesyncs") if _ready(o)}

    def connection_ready(self) -> bool:
        return any(_ready(o) for o in self.objects("netscalerconnections"))

    # ------------------------------------------------------------------ renewal
    def patch_secret(self, name: str, leaf: Issued) -> None:
        assert self.http is not None
        crt = leaf.cert_pem + self.pki.intermediate.cert_pem
        body = {"data": {"tls.crt": build.b64(crt), "tls.key": build.b64(leaf.key_pem)}}
        reply = self.http.patch(
            f"/api/v1/namespaces/{NS}/secrets/{name}",
            json=body,
            headers={"Content-Type": "application/merge-patch+json"},
        )
        reply.raise_for_status()

    def status_serial(self, sync: str) -> str | None:
        """The serial the CertificateSync's status reports (a GET, as `kubectl get` would)."""
        assert self.http is not None
        reply = self.http.get(f"/apis/{CRD_GROUP}/{CRD_VERSION}/namespaces/{NS}/certificatesyncs/{sync}")
        reply.raise_for_status()
        entries = (reply.json().get("status") or {}).get("certificates") or [{}]
        return entries[0].get("serial")

    def certkey_lists(self, since: int = 0) -> int:
        """NITRO `GET sslcertkey` listings (no name) in the simulator's log from index `since`.

        A reconcile makes one when it gathers the appliance's state under the appliance's lock,
        unless it starts from a recent shared listing (engine/snapshot.py)."""
        return sum(
            1
            for r in self.simulator.requests[since:]
            if r.method == "GET" and r.resource == "sslcertkey" and not r.name
        )

    def saves(self, since: int = 0) -> int:
        """`save ns config` requests in the simulator's log from index `since`."""
        return sum(1 for r in self.simulator.requests[since:] if r.resource == "nsconfig" and r.is_write)

    def expire_watches(self) -> None:
        """Compact the emulated API's watch history: every open watch ends with 410 Gone and its
        client must list everything again, as after an API server restart or etcd compaction."""
        self.emulator.call(self.emulator.k.expire_watches, timeout=60)

    def appliance_serial(self, certkey: str) -> str | None:
        """The serial the simulated appliance holds for `certkey` (a dict read, no request)."""
        found = self.simulator.state.default.certkeys.get(certkey)
        return found.info.serial if found is not None else None


@contextlib.contextmanager
def running(pki: TestPKI) -> Iterator[OperatorStack]:
    with OperatorStack(pki) as stack:
        yield stack
