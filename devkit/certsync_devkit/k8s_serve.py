"""Serve the emulated Kubernetes API for a human: `python -m certsync_devkit.k8s_serve`.

Writes a kubeconfig pointing at it, so `kubectl --kubeconfig <path> apply --validate=false -f ...`
and the operator (`KUBECONFIG=<path> netscaler-certsync run ...`) can be tried without a cluster.
Everything lives in memory and is gone on Ctrl-C. Loopback only.
"""

from __future__ import annotations

import argparse
import signal
import threading

from .k8s_thread import EmulatorThread


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m certsync_devkit.k8s_serve", description=__doc__)
    parser.add_argument(
        "--port", type=int, default=None, help="TCP port on 127.0.0.1 (default: any free one)"
    )
    parser.add_argument("--kubeconfig", default="kubeconfig.emulator", help="where to write the kubeconfig")
    args = parser.parse_args(argv)
    stop = threading.Event()
    signal.signal(signal.SIGINT, lambda *_: stop.set())
    signal.signal(signal.SIGTERM, lambda *_: stop.set())
    with EmulatorThread(port=args.port) as emulator:
        path = emulator.write_kubeconfig(args.kubeconfig)
        print(f"Kubernetes API emulator on {emulator.url}; kubeconfig: {path} (Ctrl-C stops it)", flush=True)
        stop.wait()
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
