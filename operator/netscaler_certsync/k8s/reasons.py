"""The registry of reasons the Kubernetes client gives about a Secret it cannot use.

This layer may not import `domain` or `reconcile`, so the words it shares with them are spelled
here too; `tests/unit/test_reason_registries.py` checks that a name defined in two registries
means the same word in both. See `domain.reasons` for how reasons are used.
"""

from __future__ import annotations

from typing import Final

WrongSecretType: Final = "WrongSecretType"  # the Secret's type is not the one the reference needs
MissingData: Final = "MissingData"  # a key the Secret must hold (tls.crt, username, ...) is absent or empty
InvalidSecretData: Final = (
    "InvalidSecretData"  # a value is not valid base64 (or not text where text is needed)
)
