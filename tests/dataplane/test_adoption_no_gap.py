"""Adoption without a gap: a certkey installed by hand, bound as default and as SNI certificate
and linked to its CA, is taken over by the real operator (`certificates[].adopt`) and renewed while
clients handshake without pause with both vservers.

From the same issuer (the common case: certbot or a script installed what cert-manager now
renews) no handshake may fail, and each sees exactly the hand-made generation or one of the
operator's, with its complete chain. From another issuer the certkey is still updated in place
(its references must stay): a certificate is served at every moment, and the status says that
clients without the new intermediate may have failed between `update` and `link`.
"""

from __future__ import annotations

import socket
import ssl
from typing import Any

import pytest

from certsync_devkit.operator_thread import OperatorThread
from certsync_devkit.pki import Issued, make_ca, make_leaf
from tests.dataplane.scenario import (
    HOST,
    Generation,
    HandshakeLoop,
    Issuers,
    _fp,
    describe,
    put_secret,
    served_ders,
    wait_served_status,
)
from tests.operator.harness import Cluster, nitro

HAND = "hand_www"
RENEWALS = 4


def install_by_hand(cluster: Cluster, hand: Generation) -> None:
    async def install(c: Any) -> None:
        await c.upload_file("hand_ca.crt", hand.chain[0].cert_pem)
        await c.add_certkey("hand_ca", "hand_ca.crt")
        await c.upload_file("hand.crt", hand.leaf.cert_pem)
        await c.upload_file("hand.key", hand.leaf.key_pem)
        await c.add_certkey(HAND, "hand.crt", "hand.key")
        await c.link_certkey(HAND, "hand_ca")
        await c.bind_certkey("vs_https", HAND)
        await c.bind_certkey("vs_sni", HAND, sni=True)

    nitro(cluster.simulator, install)


def adopt(cluster: Cluster, first: Generation) -> None:
    host, port = cluster.simulator.vserver_address("vs_https")
    cluster.connection()
    put_secret(cluster, "www", first, create=True)
    cluster.sync(
        "www",
        certificates=[{"secretName": "www", "adopt": {"certKeyName": HAND}}],
        bindings=[{"vserver": "vs_https", "verify": {"host": host, "port": port, "serverName": HOST}}],
    )
    wait_served_status(cluster, "www", first)


class AnyCertificateLoop(HandshakeLoop):
    """Handshakes that check only that a certificate is served (no chain verification)."""

    def _run(self) -> None:
        context = ssl.create_default_context()
        context.check_hostname, context.verify_mode = False, ssl.CERT_NONE
        while not self._stop.is_set():
            try:
                with (
                    socket.create_connection(self.address, timeout=5) as raw,
                    context.wrap_socket(raw, server_hostname=self.server_name) as tls,
                ):
                    self.seen.append(tuple(_fp(d) for d in served_ders(tls)))
            except (OSError, ssl.SSLError) as exc:
                self.failures.append((self.phase, f"{type(exc).__name__}: {exc}"))


@pytest.mark.timeout(180)
def test_same_issuer_adoption_and_renewals_never_fail_a_handshake(
    cluster: Cluster, operator: OperatorThread
) -> None:
    issuers = Issuers.create()
    intermediate: Issued = issuers.chains[0][0]
    hand = Generation(make_leaf(intermediate, HOST), (intermediate,))
    install_by_hand(cluster, hand)
    loops = [
        HandshakeLoop(cluster.simulator.vserver_address(vs), issuers.roots_pem).start()
        for vs in ("vs_https", "vs_sni")
    ]
    generations = [hand]
    try:
        generations.append(Generation(make_leaf(intermediate, HOST), (intermediate,)))
        adopt(cluster, generations[-1])
        for _ in range(RENEWALS):
            generations.append(Generation(make_leaf(intermediate, HOST), (intermediate,)))
            put_secret(cluster, "www", generations[-1])
            wait_served_status(cluster, "www", generations[-1])
    finally:
        for loop in loops:
            loop.stop()
    allowed = {g.served for g in generations}
    for loop in loops:
        assert loop.failures == [], f"{len(loop.failures)} failed handshakes: {loop.failures[:3]}"
        unexpected = [s for s in loop.seen if s not in allowed]
        assert unexpected == [], describe(unexpected[:5], generations)
        assert loop.seen[0] == hand.served and loop.seen[-1] == generations[-1].served
        assert len({s for s in loop.seen}) > 2  # the loop saw the adoption and renewals happen
    # Same name throughout: the hand-made certkey, still bound both ways, is what serves.
    assert cluster.bound("vs_https") == [(HAND, False)]
    assert cluster.bound("vs_sni") == [(HAND, True)]
    assert cluster.invariants() == []


@pytest.mark.timeout(180)
def test_adoption_across_issuers_always_serves_a_certificate_and_says_so(
    cluster: Cluster, operator: OperatorThread
) -> None:
    hand_ca = make_ca("Hand Intermediate", issuer=make_ca("Hand Root"), path_length=0)
    hand = Generation(make_leaf(hand_ca, HOST), (hand_ca,))
    install_by_hand(cluster, hand)
    loops = [
        AnyCertificateLoop(cluster.simulator.vserver_address(vs), "").start() for vs in ("vs_https", "vs_sni")
    ]
    issuers = Issuers.create()
    first = Generation(make_leaf(issuers.chains[0][0], HOST), issuers.chains[0], True)
    try:
        for loop in loops:  # the hand-made certificate is seen before the adoption starts ...
            loop.wait_handshakes()
        adopt(cluster, first)
        for loop in loops:  # ... and the adopted one after it is served
            loop.wait_handshakes()
    finally:
        for loop in loops:
            loop.stop()
    leaves = {hand.served[0], first.served[0]}
    for loop in loops:
        assert loop.failures == [], f"{len(loop.failures)} failed handshakes: {loop.failures[:3]}"
        assert {s[0] for s in loop.seen} == leaves  # both seen, nothing else, never no certificate
    entry = cluster.get_sync("www")["status"]["certificates"][0]
    assert entry["reason"] == "Adopted" and "issuer changed" in entry["message"]
    assert cluster.invariants() == []
