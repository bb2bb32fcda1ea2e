"""CamelCase reason strings shared by conditions, Events, per-certificate results and metrics.

One module so that a reason is spelled once: the operator maps them to condition reasons and
Event reasons unchanged, and dashboards can rely on them. Grouped by where they arise.
"""

from __future__ import annotations

from typing import Final

# Certificate material (the Secret's content).
InvalidPEM: Final = "InvalidPEM"
KeyMismatch: Final = "KeyMismatch"
EncryptedKey: Final = "EncryptedKey"
UnsupportedKey: Final = "UnsupportedKey"
CertificateExpired: Final = "CertificateExpired"
ChainInvalid: Final = "ChainInvalid"
MaterialTooLarge: Final = "MaterialTooLarge"
MissingData: Final = "MissingData"

# Naming.
NameTooLong: Final = "NameTooLong"
InvalidName: Final = "InvalidName"
NameCollision: Final = "NameCollision"
DuplicateCertificate: Final = "DuplicateCertificate"

# The appliance side of one certificate.
VServerNotFound: Final = "VServerNotFound"
VServerNotSSL: Final = "VServerNotSSL"
ApplianceError: Final = "ApplianceError"

# The appliance as a whole (abort the apply; the operator maps them to conditions).
Unreachable: Final = "Unreachable"
AuthenticationFailed: Final = "AuthenticationFailed"
TLSVerificationFailed: Final = "TLSVerificationFailed"
NotAuthorized: Final = "NotAuthorized"

# Outcomes.
Synced: Final = "Synced"
Renewed: Final = "Renewed"
Removed: Final = "Removed"
Unchanged: Final = "Unchanged"
Planned: Final = "Planned"

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
    }
)
"""Reasons that describe the Secret's content: fixing them needs a new Secret, not a retry."""
