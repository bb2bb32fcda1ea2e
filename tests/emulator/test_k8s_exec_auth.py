"""kubeconfig users with an `exec` credential plugin (EKS, GKE, AKS, kubelogin): the operator runs
the plugin, sends its token from both kopf and its own client, and runs it again near expiry.

The plugin is a small script printing an ExecCredential whose token names its invocation
(`exec-token-N`) and which expires in 60 s: inside the `kubernetes` library's 5-minute skew, so
every refresh the operator asks for re-runs it. The refresh floor runs on an injected clock.
"""

from __future__ import annotations

import sys
import textwrap
from collections.abc import Iterator
from pathlib import Path

import pytest

from certsync_devkit.k8s_emulator import RealisticEmulator
from certsync_devkit.k8s_thread import EmulatorThread, wait_for
from certsync_devkit.operator_thread import OperatorThread
from netscaler_certsync.handlers.startup import connection_info
from netscaler_certsync.k8s import ClusterAccess, ConfigError, KubeClient
from netscaler_certsync.k8s.access import REFRESH_FLOOR
from netscaler_certsync.reconcile.context import OperatorOptions

PLUGIN = """\
#!{python}
import datetime, json, pathlib
counter = pathlib.Path({counter!r})
n = int(counter.read_text() or 0) + 1 if counter.exists() else 1
counter.write_text(str(n))
expiry = datetime.datetime.now(datetime.UTC) + datetime.timedelta(seconds=60)
print(json.dumps({{
    "apiVersion": "client.authentication.k8s.io/v1",
    "kind": "ExecCredential",
    "status": {{"token": f"exec-token-{{n}}", "expirationTimestamp": expiry.strftime("%Y-%m-%dT%H:%M:%SZ")}},
}}))
"""


class FakeClock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


class Plugin:
    """The exec plugin's files: its kubeconfig and how often it ran."""

    def __init__(self, tmp: Path, server: str, *, fail: bool = False) -> None:
        self.counter = tmp / "invocations"
        script = tmp / "credential-plugin"
        body = PLUGIN.format(python=sys.executable, counter=str(self.counter))
        script.write_text(body if not fail else f"#!{sys.executable}\nraise SystemExit(3)\n")
        script.chmod(0o700)
        self.kubeconfig = tmp / "kubeconfig"
        self.kubeconfig.write_text(
            textwrap.dedent(
                f"""\
                apiVersion: v1
                kind: Config
                clusters:
                - name: c
                  cluster: {{server: "{server}"}}
                users:
                - name: u
                  user:
                    exec:
                      apiVersion: client.authentication.k8s.io/v1
                      command: {script}
                      interactiveMode: Never
                contexts:
                - name: x
                  context: {{cluster: c, user: u, namespace: certs}}
                current-context: x
                """
            )
        )

    @property
    def runs(self) -> int:
        return int(self.counter.read_text()) if self.counter.exists() else 0


def _authorizations(k: RealisticEmulator) -> list[str | None]:
    return [r.headers.get("Authorization") for r in k]


async def test_the_client_sends_the_plugin_token_and_refreshes_it(
    k8s: RealisticEmulator, tmp_path: Path
) -> None:
    plugin = Plugin(tmp_path, str(k8s.url).rstrip("/"))
    clock = FakeClock()
    access = ClusterAccess.from_kubeconfig(plugin.kubeconfig, clock=clock)
    assert (plugin.runs, access.namespace) == (1, "certs")
    assert "exec-token" not in repr(access)
    async with KubeClient(access) as api:
        await api.list_secrets("default")
        await api.list_secrets("default")
        assert plugin.runs == 1  # within the refresh floor: no new process per request
        clock.now += REFRESH_FLOOR
        await api.list_secrets("default")
        assert plugin.runs == 2
    assert _authorizations(k8s) == ["Bearer exec-token-1"] * 2 + ["Bearer exec-token-2"]


def test_kopf_logs_in_with_the_refreshed_plugin_token(tmp_path: Path) -> None:
    plugin = Plugin(tmp_path, "http://127.0.0.1:9")
    clock = FakeClock()
    access = ClusterAccess.from_kubeconfig(plugin.kubeconfig, clock=clock)
    first = connection_info(access)
    assert (first.scheme, first.token, plugin.runs) == ("Bearer", "exec-token-1", 1)
    clock.now += REFRESH_FLOOR  # kopf logs in again (on a 401): it gets a fresh credential
    assert connection_info(access).token == "exec-token-2" and plugin.runs == 2


def test_a_failing_plugin_is_a_config_error(tmp_path: Path) -> None:
    plugin = Plugin(tmp_path, "http://127.0.0.1:9", fail=True)
    with pytest.raises(ConfigError, match="credential plugin gave no token"):
        ClusterAccess.from_kubeconfig(plugin.kubeconfig)


@pytest.fixture()
def emulator() -> Iterator[EmulatorThread]:
    with EmulatorThread() as emu:
        yield emu


def test_the_operator_authenticates_kopf_and_its_own_client_with_the_plugin(
    emulator: EmulatorThread, tmp_path: Path
) -> None:
    plugin = Plugin(tmp_path, emulator.url)
    access = ClusterAccess.from_kubeconfig(plugin.kubeconfig)
    with OperatorThread(access, OperatorOptions()):

        def seen() -> list[tuple[str, str | None]]:
            return emulator.call(lambda: [(r.url.path, r.headers.get("Authorization")) for r in emulator.k])

        wait_for(
            lambda: (
                any(p.startswith("/apis/netscaler.certsync.dev/") for p, _ in seen())
                and any(p.endswith("/secrets") for p, _ in seen())
            ),
            timeout=30,
        )
    requests = seen()
    assert {auth for _, auth in requests} == {"Bearer exec-token-1"}
    assert any(p.startswith("/apis/netscaler.certsync.dev/") for p, _ in requests)  # kopf's watches
    assert any(p.endswith("/secrets") for p, _ in requests)  # the operator's own Secret watch
    assert plugin.runs == 1
