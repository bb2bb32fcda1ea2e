"""Reasons that arise only on the Kubernetes side (spec, Secrets, references).

Appliance and certificate reasons live in `domain.reasons`; both sets are CamelCase words used
unchanged as condition reasons, Event reasons and metric label values.
"""

from __future__ import annotations

from typing import Final

InvalidSpec: Final = "InvalidSpec"
CredentialsNotFound: Final = "CredentialsNotFound"
CANotFound: Final = "CANotFound"
NoPrimary: Final = "NoPrimary"
InsecureSkipVerify: Final = "InsecureSkipVerify"
Connected: Final = "Connected"
SecretNotFound: Final = "SecretNotFound"
WrongSecretType: Final = "WrongSecretType"
ConnectionNotFound: Final = "ConnectionNotFound"
ConnectionNotReady: Final = "ConnectionNotReady"
NoCertificates: Final = "NoCertificates"
PartiallySynced: Final = "PartiallySynced"
DryRun: Final = "DryRun"
Progressing: Final = "Progressing"
Deleting: Final = "Deleting"
Orphaned: Final = "Orphaned"
ConfigNotSaved: Final = "ConfigNotSaved"
