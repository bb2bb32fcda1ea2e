"""The registry of reasons the domain and the engine give: one CamelCase word per situation.

A reason is spelled here once and used unchanged as a condition reason, an Event reason, a
per-certificate `reason` in status and a metric label value, so dashboards can rely on it. The
reasons that arise only on the Kubernetes side live in `reconcile.reasons` (and the few the
Kubernetes client itself gives in `k8s.reasons`); `hack/check_reasons.py` (run by `make lint`)
refuses a reason written as a literal anywhere else. What each failure means for a retry (stalled
or transient, how long to wait) is decided in one table, `reconcile.failures`.
"""

from __future__ import annotations

from typing import Final

# Certificate material (the Secret's content): a new Secret fixes them, a retry does not.
InvalidPEM: Final = "InvalidPEM"  # tls.crt or tls.key is not PEM, or not a certificate / key
KeyMismatch: Final = "KeyMismatch"  # the key does not belong to the certificate (we or NITRO found)
EncryptedKey: Final = "EncryptedKey"  # tls.key is encrypted; the operator holds no passphrase
UnsupportedKey: Final = "UnsupportedKey"  # a key type or size NetScaler does not accept
CertificateExpired: Final = "CertificateExpired"  # the leaf's notAfter has passed
ChainInvalid: Final = "ChainInvalid"  # the chain in tls.crt/ca.crt is out of order, too long, or not a chain
MaterialTooLarge: Final = "MaterialTooLarge"  # a PEM larger than the appliance accepts
MissingData: Final = "MissingData"  # tls.crt or tls.key is empty
InvalidKeystore: Final = "InvalidKeystore"  # the keystore is not a PKCS#12 file the operator can read
WrongPassword: Final = "WrongPassword"  # the password does not open the PKCS#12 keystore
MissingKey: Final = "MissingKey"  # the PKCS#12 keystore holds certificates but no private key
MultipleLeaves: Final = "MultipleLeaves"  # the keystore holds more than one end-entity certificate

# Naming: the certkey name rendered from spec.certKeyNameTemplate (or given) cannot be used.
NameTooLong: Final = "NameTooLong"  # longer than the appliance's limit for certkey names
InvalidName: Final = "InvalidName"  # characters NetScaler refuses, or a template that does not render
NameCollision: Final = "NameCollision"  # a certkey of that name exists and is not ours
AdoptionRefused: Final = "AdoptionRefused"  # adopt names a certkey that cannot be taken over
Adopted: Final = "Adopted"  # an existing certkey taken over in place (adopt)
AdoptedKept: Final = (
    "AdoptedKept"  # an adopted certkey left in place on removal (its references are the user's)
)
DuplicateCertificate: Final = (
    "DuplicateCertificate"  # the appliance holds this certificate under another name
)

# The appliance side of one certificate (the apply goes on with the others).
VServerNotFound: Final = "VServerNotFound"  # a binding names a vserver the appliance does not have
VServerNotSSL: Final = "VServerNotSSL"  # a binding names a vserver that is not of type SSL
KeyTypeNotSupported: Final = "KeyTypeNotSupported"  # the platform refuses ECDSA or its curve (1675/1676)
CertificateInUse: Final = "CertificateInUse"  # no update in place while bound to VPN global (1541)
ApplianceError: Final = "ApplianceError"  # NITRO refused or failed a request for another reason

# The appliance as a whole: the apply aborts (`engine.errors.SyncAborted`).
Unreachable: Final = (
    "Unreachable"  # no TCP/TLS connection or no answer in time (also a failed handshake check)
)
AuthenticationFailed: Final = "AuthenticationFailed"  # the appliance refused the login
TLSVerificationFailed: Final = "TLSVerificationFailed"  # the appliance's own certificate is not trusted
NotAuthorized: Final = "NotAuthorized"  # the user's command policy forbids an operation we need

# Post-deploy verification (`engine.verify`): is the appliance serving what was deployed?
Verified: Final = "Verified"  # it is (also: the appliance's own certificate was verified on login)
ServedCertificateMismatch: Final = "ServedCertificateMismatch"  # another certificate is served, or none
ChainIncomplete: Final = "ChainIncomplete"  # the served chain does not lead to the configured CA
BindingConflict: Final = "BindingConflict"  # the vserver's default certificate is another certkey

# Outcomes of one certificate.
Synced: Final = "Synced"  # deployed and bound as asked (written now or before)
Renewed: Final = "Renewed"  # a new certificate replaced the previous one on the appliance
Removed: Final = "Removed"  # removed from the appliance (no longer selected, expired, or deleted)
Unchanged: Final = "Unchanged"  # already as asked: nothing written
Planned: Final = "Planned"  # dry run: what an apply would do, nothing written

MATERIAL_REASONS: Final = frozenset(
    {
        InvalidPEM,
        KeyMismatch,
        EncryptedKey,
        UnsupportedKey,
        CertificateExpired,
        ChainInvalid,
        MaterialTooLarge,
        MissingData,
        InvalidKeystore,
        WrongPassword,
        MissingKey,
        MultipleLeaves,
    }
)
"""Reasons that describe the Secret's content: fixing them needs a new Secret, not a retry."""
