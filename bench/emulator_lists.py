"""How long the emulated Kubernetes API takes to answer a LIST of N TLS Secrets and N CertificateSyncs.

Not a `bench_*` module (`make bench` does not run it): a check of the benchmark harness itself,
for reading the scale benchmark's relist numbers (docs/benchmarks.md, "Scale: against the
issue's targets"). The objects are stored directly in the emulator (its own thread), then listed
twice each over HTTP from this thread; CertificateSyncs carry no status here.

Usage: python -m bench.emulator_lists [N]   (default 10,000)
"""

from __future__ import annotations

import sys
import time
from typing import Any

import httpx

from certsync_devkit import k8s_builders as build
from certsync_devkit.k8s_thread import EmulatorThread
from certsync_devkit.pki import TestPKI
from netscaler_certsync.k8s import keys


def main(count: int) -> None:
    pki = TestPKI.create("Lists")
    leaf = pki.leaf("list.example.com")
    objects: list[dict[str, Any]] = []
    for i in range(count):
        objects.append(build.tls_secret(f"s{i}", leaf.cert_pem + pki.intermediate.cert_pem, leaf.key_pem))
        spec = {"connectionRefs": [{"name": "adc"}], "certificates": [{"secretName": f"s{i}"}]}
        objects.append(build.certificate_sync(f"s{i}", spec))
    emulator = EmulatorThread().start()
    try:

        async def store() -> None:
            for obj in objects:
                await emulator.k.create_object(obj)

        emulator.call(store, timeout=600)
        lists = (
            ("/api/v1/secrets", {"fieldSelector": "type=kubernetes.io/tls"}),
            (f"/apis/{keys.GROUP}/{keys.VERSION}/{keys.SYNC_PLURAL}", {}),
        )
        with httpx.Client(
            base_url=emulator.url, headers={"Authorization": "Bearer bench"}, timeout=120
        ) as http:
            for path, params in lists:
                for _ in range(2):
                    began = time.perf_counter()
                    reply = http.get(path, params=params)
                    took = time.perf_counter() - began
                    items = len(reply.json()["items"])
                    print(f"LIST {path}: {items} items, {len(reply.content) / 1e6:.1f} MB, {took:.2f} s")
    finally:
        emulator.stop()


if __name__ == "__main__":
    main(int(sys.argv[1]) if len(sys.argv) > 1 else 10_000)
