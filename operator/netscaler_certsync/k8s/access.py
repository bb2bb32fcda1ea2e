"""How to reach one Kubernetes API server: URL, trust, and credentials, from kubeconfig or in-cluster.

`ClusterAccess` is a frozen description with no I/O of its own except `ssl_context()` and
`bearer_token()` (which re-reads a token file, because in-cluster service-account tokens are
rotated by the kubelet about hourly). Secrets never appear in `repr()`.

Supported kubeconfig shapes: `server`, `certificate-authority(-data)`,
`insecure-skip-tls-verify`, `token`, `tokenFile`, `client-certificate(-data)` with
`client-key(-data)`. `exec` and `auth-provider` plugins are not: the error says so.
"""

from __future__ import annotations

import base64
import os
import ssl
import tempfile
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from netscaler_certsync.k8s.errors import ConfigError

__all__ = ["SERVICE_ACCOUNT_DIR", "ClusterAccess"]

SERVICE_ACCOUNT_DIR = Path("/var/run/secrets/kubernetes.io/serviceaccount")


def _data_or_file(entry: Mapping[str, Any], key: str, base: Path) -> bytes | None:
    if entry.get(f"{key}-data"):
        return base64.b64decode(entry[f"{key}-data"])
    if entry.get(key):
        return (base / str(entry[key])).read_bytes()
    return None


def _named(config: Mapping[str, Any], section: str, name: str) -> dict[str, Any]:
    for item in config.get(section) or []:
        if item.get("name") == name:
            return dict(item)
    raise ConfigError(f"kubeconfig has no {section[:-1]} named {name!r}")


@dataclass(frozen=True)
class ClusterAccess:
    """Everything needed to open an authenticated HTTPS connection to one API server."""

    server: str
    ca_data: bytes | None = field(default=None, repr=False)
    insecure: bool = False
    token: str | None = field(default=None, repr=False)
    token_file: str | None = None
    client_cert: bytes | None = field(default=None, repr=False)
    client_key: bytes | None = field(default=None, repr=False)
    namespace: str = "default"  # the context's (or service account's) own namespace

    @classmethod
    def from_kubeconfig(
        cls, path: str | os.PathLike[str] | None = None, context: str | None = None
    ) -> ClusterAccess:
        """Read `path` (default: the first file of $KUBECONFIG, else ~/.kube/config)."""
        if path is None:
            env = os.environ.get("KUBECONFIG", "")
            path = env.split(os.pathsep)[0] if env else Path.home() / ".kube" / "config"
        file = Path(path)
        try:
            config = yaml.safe_load(file.read_text()) or {}
        except (OSError, yaml.YAMLError) as e:
            raise ConfigError(f"cannot read kubeconfig {file}: {e}") from e
        ctx_name = context or config.get("current-context")
        if not ctx_name:
            raise ConfigError(f"kubeconfig {file} has no current-context; pass a context name")
        ctx = _named(config, "contexts", ctx_name).get("context") or {}
        cluster = _named(config, "clusters", ctx.get("cluster", "")).get("cluster") or {}
        user: dict[str, Any] = {}
        if ctx.get("user"):
            user = _named(config, "users", ctx["user"]).get("user") or {}
        if "exec" in user or "auth-provider" in user:
            raise ConfigError(
                f"kubeconfig user {ctx.get('user')!r} uses an exec/auth-provider plugin, which this client "
                "does not run; use a token or client certificate, or run in-cluster"
            )
        if not cluster.get("server"):
            raise ConfigError(f"kubeconfig cluster {ctx.get('cluster')!r} has no server")
        base = file.parent
        try:
            return cls(
                server=str(cluster["server"]).rstrip("/"),
                ca_data=_data_or_file(cluster, "certificate-authority", base),
                insecure=bool(cluster.get("insecure-skip-tls-verify", False)),
                token=user.get("token"),
                token_file=str(base / user["tokenFile"]) if user.get("tokenFile") else None,
                client_cert=_data_or_file(user, "client-certificate", base),
                client_key=_data_or_file(user, "client-key", base),
                namespace=ctx.get("namespace") or "default",
            )
        except OSError as e:
            raise ConfigError(f"kubeconfig {file} names a file that cannot be read: {e}") from e

    @classmethod
    def in_cluster(
        cls, env: Mapping[str, str] | None = None, account_dir: Path = SERVICE_ACCOUNT_DIR
    ) -> ClusterAccess:
        """The pod's service account, as client-go's `rest.InClusterConfig()` finds it."""
        env = os.environ if env is None else env
        host, port = env.get("KUBERNETES_SERVICE_HOST"), env.get("KUBERNETES_SERVICE_PORT")
        if not host or not port:
            raise ConfigError("not running in a cluster: KUBERNETES_SERVICE_HOST/PORT are not set")
        token_file = account_dir / "token"
        if not token_file.exists():
            raise ConfigError(f"no service-account token at {token_file}")
        host = f"[{host}]" if ":" in host else host  # IPv6 service address
        ns_file = account_dir / "namespace"
        ca_file = account_dir / "ca.crt"
        return cls(
            server=f"https://{host}:{port}",
            ca_data=ca_file.read_bytes() if ca_file.exists() else None,
            token_file=str(token_file),
            namespace=ns_file.read_text().strip() if ns_file.exists() else "default",
        )

    def bearer_token(self) -> str | None:
        """The token to send now; a token file wins so that a rotated token is picked up."""
        if self.token_file:
            return Path(self.token_file).read_text().strip()
        return self.token

    def ssl_context(self) -> ssl.SSLContext | bool:
        """The TLS settings for httpx (`False` only with an explicit `insecure`)."""
        if not self.server.startswith("https"):
            return True  # plain http (the test emulator): nothing to verify
        if self.insecure:
            ctx = ssl.create_default_context()
            ctx.check_hostname = False
            ctx.verify_mode = ssl.CERT_NONE
        elif self.ca_data:
            ctx = ssl.create_default_context(cadata=self.ca_data.decode())
        else:
            ctx = ssl.create_default_context()
        if self.client_cert and self.client_key:
            # ssl can only load a key pair from files: write them briefly, private to this user.
            with tempfile.TemporaryDirectory() as tmp:
                cert, key = Path(tmp) / "client.crt", Path(tmp) / "client.key"
                cert.write_bytes(self.client_cert)
                key.touch(mode=0o600)
                key.write_bytes(self.client_key)
                ctx.load_cert_chain(cert, key)
        return ctx
