"""Thin Kubernetes access: Secret reads and watches, patches, Events, keys, labels, permissions.

No kopf here: kopf watches only our own kinds; everything else goes through `KubeClient`.

Public surface:
- `ClusterAccess` (kubeconfig / in-cluster connection description) and `KubeClient`
  (`get_secret`, `list_secrets`, `watch_secrets`, `get_configmap`, `watch_core`, `patch_merge`,
  `create_event`, `stats`);
- the error tree: `KubernetesError` → `NotFound`, `Conflict`, `Forbidden` (`Unauthorized`),
  `Gone`, `Invalid`, `TransportError`; `ConfigError` for unusable connection settings;
- `read_certificate` (→ `MaterialInputs`, as a `SecretSource` says), `read_key` (one key of a
  Secret) and `read_configmap_key` (one key of a ConfigMap: CA bundles), `CredentialsSecret`,
  `SecretError`, `tls_content_digest`, `data_digest`;
- `TLSSecretWatcher` (selector-filtered watch with a digest-only index and change callbacks) and
  `WatcherSet` (one watcher per wanted `WatchKey`; `by_name` watches one Secret of any type);
- `NamedSecretWatch` (the watches by name of the Secrets connections reference, on `WatcherSet`);
- `keys` (label/annotation/finalizer names) and `permissions` (the RBAC the operator needs).
"""

from netscaler_certsync.k8s import keys, permissions
from netscaler_certsync.k8s.access import ClusterAccess
from netscaler_certsync.k8s.api import KubeClient, ObjectList, TrafficStats, WatchEvent, resource_path
from netscaler_certsync.k8s.configmaps import ConfigMapError, configmap_digest, read_configmap_key
from netscaler_certsync.k8s.errors import (
    ConfigError,
    Conflict,
    Forbidden,
    Gone,
    Invalid,
    KubernetesError,
    NotFound,
    TransportError,
    Unauthorized,
)
from netscaler_certsync.k8s.named_secret_watch import NamedSecretWatch
from netscaler_certsync.k8s.secret_watch import (
    Backoff,
    ChangeKind,
    IndexEntry,
    OnChange,
    TLSSecretWatcher,
    WatcherSet,
    WatchKey,
    by_name,
)
from netscaler_certsync.k8s.secrets import (
    CredentialsSecret,
    MaterialInputs,
    SecretError,
    SecretSource,
    data_digest,
    read_certificate,
    read_key,
    tls_content_digest,
)

__all__ = [
    "Backoff",
    "ChangeKind",
    "ClusterAccess",
    "ConfigError",
    "ConfigMapError",
    "Conflict",
    "CredentialsSecret",
    "Forbidden",
    "Gone",
    "IndexEntry",
    "Invalid",
    "KubeClient",
    "KubernetesError",
    "MaterialInputs",
    "NamedSecretWatch",
    "NotFound",
    "ObjectList",
    "OnChange",
    "SecretError",
    "SecretSource",
    "TLSSecretWatcher",
    "TrafficStats",
    "TransportError",
    "Unauthorized",
    "WatchEvent",
    "WatchKey",
    "WatcherSet",
    "by_name",
    "configmap_digest",
    "data_digest",
    "keys",
    "permissions",
    "read_certificate",
    "read_configmap_key",
    "read_key",
    "resource_path",
    "tls_content_digest",
]
