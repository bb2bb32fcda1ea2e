"""`make demo` keeps working: both demos run to the end and show what they claim."""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest

from certsync_devkit.demo.__main__ import nitro_demo
from certsync_devkit.demo.operator_demo import operator_demo
from certsync_devkit.k8s_thread import EmulatorThread
from certsync_devkit.operator_thread import OperatorThread


def test_operator_demo(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert operator_demo(workdir=tmp_path) == 0
    out = capsys.readouterr().out
    assert "simulator   True    Connected" in out
    assert "demo   True    Synced" in out
    assert "same certkey, same binding, new serial" in out
    assert "vs_https <- default-demo-tls (default certificate)" in out
    assert out.rstrip().endswith("appliance invariants: consistent")
    # After the deletion nothing of ours is left on the appliance.
    assert out.split("3. delete the CertificateSync")[1].count("certkeys (0,") == 1


def test_nitro_session_demo(capsys: pytest.CaptureFixture[str]) -> None:
    assert asyncio.run(nitro_demo()) == 0
    out = capsys.readouterr().out
    for step in ("1. upload", "2. add", "3. bind", "4. renew in place", "5. save", "6. logged out"):
        assert step in out
    assert "POST   nsconfig" in out and "POST   logout" in out


def test_real_cluster_demo_refuses_when_another_operator_runs(
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
    emulator: EmulatorThread,
    operator: OperatorThread,
) -> None:
    # `--real-cluster` uses the current kube context: here the emulated API, where `operator`
    # (the one already running in that cluster) reconciles every namespace.
    monkeypatch.setenv("KUBECONFIG", str(emulator.write_kubeconfig(tmp_path / "kubeconfig")))
    assert operator_demo(real_cluster=True, workdir=tmp_path) == 2
    out = capsys.readouterr().out
    assert "another netscaler-certsync operator is running in this cluster" in out
    assert "added the finalizer netscaler.certsync.dev/cleanup" in out
    assert "1. apply" not in out, "the demo stops before it applies anything"
