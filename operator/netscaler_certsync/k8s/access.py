"""How to reach one Kubernetes API server: URL, trust, and credentials, from kubeconfig or in-cluster.

A kubeconfig is loaded by the `kubernetes` library, so every kubeconfig user it understands works here:
token, tokenFile, client certificates, `exec` credential plugins (EKS, GKE, AKS, kubelogin/OIDC)
and `auth-provider`. `ClusterAccess` is a frozen description whose only I/O is `ssl_context()`
and `bearer_token()`: the latter re-reads a token file (in-cluster service-account tokens are
rotated by the kubelet about hourly) or asks the library for a fresh plugin credential, which
re-runs the plugin when its credential is near expiry. Both kopf (its login handler) and the
operator's own httpx client take their credentials from here. Secrets never appear in `repr()`.
"""

from __future__ import annotations

import os
import ssl
import tempfile
import threading
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from netscaler_certsync.k8s.errors import ConfigError

__all__ = ["REFRESH_FLOOR", "SERVICE_ACCOUNT_DIR", "ClusterAccess", "PluginToken"]

SERVICE_ACCOUNT_DIR = Path("/var/run/secrets/kubernetes.io/serviceaccount")
#: Ask the library for a plugin credential at most this often (seconds). It re-runs the plugin
#: whenever the credential is within 5 minutes of expiry, so a plugin issuing shorter-lived
#: credentials would otherwise run once per request.
REFRESH_FLOOR = 10.0


class PluginToken:
    """The bearer token of an `exec`/`auth-provider` user, refreshed through the library's hook."""

    def __init__(self, configuration: Any, clock: Callable[[], float] = time.monotonic) -> None:
        self._configuration = configuration  # kubernetes.client.Configuration, loaded
        self._clock = clock
        self._lock = threading.Lock()  # kopf's login runs in a thread; httpx in the loop
        self._token = self._read(refresh=False)  # the library ran the plugin while loading
        self._read_at = clock()

    def _read(self, *, refresh: bool = True) -> str | None:
        # Since kubernetes 36.0.1 the token is kept under "BearerToken", before under
        # "authorization" (kopf's own login_via_client reads both, too).
        api_key = self._configuration.api_key
        old = "authorization" in api_key and "BearerToken" not in api_key
        key = "authorization" if old else "BearerToken"
        try:
            # get_api_key_with_prefix runs the library's refresh hook (the plugin, near expiry).
            header = self._configuration.get_api_key_with_prefix(key) if refresh else api_key.get(key)
        except Exception as e:  # the plugin failed: the library raises ConfigException or OSError
            raise ConfigError(f"the kubeconfig credential plugin failed: {e}") from e
        if not header:
            return None
        return header.split(" ", 1)[1] if header.startswith("Bearer ") else header

    def current(self) -> str | None:
        with self._lock:
            if self._clock() - self._read_at >= REFRESH_FLOOR:
                self._token = self._read()
                self._read_at = self._clock()
            return self._token

    def __repr__(self) -> str:
        return "PluginToken(...)"


def _uses_plugin(file: str, context: Mapping[str, Any]) -> bool:
    """Whether the context's user is an `exec` or `auth-provider` user."""
    user_name = (context.get("context") or {}).get("user")
    config = yaml.safe_load(Path(file).read_text()) or {}
    user = next((u.get("user") or {} for u in config.get("users") or [] if u.get("name") == user_name), {})
    return "exec" in user or "auth-provider" in user


def _read(path: str | None) -> bytes | None:
    return Path(path).read_bytes() if path else None


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
    plugin: PluginToken | None = field(default=None, repr=False, compare=False)
    namespace: str = "default"  # the context's (or service account's) own namespace

    @classmethod
    def from_kubeconfig(
        cls,
        path: str | os.PathLike[str] | None = None,
        context: str | None = None,
        *,
        clock: Callable[[], float] = time.monotonic,
    ) -> ClusterAccess:
        """Read `path` (default: the first file of $KUBECONFIG, else ~/.kube/config)."""
        from kubernetes import client, config  # only `run` and tests pay for the import

        if path is None:
            env = os.environ.get("KUBECONFIG", "")
            path = env.split(os.pathsep)[0] if env else Path.home() / ".kube" / "config"
        file = str(path)
        if not Path(file).is_file():
            raise ConfigError(
                f"cannot use kubeconfig {file}: no such file (set KUBECONFIG or create ~/.kube/config; "
                "in a pod the service account is used)"
            )
        configuration = client.Configuration()
        try:
            contexts, active = config.list_kube_config_contexts(config_file=file)
            if context is not None:
                active = next((c for c in contexts if c.get("name") == context), None)
                if active is None:
                    raise ConfigError(f"kubeconfig {file} has no context named {context!r}")
            config.load_kube_config(
                config_file=file, context=context, client_configuration=configuration, persist_config=False
            )
            token = PluginToken(configuration, clock)
            ca_data = _read(configuration.ssl_ca_cert)  # the library writes *-data fields to files
            cert, key = _read(configuration.cert_file), _read(configuration.key_file)
        except (config.ConfigException, OSError, ValueError) as e:
            raise ConfigError(f"cannot use kubeconfig {file}: {e}") from e
        if token.current() is None and cert is None and _uses_plugin(file, active):
            # the library only logs a failing plugin and goes on without credentials
            raise ConfigError(f"kubeconfig {file}: the credential plugin gave no token (see the log above)")
        if not configuration.host:
            raise ConfigError(f"kubeconfig {file}: the current context's cluster has no server")
        return cls(
            server=str(configuration.host).rstrip("/"),
            ca_data=ca_data,
            insecure=not configuration.verify_ssl,
            plugin=token,
            client_cert=cert,
            client_key=key,
            namespace=(active.get("context") or {}).get("namespace") or "default",
        )

    @classmethod
    def in_cluster(
        cls, env: Mapping[str, str] | None = None, account_dir: Path = SERVICE_ACCOUNT_DIR
    ) -> ClusterAccess:
        """The pod's service account, as client-go's `rest.InClusterConfig()` finds it.

        Read here rather than by the library: importing the `kubernetes` package loads its whole
        generated client (about 23 MiB resident) for what is two environment variables and two files.
        """
        env = os.environ if env is None else env
        token_file, ca_file = account_dir / "token", account_dir / "ca.crt"
        host, port = env.get("KUBERNETES_SERVICE_HOST"), env.get("KUBERNETES_SERVICE_PORT")
        if not host or not port:
            raise ConfigError("not running in a cluster: KUBERNETES_SERVICE_HOST/PORT are not set")
        if not token_file.exists():
            raise ConfigError(f"no service-account token at {token_file}")
        try:
            if not token_file.read_text().strip():
                raise ConfigError(f"cannot use the in-cluster service account: {token_file} is empty")
            if not ca_file.read_bytes():
                raise ConfigError(f"cannot use the in-cluster service account: {ca_file} is empty")
        except OSError as e:
            raise ConfigError(f"cannot use the in-cluster service account: {e}") from e
        # net.JoinHostPort: an IPv6 address (or one with a zone) goes in brackets
        authority = f"[{host}]:{port}" if ":" in host or "%" in host else f"{host}:{port}"
        ns_file = account_dir / "namespace"
        return cls(
            server=f"https://{authority}",
            ca_data=ca_file.read_bytes(),
            token_file=str(token_file),  # re-read per request: the kubelet rotates it
            namespace=ns_file.read_text().strip() if ns_file.exists() else "default",
        )

    def bearer_token(self) -> str | None:
        """The token to send now: a token file is re-read, a plugin credential refreshed near expiry."""
        if self.token_file:
            return Path(self.token_file).read_text().strip()
        if self.plugin is not None:
            return self.plugin.current()
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
