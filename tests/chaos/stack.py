"""The processes of a chaos run: the emulated Kubernetes API served standalone, the operator as
`netscaler-certsync run` (killed with SIGKILL and restarted at will), the NITRO simulator.

Each is started here and stopped by its own handle. The emulator's module is named in one place
(`K8S_SERVE`), so moving the test kit is a one-line change.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
from pathlib import Path
from typing import IO

from kubernetes import client, config

import certsync_devkit
from certsync_devkit.k8s_thread import wait_for
from netscaler_certsync.simulator import SimulatorConfig, SimulatorThread

#: The emulated Kubernetes API, served for other processes (kubeconfig written on start).
K8S_SERVE = "certsync_devkit.k8s_serve"


class Emulator:
    """`python -m K8S_SERVE` as its own process; the operator and the test reach it by kubeconfig."""

    def __init__(self, workdir: Path) -> None:
        self.kubeconfig = workdir / "kubeconfig"
        self._log = (workdir / "emulator.log").open("w")
        devkit = str(Path(certsync_devkit.__file__).resolve().parent.parent)  # not installed: on the path
        path = os.pathsep.join(p for p in (devkit, os.environ.get("PYTHONPATH")) if p)
        self.proc = subprocess.Popen(
            [sys.executable, "-m", K8S_SERVE, "--kubeconfig", str(self.kubeconfig)],
            env={**os.environ, "PYTHONPATH": path},
            stdout=self._log,
            stderr=subprocess.STDOUT,
        )
        log = workdir / "emulator.log"

        def listening() -> bool:  # the kubeconfig is written once it listens
            if self.proc.poll() is not None:
                raise RuntimeError(f"emulator exited before it listened: see {log}")
            return self.kubeconfig.exists()

        wait_for(listening, timeout=30, what=f"the emulated API to listen (see {log})", interval=0.05)
        self.api = config.new_client_from_config(config_file=str(self.kubeconfig))

    def stop(self) -> None:
        self.api.close()
        self.proc.send_signal(signal.SIGTERM)
        try:
            self.proc.wait(timeout=15)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait(timeout=15)
        self._log.close()


class Operator:
    """The operator process; `kill()` is kill -9 (no clean-up, no logout), `start()` a new one."""

    def __init__(self, kubeconfig: Path, log_path: Path) -> None:
        self.kubeconfig = kubeconfig
        self._log: IO[str] = log_path.open("w")
        self.proc: subprocess.Popen[bytes] | None = None
        self.kills = 0

    def start(self) -> None:
        assert self.proc is None or self.proc.poll() is not None, "already running"
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "netscaler_certsync", "run", "--liveness", "", "--metrics-port", "0",
             "--verbose"],
            env={**os.environ, "KUBECONFIG": str(self.kubeconfig)},
            stdout=self._log,
            stderr=subprocess.STDOUT,
        )  # fmt: skip

    def kill(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            self.proc.kill()  # SIGKILL: whatever it was doing stops mid-way
            self.proc.wait(timeout=15)
            self.kills += 1

    def alive(self) -> bool:
        return self.proc is not None and self.proc.poll() is None

    def stop(self) -> None:
        if self.alive():
            assert self.proc is not None
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(timeout=30)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(timeout=15)
        self._log.close()


def start_simulator(seed: int) -> SimulatorThread:
    cfg = SimulatorConfig(
        ssl_vservers=("vs_https", "vs_two", "vs_foreign", "cs_sni:cs"),
        sni_vservers=("cs_sni",),
        seed=seed,
        log_requests=False,
    )
    return SimulatorThread(cfg).start()


def core(api: client.ApiClient) -> client.CoreV1Api:
    return client.CoreV1Api(api)
