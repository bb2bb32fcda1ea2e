"""Answers as real appliances give them, where the simulator once agreed only with the client (issue 16).

Each test names the public source of the real answer; docs/nitro.md lists them with confidence tags.
"""

from __future__ import annotations

from netscaler_certsync.testing.pki import TestPKI, make_ca, make_leaf
from tests.simulator.helpers import Nitro, assert_done


async def test_serial_is_whole_bytes_with_the_leading_zero(nitro: Nitro, pki: TestPKI) -> None:
    # CIC docs acme.md: `Serial Number: 0A0141420000015385736A0B85ECA708` (LE X3).
    ca = make_ca("X3", issuer=pki.root, serial=0x0A0141420000015385736A0B85ECA708)
    leaf = make_leaf(ca, "odd.example.com", serial=0x80)  # top bit set: no DER sign byte shown
    await nitro.install("x3", ca, with_key=False)
    await nitro.install("odd", leaf)
    serials = {e["certkey"]: e["serial"] for e in assert_done(await nitro.get("sslcertkey"))["sslcertkey"]}
    assert serials["x3"] == "0A0141420000015385736A0B85ECA708"
    assert serials["odd"] == "80"
