"""Encrypted keys through the engine against the simulator (issue 20): exact writes, passplain on
add and update (the simulator refuses an encrypted key without it), re-key on a new passphrase."""

from __future__ import annotations

import dataclasses
from collections.abc import AsyncIterator

import pytest

from certsync_devkit.pki import Issued, TestPKI, pem_bundle
from netscaler_certsync.domain import parse_material, reasons
from netscaler_certsync.engine import BindingSpec, DesiredCertificate
from netscaler_certsync.simulator import Simulator
from tests.support.engine import Harness, bindings, certkeys, desired, files

HTTPS = BindingSpec("vs_https")


@pytest.fixture
async def h(sim: Simulator) -> AsyncIterator[Harness]:
    yield Harness(sim)
    assert sim.check_invariants() == []


def encrypted(leaf: Issued, chain: list[Issued], passphrase: bytes) -> DesiredCertificate:
    plain = desired(leaf, chain, bindings=[HTTPS])
    material = parse_material(
        pem_bundle([leaf, *chain]), leaf.key_pem_encrypted(passphrase), passphrase=passphrase
    )
    return dataclasses.replace(plain, material=material)


def _writes(h: Harness) -> list[tuple[str, str | None]]:
    return [(r.resource, r.action) for r in h.writes() if r.resource != "nsconfig"]


async def test_encrypted_key_add_renewal_and_new_passphrase(h: Harness, pki: TestPKI) -> None:
    first = encrypted(pki.leaf(), [pki.intermediate], b"pp-1")
    res = await h.apply([first])
    assert res.certificates[0].reason == reasons.Synced
    ck = certkeys(h.sim)[first.name]
    assert ck["key_encrypted"] is True and bindings(h.sim) == {("vs_https", first.name, False)}

    # Renewal in place with a new key: one upload each, one update carrying passplain.
    h.sim.clear_requests()
    renewed = encrypted(pki.leaf(), [pki.intermediate], b"pp-1")
    res = await h.apply([renewed])
    assert res.certificates[0].reason == reasons.Renewed
    assert _writes(h)[:3] == [("systemfile", None), ("systemfile", None), ("sslcertkey", "update")]
    assert certkeys(h.sim)[first.name]["key_encrypted"] is True

    # Same certificate and key, a new passphrase: one key file upload, one update, old file gone.
    h.sim.clear_requests()
    before = set(files(h.sim))
    leaf = renewed.material.leaf
    rotated = dataclasses.replace(
        renewed,
        material=dataclasses.replace(renewed.material, passplain="pp-2"),
    )
    res = await h.apply([rotated])
    assert res.certificates[0].state.value == "Synced", res.certificates[0].message
    assert _writes(h) == [("systemfile", None), ("sslcertkey", "update"), ("systemfile", None)]
    after = set(files(h.sim))
    assert len(after - before) == 1 and len(before - after) == 1
    assert certkeys(h.sim)[first.name]["serial"] == leaf.serial
    assert bindings(h.sim) == {("vs_https", first.name, False)}

    # Again: nothing to do.
    h.sim.clear_requests()
    await h.apply([rotated])
    assert h.writes() == []
