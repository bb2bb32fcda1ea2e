"""Adoption: taking over an existing certkey this operator did not create (`certificates[].adopt`).

The first apply updates the certkey in place with the Secret's material — new files uploaded
first, `update`, then the chain link — so it keeps its name and every reference the operator
cannot see or move (VPN global, SSL profiles, services, monitors). From then on its certificate
file carries our owner tag and it is renewed in place like any deployment of ours
(`Situation.in_place`); its record says `adopted`, so removal leaves it where it is
(`plan_cleanup.plan_removal`) unless `adopt.deleteOnRemoval`. The files it loaded before are
left alone (they belong to no one).

Refused, with `AdoptionRefused`: a certkey that does not exist, one another cluster's operator
(or another CertificateSync) owns, a CA certkey (a CA certificate without key, or one other
certkeys link to), and one whose certificate's key type differs
from the Secret's (a vserver holds one default certificate per key type, so an RSA certkey
turned ECDSA could collide with another default, and clients pinned to the old type would fail).
"""

from __future__ import annotations

from netscaler_certsync.domain import file_tag, is_ca_certkey_name
from netscaler_certsync.engine.operations import Operation
from netscaler_certsync.engine.plan_certificate import Situation
from netscaler_certsync.engine.plan_chain import link_ops


def found(s: Situation, name: str) -> str:
    """What certkey `name` holds now: serial, subject, bindings, link (for status and dry run)."""
    ck = s.ctx.state.certkeys[name]
    bound = ", ".join(b.describe() for b in sorted(s.ctx.state.bindings_of(name))) or "no vserver"
    out = f"serial {ck.serial or '?'}, subject {ck.subject or '?'}, bound to {bound}"
    if ck.linked_to:
        out += f", linked to {ck.linked_to}"
    return out


def refusal(s: Situation) -> str | None:
    """Why the certkey `adopt` names cannot be taken over, or None when it can."""
    assert s.desired.adopt is not None
    ctx, name = s.ctx, s.desired.adopt.certkey
    ck = ctx.state.certkeys.get(name)
    if ck is None:
        return f"certkey {name} to adopt does not exist on the appliance"
    tag = file_tag(ctx.state.cert_file(name) or "")
    if tag is not None:
        return f"certkey {name} cannot be adopted: it {ctx.whose(name)}"
    # A CA certkey holds a CA certificate and no key, or is what other certkeys link to: it is a
    # chain's link, not what a vserver serves. (A self-signed server certificate with its key,
    # such as the factory `ns-server-certificate`, may be adopted.)
    children = sorted(n for n, c in ctx.state.certkeys.items() if c.linked_to == name)
    if is_ca_certkey_name(name) or (ck.is_ca and not ck.key) or children:
        why = f"other certkeys link to it ({', '.join(children)})" if children else "it holds no key"
        return f"certkey {name} is a CA certkey ({why}); only a server certificate can be adopted"
    theirs, ours = (ck.key_type or "").upper(), s.material.key_type.split("-")[0].upper()
    if theirs and theirs != ours:
        return (
            f"certkey {name} holds a {theirs} certificate and the Secret's key is {ours}: adopting "
            "it would change the key type of every place it is bound (a vserver holds one default "
            "certificate per key type); deploy it as a new certkey instead"
        )
    return None


def adopt_ops(s: Situation, name: str) -> list[Operation]:
    """Upload, update in place, link, and add the bindings the spec wants; unbind nothing."""
    ctx = s.ctx
    before, after = link_ops(ctx, s.desired, name, new=False)
    change = s.update(name)
    # As for a renewal in place: no unlink first (NetScaler breaks a link that no longer fits
    # itself); the new link follows at once. Bindings already there are the user's: kept.
    return [*s.uploads(), change, *(after or before), *s.rebind(name, ctx.state.bindings_of(name), set())]


__all__ = ["adopt_ops", "found", "refusal"]
