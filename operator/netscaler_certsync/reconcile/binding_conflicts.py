"""At most one default certificate per vserver and key type within one CertificateSync.

A NetScaler vserver holds one default (non-SNI) certificate per key type (RSA and ECDSA defaults
coexist). Two certificates of one sync that both ask to be the default of the same vserver with
the same key type would replace each other's binding on every apply and both report it bound. So
before the engine runs, the first of them by Secret name keeps its bindings and each later one is
held back with reason `BindingConflict`, naming the winner: its deployment is left as it is (like
any certificate with a problem), so nothing flaps, and it is `Failed` in status (Ready False, a
Warning Event). Once the winner is gone from the sync the next reconcile binds the loser.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import replace

from netscaler_certsync.domain import DomainError, reasons
from netscaler_certsync.engine import DesiredCertificate

__all__ = ["hold_back_default_conflicts"]


def _key_family(d: DesiredCertificate) -> str:
    """RSA or EC: the appliance keeps one default per family (`RSA-2048` and `RSA-4096` clash)."""
    return d.material.key_type.split("-", 1)[0] if d.material else ""


def hold_back_default_conflicts(desired: Sequence[DesiredCertificate]) -> list[DesiredCertificate]:
    """`desired`, with each certificate that would take a default binding another one of the same
    key type already holds turned into a problem (`BindingConflict`, naming the winner)."""
    holders: dict[tuple[str, str], str] = {}
    losers: dict[str, DomainError] = {}
    for d in sorted(desired, key=lambda d: d.id):
        if d.material is None or d.problem is not None:
            continue
        slots = [(b.vserver, _key_family(d)) for b in d.bindings if not b.sni]
        taken = next(((slot, holders[slot]) for slot in slots if slot in holders), None)
        if taken is None:
            holders.update(dict.fromkeys(slots, d.id))  # a held-back certificate claims nothing
            continue
        (vserver, family), winner = taken
        losers[d.id] = DomainError(
            reasons.BindingConflict,
            f"vserver {vserver} already gets {winner.rpartition('/')[2]} as its default {family} "
            "certificate from this CertificateSync; a vserver has one default certificate per key "
            "type, so this one is not deployed (bind it as SNI, or to another vserver)",
        )
    return [replace(d, problem=losers[d.id]) if d.id in losers else d for d in desired]
