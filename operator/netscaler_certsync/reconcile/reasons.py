"""The registry of reasons that arise only on the Kubernetes side (spec, Secrets, references).

Appliance and certificate reasons live in `domain.reasons`, the Kubernetes client's own in
`k8s.reasons` (re-exported here where the operator uses them); all are CamelCase words used
unchanged as condition reasons, Event reasons and metric label values. `hack/check_reasons.py`
(run by `make lint`) refuses a reason or condition type written as a literal outside the
registries; condition types live beside `READY` in `reconcile.conditions`.
"""

from __future__ import annotations

from typing import Final

from netscaler_certsync.k8s.reasons import InvalidSecretData, WrongSecretType

__all__ = [
    "Bound",
    "CANotFound",
    "CleanupFailed",
    "ConfigMapNotFound",
    "ConfigNotSaved",
    "Connected",
    "ConnectionInUse",
    "ConnectionNotFound",
    "ConnectionNotReady",
    "CredentialsNotFound",
    "Deleting",
    "DryRun",
    "InsecureHTTP",
    "InsecureSkipVerify",
    "IntentNotStored",
    "InvalidSecretData",
    "InvalidSpec",
    "LoggedIn",
    "NoPrimary",
    "NotSynced",
    "Orphaned",
    "SecretNotFound",
    "Valid",
    "WrongSecretType",
]

# The spec and what it references.
InvalidSpec: Final = "InvalidSpec"  # the spec is wrong in a way the CRD schema cannot express
SecretNotFound: Final = "SecretNotFound"  # a certificates[].secretName names no Secret
ConnectionNotFound: Final = "ConnectionNotFound"  # a connectionRefs entry names no NetScalerConnection
ConnectionNotReady: Final = "ConnectionNotReady"  # the connection has not found the HA primary yet
CredentialsNotFound: Final = "CredentialsNotFound"  # the credentials Secret is missing or incomplete
CANotFound: Final = "CANotFound"  # the Secret with the appliance's CA is missing or lacks the named key
ConfigMapNotFound: Final = "ConfigMapNotFound"  # a clientAuth.caFrom.configMapKeyRef names no ConfigMap

# NetScalerConnection health.
Connected: Final = "Connected"  # logged in; version and HA state read (Ready=True)
NoPrimary: Final = "NoPrimary"  # every node answered, none is the HA primary writes must go to
InsecureSkipVerify: Final = "InsecureSkipVerify"  # TLSVerified=False: verification is switched off
InsecureHTTP: Final = "InsecureHTTP"  # TLSVerified=False: an http:// endpoint, no TLS at all
LoggedIn: Final = "LoggedIn"  # Authenticated=True: the appliance accepted the credentials

# CertificateSync results.
DryRun: Final = "DryRun"  # Ready=False of a dry run: operations planned, nothing written
ConfigNotSaved: Final = "ConfigNotSaved"  # the changes are live but the save failed: a reboot loses them
Valid: Final = "Valid"  # SecretsValid=True: every selected Secret holds usable material
NotSynced: Final = "NotSynced"  # CertificatesUploaded=False: some certificate is not on some appliance
Bound: Final = "Bound"  # CertificatesBound=True: every requested binding is in place

# Deletion of a CertificateSync.
Deleting: Final = "Deleting"  # the finalizer removed what the CertificateSync deployed
Orphaned: Final = "Orphaned"  # deletionPolicy Orphan (or an invalid spec): the appliance is left as it is
CleanupFailed: Final = "CleanupFailed"  # a removal (on deletion, or of a leftover) failed; retried

# Before an apply writes.
IntentNotStored: Final = "IntentNotStored"  # what an apply may create was not stored: nothing written

# Deletion of a NetScalerConnection.
ConnectionInUse: Final = "ConnectionInUse"  # deletion waits: CertificateSyncs still use the connection
