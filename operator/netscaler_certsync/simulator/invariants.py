"""Consistency checks over the appliance state; a test ends with `sim.check_invariants() == []`.

A violation usually means the client did something a real appliance would later trip over
(deleted a file a certkey still reads), or that the simulator itself has a bug.
"""

from __future__ import annotations

from netscaler_certsync.simulator.state import ApplianceState, Partition


def _partition(part: Partition) -> list[str]:
    problems: list[str] = []
    prefix = "" if part.name == "default" else f"[{part.name}] "
    for certkey in part.certkeys.values():
        if certkey.builtin:
            continue
        for given in (certkey.cert, certkey.key):
            if given and part.get_file(*part.resolve(given)) is None:
                problems.append(f"{prefix}certkey {certkey.name!r} references missing file {given!r}")
        if certkey.link is not None:
            ca = part.certkeys.get(certkey.link)
            if ca is None:
                problems.append(f"{prefix}certkey {certkey.name!r} links to missing certkey {certkey.link!r}")
            elif not ca.info.is_ca:
                problems.append(f"{prefix}certkey {certkey.name!r} links to non-CA certkey {certkey.link!r}")
        seen = {certkey.name}
        cursor = certkey.link
        while cursor is not None and cursor in part.certkeys:
            if cursor in seen:
                problems.append(f"{prefix}link cycle through certkey {certkey.name!r}")
                break
            seen.add(cursor)
            cursor = part.certkeys[cursor].link
    for vserver in part.vservers.values():
        for certkey_name, _, _ in vserver.bindings:
            if certkey_name not in part.certkeys:
                problems.append(f"{prefix}vserver {vserver.name!r} binds missing certkey {certkey_name!r}")
        families = [part.certkeys[n].family for n in vserver.defaults() if n in part.certkeys]
        for family in sorted({f for f in families if families.count(f) > 1}):
            problems.append(
                f"{prefix}vserver {vserver.name!r} has {families.count(family)} {family} default certificates"
            )
        for domain, owner in vserver.sni_domains.items():
            certkey = part.certkeys.get(owner)
            if (
                (owner, True, False) not in vserver.bindings
                or certkey is None
                or domain not in certkey.info.domains
            ):
                problems.append(
                    f"{prefix}stale SNI domain index entry {domain!r} -> {owner!r} on {vserver.name!r}"
                )
    for ca_name, children in part.children.items():
        for child in children:
            if part.certkeys.get(child) is None or part.certkeys[child].link != ca_name:
                problems.append(f"{prefix}stale link index entry {child!r} -> {ca_name!r}")
    return problems


def check(state: ApplianceState, internal_errors: list[str] | None = None) -> list[str]:
    """Every violation found, as readable sentences; [] when consistent."""
    problems = [f"simulator internal error: {e}" for e in internal_errors or ()]
    for part in state.partitions.values():
        problems.extend(_partition(part))
    return problems
