"""Certificate serial numbers: the form NetScaler shows, and comparison by value.

NetScaler prints `serial` as upper-case hex in whole bytes with the leading zero kept
(`0A0141420000015385736A0B85ECA708` for the Let's Encrypt X3 intermediate) and no DER sign byte.
Other tools drop the leading zero or add separators, so two serials are the same only when they
are the same *number*: every comparison goes through `same_serial`.
"""

from __future__ import annotations


def serial_text(number: int) -> str:
    """`number` as NetScaler shows it: upper-case hex, whole bytes, no sign byte."""
    return number.to_bytes(max(1, (number.bit_length() + 7) // 8), "big").hex().upper()


def serial_value(text: str | None) -> int | None:
    """The number a serial in any common text form stands for (None when it is not hex)."""
    digits = (text or "").replace(":", "").replace(" ", "").strip()
    try:
        return int(digits, 16) if digits else None
    except ValueError:
        return None


def same_serial(a: str | None, b: str | None) -> bool:
    """Whether two serials in text form are the same number (an unreadable one matches nothing)."""
    va = serial_value(a)
    return va is not None and va == serial_value(b)
