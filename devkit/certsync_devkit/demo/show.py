"""Print an appliance's certificate state, from the simulator's state dump, for a person to read."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any


def appliance_state(dump: Mapping[str, Any]) -> str:
    """Certkeys (serial, subject, expiry, link), bindings, files, and saved-versus-running."""
    lines: list[str] = []
    certkeys = {n: c for n, c in (dump.get("certkeys") or {}).items() if not c.get("builtin")}
    lines.append(f"certkeys ({len(certkeys)}, built-in ones not shown):")
    for name, ck in sorted(certkeys.items()):
        link = f"  -> linked to {ck['linkcertkeyname']}" if ck.get("linkcertkeyname") else ""
        kind = "CA  " if not ck.get("key") else "leaf"
        expires = ck.get("notafter")
        serial, subject = ck.get("serial"), ck.get("subject")
        lines.append(f"  {kind} {name:<28} serial {serial}  {subject}  expires {expires}{link}")
    bindings: Sequence[Mapping[str, Any]] = dump.get("bindings") or []
    lines.append(f"bindings ({len(bindings)}):")
    for b in bindings:
        flag = " (SNI)" if b.get("snicert") else " (CA)" if b.get("ca") else " (default certificate)"
        lines.append(f"  {b.get('vserver')} <- {b.get('certkey')}{flag}")
    files = sorted(dump.get("files") or {})
    ours = [f for f in files if "/nsconfig/ssl/" in f and not f.rsplit("/", 1)[-1].startswith("ns-")]
    lines.append(f"files in /nsconfig/ssl ({len(ours)}): " + ", ".join(f.rsplit("/", 1)[-1] for f in ours))
    lines.append(
        "configuration: "
        + ("unsaved changes" if dump.get("configchanged") else "saved")
        + f" ({dump.get('saves', 0)} save(s) so far)"
    )
    return "\n".join(lines)
