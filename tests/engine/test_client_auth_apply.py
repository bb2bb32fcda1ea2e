"""Client CAs through `sync_appliance` (issue 20): kept after the certificates under the appliance
lock, the CA bindings made recorded before they exist, so a process killed right after a bind
still removes it later, and a chain CA shared with a client CA survives until neither needs it."""

from __future__ import annotations

from cryptography.hazmat.primitives import hashes

from certsync_devkit.pki import Issued, TestPKI, make_ca
from netscaler_certsync.domain import ca_certkey_name
from netscaler_certsync.domain.client_ca import parse_ca_bundle
from netscaler_certsync.engine import BindingSpec, ClientAuth, ClientCARecord
from netscaler_certsync.simulator import Simulator
from tests.support.engine import Harness, certkeys, cut_off_after_bind, desired, files, orphans


def ca_name(ca: Issued) -> str:
    return ca_certkey_name(ca.cert.fingerprint(hashes.SHA256()).hex())


def ca_bound(sim: Simulator, vserver: str = "vs_https") -> list[str]:
    return sorted(b["certkey"] for b in sim.state.dump()["bindings"] if b["vserver"] == vserver and b["ca"])


def trust(*cas: Issued, vserver: str = "vs_https") -> list[ClientAuth]:
    return [ClientAuth(vserver, parse_ca_bundle(b"".join(ca.cert_pem for ca in cas)))]


async def test_a_ca_bound_by_a_killed_apply_is_removed_by_the_next_process(sim: Simulator) -> None:
    h = Harness(sim)
    ca = make_ca("Client CA")
    await cut_off_after_bind(h, [], trust(ca))
    assert ca_bound(sim) == [ca_name(ca)]
    assert h.records.client_cas == (ClientCARecord("vs_https", ca_name(ca)),)  # the stored intent
    assert h.records.pending

    h.restart()  # a new process: nothing but the stored records
    result = await h.apply([])  # the sync is deleted
    assert [(r.vserver, r.reason, r.changed) for r in result.client_auth] == [("vs_https", "Removed", True)]
    assert ca_bound(sim) == [] and certkeys(sim) == {} and files(sim) == set() and orphans(sim) == set()
    assert result.records.client_cas == () and result.saved


async def test_a_client_ca_that_is_also_a_chain_ca_stays_while_the_chain_needs_it(
    sim: Simulator, pki: TestPKI
) -> None:
    """The bundle names the intermediate that also issues the served certificate: one certkey,
    linked by the leaf and bound with -CA. Dropping clientAuth unbinds it and keeps it (linked);
    deleting the sync removes everything."""
    h = Harness(sim)
    leaf = [desired(pki.leaf(), [pki.intermediate], bindings=[BindingSpec("vs_https")])]
    first = await h.apply(leaf, trust(pki.intermediate))
    [auth] = first.client_auth
    assert auth.bound == (ca_name(pki.intermediate),) and not auth.failed
    assert ca_bound(sim) == [ca_name(pki.intermediate)]

    again = await h.apply(leaf, trust(pki.intermediate))
    assert again.writes == 0 and not again.client_auth[0].changed  # nothing to do: nothing written

    await h.apply(leaf)  # clientAuth removed
    assert ca_bound(sim) == [] and ca_name(pki.intermediate) in certkeys(sim)  # the chain's issuer
    await h.apply([])
    assert certkeys(sim) == {} and orphans(sim) == set()
