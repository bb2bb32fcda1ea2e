"""Build-or-reuse and run a real apiextensions API server with etcd, on loopback, for this tier.

`build()` runs hack/apiserver/build.sh (Debian packages, cached outside the work tree) and returns
the directory holding `apiext-server` and `etcd`. `RealAPIServer.start()` starts both on free
loopback ports with a throw-away data directory and PKI, waits for /readyz and writes a kubeconfig
whose user is an admin client certificate (group system:masters, the only identity this server's
delegated authorizer lets through without RBAC). `stop()` ends both processes.

Kept free of pytest so a human can start the same server from a Python prompt to poke at it.
"""

from __future__ import annotations

import contextlib
import ctypes
import datetime as dt
import os
import signal
import socket
import ssl
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path

import httpx
import yaml
from cryptography import x509
from cryptography.hazmat.primitives import hashes
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

from certsync_devkit.pki import Issued, make_ca, make_leaf, new_key

REPO = Path(__file__).resolve().parents[2]
BUILD_SCRIPT = REPO / "hack" / "apiserver" / "build.sh"

# build.sh's exit statuses (see its header).
EXIT_CANNOT_BUILD_HERE = 2
EXIT_ARCHIVE_UNREACHABLE = 3

# The server has no core/v1, so admission plugins that need core informers would block requests,
# and priority-and-fairness needs flowcontrol objects nobody serves.
_DISABLED_ADMISSION = (
    "NamespaceLifecycle,MutatingAdmissionPolicy,MutatingAdmissionWebhook,"
    "ValidatingAdmissionPolicy,ValidatingAdmissionWebhook"
)


class BuildError(RuntimeError):
    """build.sh failed; `exit_code` tells "cannot build here" (2, 3) from a real failure (1)."""

    def __init__(self, exit_code: int, message: str) -> None:
        super().__init__(message)
        self.exit_code = exit_code


def build(progress: Callable[[str], None]) -> tuple[Path, float]:
    """Run build.sh, streaming its progress lines; return (bin dir, wall seconds)."""
    started = time.monotonic()
    proc = subprocess.Popen(
        ["bash", str(BUILD_SCRIPT)],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    assert proc.stderr is not None and proc.stdout is not None
    tail: list[str] = []
    for line in proc.stderr:
        progress(line.rstrip())
        tail = [*tail[-9:], line.rstrip()]
    out = proc.stdout.read().strip()
    code = proc.wait()
    if code != 0:
        # build.sh states the cause on its "ERROR:" line; the rest is context for real failures.
        errors = [line.split("ERROR: ", 1)[1] for line in tail if "ERROR: " in line]
        if errors and code in {EXIT_CANNOT_BUILD_HERE, EXIT_ARCHIVE_UNREACHABLE}:
            raise BuildError(code, "; ".join(errors))
        raise BuildError(code, "\n".join(tail) or f"build.sh exited with status {code}")
    return Path(out.splitlines()[-1]), time.monotonic() - started


def free_port() -> int:
    """A loopback port that was free a moment ago (the kernel does not hand it out again at once)."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _die_with_parent() -> None:
    """Runs in the child before exec: SIGTERM it when pytest dies, so no server outlives a killed run."""
    with contextlib.suppress(OSError, AttributeError):
        pr_set_pdeathsig = 1
        ctypes.CDLL("libc.so.6", use_errno=True).prctl(pr_set_pdeathsig, signal.SIGTERM)


def _admin_client_cert(ca: Issued) -> Issued:
    """A client certificate in group system:masters (O=), which bypasses the delegated authorizer."""
    key = new_key()
    now = dt.datetime.now(dt.UTC) - dt.timedelta(minutes=5)
    subject = x509.Name(
        [
            x509.NameAttribute(NameOID.ORGANIZATION_NAME, "system:masters"),
            x509.NameAttribute(NameOID.COMMON_NAME, "certsync-test-admin"),
        ]
    )
    cert = (
        x509.CertificateBuilder()
        .subject_name(subject)
        .issuer_name(ca.cert.subject)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now)
        .not_valid_after(now + dt.timedelta(days=1))
        .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
        .add_extension(x509.ExtendedKeyUsage([ExtendedKeyUsageOID.CLIENT_AUTH]), critical=False)
        .sign(ca.key, hashes.SHA256())
    )
    return Issued(cert, key)


@dataclass
class RealAPIServer:
    """etcd + apiext-server on loopback; `kubeconfig` is usable by kubectl and the Python client."""

    bin_dir: Path
    workdir: Path
    url: str = ""
    kubeconfig: Path = field(default_factory=Path)
    startup_seconds: float = 0.0
    pki: dict[str, Path] = field(default_factory=dict)
    _procs: list[subprocess.Popen[bytes]] = field(default_factory=list)

    def _spawn(self, name: str, args: list[str]) -> subprocess.Popen[bytes]:
        log = (self.workdir / f"{name}.log").open("wb")
        proc = subprocess.Popen(
            [str(self.bin_dir / name), *args],
            stdout=log,
            stderr=subprocess.STDOUT,
            stdin=subprocess.DEVNULL,
            preexec_fn=_die_with_parent if sys.platform == "linux" else None,
        )
        log.close()
        self._procs.append(proc)
        return proc

    def log_tail(self, name: str, lines: int = 15) -> str:
        path = self.workdir / f"{name}.log"
        text = path.read_text(errors="replace") if path.exists() else ""
        return "\n".join(text.splitlines()[-lines:])

    def _wait(self, what: str, proc: subprocess.Popen[bytes], ready: Callable[[], bool]) -> None:
        # Poll up to 300 times, 0.1 s apart: the server is ready in about 0.5 s on 2 cores.
        for _ in range(300):
            if proc.poll() is not None:
                raise RuntimeError(f"{what} exited with {proc.returncode}:\n{self.log_tail(what)}")
            with contextlib.suppress(httpx.HTTPError):
                if ready():
                    return
            time.sleep(0.1)
        raise RuntimeError(f"{what} not ready after 30 s:\n{self.log_tail(what)}")

    def _write_pki(self) -> dict[str, Path]:
        pki = self.workdir / "pki"
        pki.mkdir()
        ca = make_ca("certsync apiserver-tier CA")
        serving = make_leaf(ca, "127.0.0.1", sans=["127.0.0.1", "localhost"], days=2)
        admin = _admin_client_cert(ca)
        files = {
            "ca": (ca.cert_pem, 0o644),
            "serving.crt": (serving.cert_pem, 0o644),
            "serving.key": (serving.key_pem, 0o600),
            "admin.crt": (admin.cert_pem, 0o644),
            "admin.key": (admin.key_pem, 0o600),
        }
        paths = {}
        for name, (data, mode) in files.items():
            path = pki / name
            path.write_bytes(data)
            path.chmod(mode)
            paths[name] = path
        return paths

    def _write_kubeconfig(self, path: Path, pki: dict[str, Path], *, verify: bool) -> Path:
        cluster: dict[str, object] = {"server": self.url}
        if verify:
            cluster["certificate-authority"] = str(pki["ca"])
        else:
            cluster["insecure-skip-tls-verify"] = True
        config = {
            "apiVersion": "v1",
            "kind": "Config",
            "clusters": [{"name": "apiserver-tier", "cluster": cluster}],
            "users": [
                {
                    "name": "admin",
                    "user": {
                        "client-certificate": str(pki["admin.crt"]),
                        "client-key": str(pki["admin.key"]),
                    },
                }
            ],
            "contexts": [
                {"name": "apiserver-tier", "context": {"cluster": "apiserver-tier", "user": "admin"}}
            ],
            "current-context": "apiserver-tier",
        }
        path.write_text(yaml.safe_dump(config, sort_keys=False))
        path.chmod(0o600)
        return path

    def start(self) -> RealAPIServer:
        started = time.monotonic()
        pki = self.pki = self._write_pki()
        etcd_port, peer_port, api_port = free_port(), free_port(), free_port()
        self.url = f"https://127.0.0.1:{api_port}"
        self.kubeconfig = self._write_kubeconfig(self.workdir / "admin.kubeconfig", pki, verify=True)
        # The server's own "core API" and delegated authn/authz clients must point somewhere;
        # without these kubeconfigs it falls back to in-cluster config and refuses to start.
        self_config = self._write_kubeconfig(self.workdir / "self.kubeconfig", pki, verify=False)

        etcd_url = f"http://127.0.0.1:{etcd_port}"
        peer_url = f"http://127.0.0.1:{peer_port}"
        etcd = self._spawn(
            "etcd",
            [
                f"--data-dir={self.workdir / 'etcd-data'}",
                f"--listen-client-urls={etcd_url}",
                f"--advertise-client-urls={etcd_url}",
                f"--listen-peer-urls={peer_url}",
                f"--initial-advertise-peer-urls={peer_url}",
                f"--initial-cluster=default={peer_url}",
                "--unsafe-no-fsync",  # throw-away data: durability only costs time here
                "--log-level=warn",
            ],
        )
        self._wait("etcd", etcd, lambda: httpx.get(f"{etcd_url}/health", timeout=1).status_code == 200)

        api = self._spawn(
            "apiext-server",
            [
                f"--etcd-servers={etcd_url}",
                "--bind-address=127.0.0.1",
                f"--secure-port={api_port}",
                f"--tls-cert-file={pki['serving.crt']}",
                f"--tls-private-key-file={pki['serving.key']}",
                f"--client-ca-file={pki['ca']}",
                f"--kubeconfig={self_config}",
                f"--authentication-kubeconfig={self_config}",
                "--authentication-skip-lookup",
                f"--authorization-kubeconfig={self_config}",
                "--authorization-always-allow-paths=/healthz,/readyz,/livez,/version,/openapi/v2,/openapi/v3",
                f"--disable-admission-plugins={_DISABLED_ADMISSION}",
                "--enable-priority-and-fairness=false",
            ],
        )
        trust = ssl.create_default_context(cafile=str(pki["ca"]))
        self._wait(
            "apiext-server",
            api,
            lambda: httpx.get(f"{self.url}/readyz", verify=trust, timeout=2).text == "ok",
        )
        self.startup_seconds = time.monotonic() - started
        return self

    def stop(self) -> None:
        for proc in reversed(self._procs):  # the API server first, then its etcd
            if proc.poll() is None:
                proc.terminate()
                try:
                    proc.wait(timeout=10)
                except subprocess.TimeoutExpired:
                    proc.kill()
                    proc.wait()
        self._procs.clear()

    def client_tls(self) -> ssl.SSLContext:
        """TLS settings of an admin client: trusts the serving certificate, presents admin.crt."""
        context = ssl.create_default_context(cafile=str(self.pki["ca"]))
        context.load_cert_chain(str(self.pki["admin.crt"]), str(self.pki["admin.key"]))
        return context

    @property
    def env(self) -> dict[str, str]:
        """Environment for a kubectl subprocess aimed at this server only."""
        # kubectl caches discovery per server address under ~/.kube/cache; keep that in our temp dir.
        return {
            **os.environ,
            "KUBECONFIG": str(self.kubeconfig),
            "KUBECACHEDIR": str(self.workdir / "kube-cache"),
        }


@contextlib.contextmanager
def running(bin_dir: Path, workdir: Path) -> Iterator[RealAPIServer]:
    server = RealAPIServer(bin_dir, workdir)
    try:
        yield server.start()
    finally:
        server.stop()


def main() -> int:
    """`hack/apiserver/run.sh`: build or reuse, start, print the kubeconfig, serve until Ctrl-C."""
    import tempfile

    bin_dir, seconds = build(lambda line: print(line, file=sys.stderr))
    print(f"build-or-reuse: {seconds:.1f} s", file=sys.stderr)
    with (
        tempfile.TemporaryDirectory(prefix="certsync-apiserver-") as tmp,
        running(bin_dir, Path(tmp)) as server,
    ):
        print(f"ready in {server.startup_seconds:.2f} s at {server.url} (logs in {tmp})", file=sys.stderr)
        print(f"export KUBECONFIG={server.kubeconfig}", flush=True)
        # Blocked only now, after the children started: they must not inherit a blocked SIGTERM.
        signal.pthread_sigmask(signal.SIG_BLOCK, {signal.SIGINT, signal.SIGTERM})
        signal.sigwait({signal.SIGINT, signal.SIGTERM})
        print("stopping", file=sys.stderr)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
