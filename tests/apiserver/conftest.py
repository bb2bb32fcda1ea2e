"""The apiserver tier: our CRDs on a real apiextensions API server with etcd (see docs/testing.md).

Policy, from the environment variable CERTSYNC_APISERVER:

- ``auto`` (default): build or reuse the server; SKIP (loudly: a skip reason on every test plus a
  warning in the terminal summary) only when this machine cannot build it: no apt-get/dpkg, or the
  Debian archive is unreachable with nothing cached. Any other build failure FAILS.
- ``require`` (CI): every failure to build or start fails the tests; nothing is skipped.
- ``off``: skip the tier (loudly), for a quick local run.

CERTSYNC_APISERVER_BIN_DIR points at a prebuilt directory (apiext-server, etcd) and skips the build.

The build runs once per session before the first test, outside any test's timeout (it takes about
3.5 min cold on 2 cores, about a second when cached), with its progress printed to the terminal;
the hooks that run it and print the tier's summary are in `apiserver_tier.py`.
"""

from __future__ import annotations

import shutil
import subprocess
import time
import uuid
from collections.abc import Iterator

import kmock
import pytest
from kubernetes import client, config

from certsync_devkit.k8s_thread import EmulatorThread, kubeconfig_text
from tests.apiserver.apiserver_harness import REPO, RealAPIServer, running
from tests.apiserver.apiserver_kube import CRD_NAMES, GROUP, Kube
from tests.apiserver.apiserver_proxy import ProxyThread, RoutingProxy
from tests.apiserver.apiserver_tier import STATE, TierState


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
