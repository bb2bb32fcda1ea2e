"""The apiserver tier: our CRDs on a real apiextensions API server with etcd (see docs/testing.md).

Policy, from the environment variable CERTSYNC_APISERVER:

- ``auto`` (default): build or reuse the server; SKIP (loudly: a skip reason on every test plus a
  warning in the terminal summary) only when this machine cannot build it: no apt-get/dpkg, or the
  Debian archive is unreachable with nothing cached. Any other build failure FAILS.
- ``require`` (CI): every failure to build or start fails the tests; nothing is skipped.
- ``off``: skip the tier (loudly), for a quick local run.

CERTSYNC_APISERVER_BIN_DIR points at a prebuilt directory (apiext-server, etcd) and skips the build.

The build runs once per session right after collection, outside any test's timeout (it takes about
3.5 min cold on 2 cores, about a second when cached), with its progress printed to the terminal.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import subprocess
import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import kmock
import pytest
from kubernetes import client, config

from certsync_devkit.k8s_thread import EmulatorThread, kubeconfig_text
from tests.apiserver.apiserver_harness import (
    EXIT_ARCHIVE_UNREACHABLE,
    EXIT_CANNOT_BUILD_HERE,
    REPO,
    BuildError,
    RealAPIServer,
    build,
    running,
)
from tests.apiserver.apiserver_kube import CRD_NAMES, GROUP, Kube
from tests.apiserver.apiserver_proxy import ProxyThread, RoutingProxy

HERE = Path(__file__).resolve().parent
MODE_ENV = "CERTSYNC_APISERVER"
BIN_DIR_ENV = "CERTSYNC_APISERVER_BIN_DIR"


@dataclass
class TierState:
    """What the build step found out, for the fixtures and the terminal summary."""

    mode: str = "auto"
    bin_dir: Path | None = None
    skip_reason: str | None = None
    fail_reason: str | None = None
    build_seconds: float | None = None
    test_seconds: float = 0.0  # setup + call + teardown of this tier's tests, summed
    nodeids: frozenset[str] = frozenset()
    startup_seconds: float | None = None
    tests: int = 0


STATE = pytest.StashKey[TierState]()
_CURRENT: TierState | None = None


def _in_tier(item: pytest.Item) -> bool:
    return HERE in Path(item.path).parents


def _prepare(config_: pytest.Config, tests: int) -> TierState:
    state = TierState(mode=os.environ.get(MODE_ENV, "auto").strip().lower() or "auto", tests=tests)
    if state.mode not in {"auto", "require", "off"}:
        state.fail_reason = f"{MODE_ENV}={state.mode!r}: expected auto, require or off"
        return state
    if state.mode == "off":
        state.skip_reason = f"{MODE_ENV}=off: the real-API-server tier was switched off"
        return state
    prebuilt = os.environ.get(BIN_DIR_ENV)
    if prebuilt:
        state.bin_dir = Path(prebuilt)
        missing = [n for n in ("apiext-server", "etcd") if not (state.bin_dir / n).is_file()]
        if missing:
            state.fail_reason = f"{BIN_DIR_ENV}={prebuilt} lacks {', '.join(missing)}"
        return state

    reporter = config_.pluginmanager.get_plugin("terminalreporter")
    capture = config_.pluginmanager.get_plugin("capturemanager")

    def progress(line: str) -> None:
        if reporter is not None:
            reporter.write_line(line)

    try:
        # Show build progress live: a cold build takes minutes and must not look like a hang.
        with capture.global_and_fixture_disabled() if capture else contextlib.nullcontext():
            if reporter is not None:
                reporter.write_line(f"apiserver tier: build or reuse ({MODE_ENV}={state.mode})")
            state.bin_dir, state.build_seconds = build(progress)
    except BuildError as exc:
        cannot_build_here = exc.exit_code in {EXIT_CANNOT_BUILD_HERE, EXIT_ARCHIVE_UNREACHABLE}
        if cannot_build_here and state.mode == "auto":
            state.skip_reason = (
                f"this machine cannot build the real API server: {exc} "
                f"(set {MODE_ENV}=require to make this an error)"
            )
        else:
            state.fail_reason = f"building the real API server failed (exit {exc.exit_code}):\n{exc}"
    except OSError as exc:
        state.fail_reason = f"cannot run hack/apiserver/build.sh: {exc}"
    return state


def pytest_collection_finish(session: pytest.Session) -> None:
    if session.config.option.collectonly:
        return  # listing tests must not build anything
    tier = [item for item in session.items if _in_tier(item)]
    if tier and STATE not in session.config.stash:
        global _CURRENT
        _CURRENT = session.config.stash[STATE] = _prepare(session.config, len(tier))
        _CURRENT.nodeids = frozenset(item.nodeid for item in tier)


def pytest_runtest_logreport(report: pytest.TestReport) -> None:
    # The hook has no config at hand; the state of this session's tier is the module's _CURRENT.
    if _CURRENT is not None and report.nodeid in _CURRENT.nodeids:
        _CURRENT.test_seconds += report.duration


def pytest_terminal_summary(terminalreporter: Any, config: pytest.Config) -> None:
    state = config.stash.get(STATE, None)
    if state is None:
        return
    if state.skip_reason:
        terminalreporter.section("apiserver tier SKIPPED", sep="!", yellow=True, bold=True)
        terminalreporter.write_line(
            f"WARNING: {state.tests} tests against a real Kubernetes API server did NOT run: "
            f"{state.skip_reason}",
            yellow=True,
            bold=True,
        )
        return
    parts = [f"mode={state.mode}"]
    if state.build_seconds is not None:
        parts.append(f"build-or-reuse {state.build_seconds:.1f} s")
    if state.startup_seconds is not None:
        parts.append(f"etcd+apiserver ready in {state.startup_seconds:.2f} s")
    if state.test_seconds:
        # Summed per test, so it means the same inside a whole `make test` run as alone.
        total = state.test_seconds + (state.build_seconds or 0.0)
        parts.append(f"tier wall time {total:.1f} s ({state.tests} tests: {state.test_seconds:.1f} s)")
    terminalreporter.write_line("apiserver tier: " + ", ".join(parts))


@pytest.fixture(scope="session")
def tier_state(request: pytest.FixtureRequest) -> TierState:
    state = request.config.stash.get(STATE, None)
    if state is None:  # collected without our hook having run (should not happen): be explicit
        pytest.fail("apiserver tier: the build step did not run", pytrace=False)
    if state.fail_reason:
        pytest.fail(state.fail_reason, pytrace=False)
    if state.skip_reason:
        pytest.skip(state.skip_reason)
    return state


@pytest.fixture(scope="session")
def apiserver(tier_state: TierState, tmp_path_factory: pytest.TempPathFactory) -> Iterator[RealAPIServer]:
    assert tier_state.bin_dir is not None
    workdir = tmp_path_factory.mktemp("apiserver")
    with running(tier_state.bin_dir, workdir) as server:
        tier_state.startup_seconds = server.startup_seconds
        yield server


@pytest.fixture(scope="session")
def kubectl_path(tier_state: TierState) -> str:
    found = shutil.which("kubectl", path=str(REPO / ".tools" / "bin")) or shutil.which("kubectl")
    if found:
        return found
    reason = "kubectl not found: run `bash hack/tools.sh` (make test does) to get .tools/bin/kubectl"
    if tier_state.mode == "require":
        pytest.fail(reason, pytrace=False)
    pytest.skip(reason)


@pytest.fixture(scope="session")
def crds_applied(apiserver: RealAPIServer, kubectl_path: str) -> subprocess.CompletedProcess[str]:
    """`kubectl apply --server-side` of crds/, as a user installs them; waits until Established."""
    kube = Kube(apiserver, kubectl_path)
    applied = kube.kubectl("apply", "--server-side", "-f", str(REPO / "crds"))
    kube.kubectl("wait", "--for=condition=Established", "--timeout=30s", *(f"crd/{n}" for n in CRD_NAMES))
    # Established is not yet "discoverable": the discovery controller catches up asynchronously,
    # and until then `kubectl get certsync` says "doesn't have a resource type". Wait for it too.
    wanted = {name.split(".", 1)[0] for name in CRD_NAMES}
    for _ in range(100):
        listed = kube.kubectl("api-resources", f"--api-group={GROUP}", "-o", "name", check=False).stdout
        if wanted <= {line.split(".", 1)[0] for line in listed.split()}:
            return applied
        time.sleep(0.1)
    pytest.fail(f"our kinds never appeared in discovery; last listing: {listed!r}", pytrace=False)


@pytest.fixture(scope="session")
def kube(apiserver: RealAPIServer, kubectl_path: str, crds_applied: object) -> Kube:
    return Kube(apiserver, kubectl_path)


@pytest.fixture
def namespace() -> str:
    """A fresh namespace name per test (this server does not check that namespaces exist)."""
    return f"t-{uuid.uuid4().hex[:10]}"


# The routing proxy (apiserver_proxy.py): one URL, our kinds on the real server, core/v1 emulated.


def _core_only(k: kmock.KubernetesEmulator) -> None:
    # The emulator serves core/v1 and friends only: our group must come from the real server.
    k.resources.load_bundled()


@pytest.fixture(scope="session")
def emulator() -> Iterator[EmulatorThread]:
    with EmulatorThread(setup=_core_only) as emu:
        yield emu


@pytest.fixture(scope="session")
def proxy(apiserver: RealAPIServer, emulator: EmulatorThread, kube: Kube) -> Iterator[ProxyThread]:
    del kube  # requested so that our CRDs are installed first
    thread = ProxyThread(RoutingProxy(apiserver.url, apiserver.client_tls(), emulator.url)).start()
    yield thread
    thread.stop()


@pytest.fixture(scope="session")
def proxy_kubeconfig(proxy: ProxyThread, tmp_path_factory: pytest.TempPathFactory) -> str:
    path = tmp_path_factory.mktemp("proxy") / "kubeconfig"
    path.write_text(kubeconfig_text(proxy.url))
    return str(path)


@pytest.fixture(scope="session")
def via_proxy(proxy_kubeconfig: str) -> Iterator[client.ApiClient]:
    api = config.new_client_from_config(config_file=proxy_kubeconfig)
    yield api
    api.close()
