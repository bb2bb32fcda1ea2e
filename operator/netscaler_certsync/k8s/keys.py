"""Names the operator writes into or reads from Kubernetes objects: labels, annotations, finalizer.

One place for every `netscaler.certsync.dev/...` key, so handlers, reconcilers, the chart and the
docs cannot drift apart. Secret types and data keys are the Kubernetes-defined ones.
"""

from __future__ import annotations

from netscaler_certsync.k8s.permissions import GROUP, VERSION

__all__ = [
    "CA_CRT",
    "CONNECTION_KIND",
    "CONNECTION_PLURAL",
    "CREDENTIALS_PASSWORD",
    "CREDENTIALS_USERNAME",
    "EVENT_COMPONENT",
    "FINALIZER",
    "GROUP",
    "KEYSTORE_P12",
    "LAST_HANDLED",
    "LAST_HANDLED_KEY",
    "LAST_SYNCED_SECRET_VERSION",
    "OPAQUE_SECRET_TYPE",
    "PASSWORD_KEY",
    "PREFIX",
    "SOURCE_SECRET_TYPES",
    "STATE_PREFIX",
    "SYNC_KIND",
    "SYNC_PLURAL",
    "SYNC_REQUESTED_AT",
    "TLS_CRT",
    "TLS_KEY",
    "TLS_SECRET_TYPE",
    "TLS_TYPE_FIELD_SELECTOR",
    "VERSION",
]

PREFIX = f"{GROUP}/"
#: kopf's own state annotations (progress, diff base). A sub-domain of our group, not the group
#: itself: kopf ignores every annotation under its storage prefix when it looks for changes, so
#: sharing `netscaler.certsync.dev/` would hide `sync-requested-at` from our handlers.
STATE_PREFIX = f"kopf.{GROUP}"
#: kopf's diff base: the last configuration its handlers handled. An object without it was never
#: handled by any of our processes, so kopf's create handler will reconcile it.
LAST_HANDLED_KEY = "last-handled-configuration"
LAST_HANDLED = f"{STATE_PREFIX}/{LAST_HANDLED_KEY}"

#: Who reports the operator's Events (`source.component`, `reportingComponent`).
EVENT_COMPONENT = "netscaler-certsync"

#: Held on NetScalerConnection and CertificateSync until the appliance side is cleaned up.
FINALIZER = f"{PREFIX}cleanup"

#: Set to any new value (e.g. a timestamp) to ask for a sync now (`kubectl annotate ... --overwrite`).
SYNC_REQUESTED_AT = f"{PREFIX}sync-requested-at"

#: Label on NetScalerConnections and CertificateSyncs: which shard's process handles them
#: (`run --shard`; docs/decisions/200-shards-by-appliance-group.md). Unlabelled objects are seen
#: only by an operator started without `--shard`.
SHARD_LABEL = f"{PREFIX}shard"

#: On a shard's per-appliance claim Lease: the label that lists them all
#: (`kubectl get lease -l netscaler.certsync.dev/appliance-claim`), and the annotation naming the
#: appliance (its endpoints and partition; the Lease's name is a hash of it).
CLAIM_LABEL = f"{PREFIX}appliance-claim"
CLAIM_APPLIANCE_ANNOTATION = f"{PREFIX}appliance"

#: Annotation on a CertificateSync: the Secret resourceVersions its last sync used (for humans).
LAST_SYNCED_SECRET_VERSION = f"{PREFIX}last-synced-secret-version"

CONNECTION_KIND = "NetScalerConnection"
CONNECTION_PLURAL = "netscalerconnections"
SYNC_KIND = "CertificateSync"
SYNC_PLURAL = "certificatesyncs"

TLS_SECRET_TYPE = "kubernetes.io/tls"  # noqa: S105 - a Secret type, not a password
TLS_TYPE_FIELD_SELECTOR = f"type={TLS_SECRET_TYPE}"
TLS_CRT = "tls.crt"
TLS_KEY = "tls.key"
CA_CRT = "ca.crt"
#: The PKCS#12 keystore cert-manager writes beside tls.crt (`spec.keystores.pkcs12`).
KEYSTORE_P12 = "keystore.p12"
#: The key of a keystore's password in its Secret when the reference names none.
PASSWORD_KEY = "password"  # noqa: S105 - a data key name, not a password
OPAQUE_SECRET_TYPE = "Opaque"  # noqa: S105 - a Secret type, not a password
#: The Secret types a certificate with a declared source may come in.
SOURCE_SECRET_TYPES = (TLS_SECRET_TYPE, OPAQUE_SECRET_TYPE)
CREDENTIALS_USERNAME = "username"
CREDENTIALS_PASSWORD = "password"  # noqa: S105 - a data key name, not a password
