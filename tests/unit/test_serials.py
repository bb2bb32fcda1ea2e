"""Serials: NetScaler's whole-byte form, and comparison by value whatever the text form."""

from __future__ import annotations

from netscaler_certsync.domain import same_serial, serial_text


def test_serial_text_keeps_the_leading_zero_and_drops_the_sign_byte() -> None:
    assert serial_text(0x0A0141420000015385736A0B85ECA708) == "0A0141420000015385736A0B85ECA708"
    assert serial_text(0x80) == "80" and serial_text(0) == "00"


def test_same_serial_compares_numbers() -> None:
    assert same_serial("0A01", "a01") and same_serial("0a:01", "A01") and same_serial("00A01", "0A01")
    assert not same_serial("0A01", "0A02")
    assert not same_serial(None, None) and not same_serial("zz", "zz") and not same_serial("", "")
