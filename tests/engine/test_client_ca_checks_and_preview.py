"""Client CAs (issue 20) beyond binding them: a changed crlCheck/ocspCheck reaches CAs already
bound (ours only, one at a time), status shows the checks NITRO shows, and a dry run plans the
same operations the apply would write, without writing."""

from __future__ import annotations

from cryptography.hazmat.primitives import hashes

from certsync_devkit.pki import Issued, make_ca
from netscaler_certsync.domain import ca_certkey_name
from netscaler_certsync.domain.client_ca import parse_ca_bundle
from netscaler_certsync.engine import ClientAuth, ClientAuthResult
from netscaler_certsync.nitro import RequestEvent
from netscaler_certsync.simulator import FaultRule, Simulator
from tests.support.engine import Harness, appliance

VS = "vs_https"
BINDING = "sslvserver_sslcertkey_binding"


def ca_name(ca: Issued) -> str:
    return ca_certkey_name(ca.cert.fingerprint(hashes.SHA256()).hex())


def trust(*cas: Issued, crl: str | None = None, ocsp: str | None = None) -> list[ClientAuth]:
    return [ClientAuth(VS, parse_ca_bundle(b"".join(ca.cert_pem for ca in cas)), crl, ocsp)]


def ca_checks(sim: Simulator) -> dict[str, tuple[str | None, str | None]]:
    """The simulator's CA bindings on the vserver and their checks, as NITRO reports them."""
    vserver = sim.state.default.vservers[VS]
    return {b.certkey: (b.crlcheck, b.ocspcheck) for b in vserver.bindings.values() if b.ca}


def checks(auth: ClientAuthResult) -> set[tuple[str, str | None, str | None]]:
    """Status's `checks`: each bound CA's checks as NITRO showed them."""
    return {(c.certkey, c.crlcheck, c.ocspcheck) for c in auth.checks}


def writes(h: Harness) -> list[tuple[str, str, str]]:
    return [(r.method, r.resource, r.name or "") for r in h.writes() if r.resource != "nsconfig"]


async def test_changing_crl_check_rebinds_ours_one_ca_at_a_time_and_status_says_so(sim: Simulator) -> None:
    h = Harness(sim)
    a, b = make_ca("Client CA A"), make_ca("Client CA B")
    await h.apply([], trust(a, b, crl="Optional"))
    assert ca_checks(sim) == {ca_name(a): ("Optional", None), ca_name(b): ("Optional", None)}
    sim.clear_requests()
    trusted: list[set[str]] = []  # the CAs bound after each binding write

    def after_write(event: RequestEvent) -> None:
        if event.resource == BINDING and event.method != "GET":
            trusted.append(set(ca_checks(sim)))

    h.hooks.append(after_write)
    result = await h.apply([], trust(a, b, crl="Mandatory"))

    # The appliance now enforces Mandatory on both, and status says exactly what NITRO shows.
    assert ca_checks(sim) == {ca_name(a): ("Mandatory", None), ca_name(b): ("Mandatory", None)}
    [auth] = result.client_auth
    assert not auth.failed and auth.changed and auth.reason == "Synced"
    assert checks(auth) == {(ca_name(a), "Mandatory", None), (ca_name(b), "Mandatory", None)}
    assert "bound again with the asked checks" in auth.message
    # Unbound and bound again one CA at a time: while one is rebound the other stays bound.
    assert [(m, r) for m, r, _ in writes(h)] == [("DELETE", BINDING), ("PUT", BINDING)] * 2, writes(h)
    both = {ca_name(a), ca_name(b)}
    assert [len(t) for t in trusted] == [1, 2, 1, 2] and trusted[1] == trusted[3] == both
    assert trusted[0] != trusted[2]  # each CA had its turn
    assert result.saved and result.records.client_cas == h.records.client_cas
    sim.clear_requests()
    again = await h.apply([], trust(a, b, crl="Mandatory"))
    assert writes(h) == [] and not again.client_auth[0].changed  # converged: nothing more to write


async def test_a_ca_bound_by_hand_with_other_checks_is_never_rebound(sim: Simulator) -> None:
    h = Harness(sim)
    hand = make_ca("Hand-bound CA")
    async with h.client() as client:
        await client.upload_file("hand.crt", hand.cert_pem)
        await client.add_certkey(ca_name(hand), "hand.crt")
        await client.bind_certkey(VS, ca_name(hand), ca=True, crlcheck="Optional")
    sim.clear_requests()

    result = await h.apply([], trust(hand, crl="Mandatory"))

    assert writes(h) == []  # not ours: never unbound, never bound again
    assert ca_checks(sim) == {ca_name(hand): ("Optional", None)}
    [auth] = result.client_auth
    assert auth.bound == (ca_name(hand),) and checks(auth) == {(ca_name(hand), "Optional", None)}
    assert "not bound by this operator, kept with other checks" in auth.message
    assert f"{ca_name(hand)} (crlCheck Optional" in auth.message
    assert result.records.client_cas == ()  # and still not recorded as ours


async def test_a_dry_run_plans_the_bundle_change_and_writes_nothing(sim: Simulator) -> None:
    h = Harness(sim)
    old, new = make_ca("Client CA 2025"), make_ca("Client CA 2026")
    await h.apply([], trust(old, crl="Optional"))
    before = appliance(sim)
    sim.clear_requests()

    result = await h.apply([], trust(new, crl="Optional"), dry_run=True)

    lines = list(result.operations)
    assert [line.split(" ")[0] for line in lines] == ["upload", "add", "bind", "unbind", "delete", "delete"]
    assert lines[1].startswith(f"add CA certkey {ca_name(new)} from ")
    assert (
        lines[2]
        == f"bind CA certkey {ca_name(new)} to vserver {VS} for client authentication (crlCheck Optional)"
    )
    assert lines[3] == f"unbind CA certkey {ca_name(old)} from vserver {VS} (client authentication)"
    assert lines[4] == f"delete certkey {ca_name(old)}"
    [auth] = result.client_auth
    assert auth.reason == "Planned" and auth.bound == () and not auth.changed
    assert auth.message == f"dry run: would bind {ca_name(new)}; unbind {ca_name(old)}; nothing was written"
    # Nothing written: the request log holds reads only, the appliance is as it was.
    assert h.writes() == [] and result.writes == 0
    assert appliance(sim) == before

    # The apply then writes exactly the operations the dry run listed, in that order.
    sim.clear_requests()
    applied = await h.apply([], trust(new, crl="Optional"))
    assert applied.operations == ()  # the certificates' plan: nothing
    assert [(m, r) for m, r, _ in writes(h)] == [
        ("POST", "systemfile"),
        ("POST", "sslcertkey"),
        ("PUT", BINDING),
        ("DELETE", BINDING),
        ("DELETE", "sslcertkey"),
        ("DELETE", "systemfile"),
    ]


async def test_a_dry_run_plans_a_change_of_checks(sim: Simulator) -> None:
    h = Harness(sim)
    ca = make_ca("Client CA")
    await h.apply([], trust(ca, ocsp="Optional"))
    sim.clear_requests()

    result = await h.apply([], trust(ca, ocsp="Mandatory"), dry_run=True)

    assert list(result.operations) == [
        f"unbind CA certkey {ca_name(ca)} from vserver {VS} (client authentication)",
        f"bind CA certkey {ca_name(ca)} to vserver {VS} for client authentication (ocspCheck Mandatory)",
    ]
    [auth] = result.client_auth
    assert checks(auth) == {(ca_name(ca), None, "Optional")}  # what NITRO shows now
    assert h.writes() == [] and ca_checks(sim) == {ca_name(ca): (None, "Optional")}


async def test_a_rebind_refused_after_the_unbind_is_reported_and_the_next_apply_binds_again(
    sim: Simulator,
) -> None:
    """The one-round-trip window, when the bind fails: the CA is not claimed bound, and stays
    ours, so the next apply binds it with the asked checks."""
    h = Harness(sim)
    ca = make_ca("Client CA")
    await h.apply([], trust(ca, crl="Optional"))
    sim.faults.add(FaultRule(kind="error", resource=BINDING, method="PUT", times=1, status=599))

    [auth] = (await h.apply([], trust(ca, crl="Mandatory"))).client_auth

    assert auth.failed and auth.bound == () and auth.checks == ()
    assert ca_checks(sim) == {}  # unbound: the status says so, it does not claim the CA
    [auth] = (await h.apply([], trust(ca, crl="Mandatory"))).client_auth
    assert not auth.failed and auth.bound == (ca_name(ca),)
    assert ca_checks(sim) == {ca_name(ca): ("Mandatory", None)}
    assert [(r.vserver, r.certkey) for r in h.records.client_cas] == [(VS, ca_name(ca))]
