"""Byte counts for people and from people: binary units, labelled as such (B, KiB, MiB, GiB).

``format_bytes`` writes a count (``1536`` -> ``"1.50 KiB"``); ``parse_bytes`` reads one as a
person types it (``30000``, ``"30KiB"``, ``"1.5 MiB"``, ``"2GB"``): every command-line byte
argument (``--max-bytes``, ``--decode-limit``, ...) goes through it.
"""

from __future__ import annotations

import re
from fractions import Fraction

__all__ = ["format_bytes", "parse_bytes", "UNITS"]

#: unit suffix (lower case) -> bytes: binary (KiB, and K as ls spells it) and decimal (kB)
UNITS = {"": 1, "b": 1, "k": 1 << 10, "kib": 1 << 10, "kb": 1000, "m": 1 << 20, "mib": 1 << 20,
         "mb": 10**6, "g": 1 << 30, "gib": 1 << 30, "gb": 10**9, "t": 1 << 40, "tib": 1 << 40,
         "tb": 10**12}
_SIZE = re.compile(r"\s*([0-9]+(?:\.[0-9]+)?)\s*([A-Za-z]*)\s*")


def format_bytes(n: float, digits: int = 2) -> str:
    """``1536`` -> ``"1.50 KiB"`` (``digits`` decimals); under 1024: ``"123 B"``."""
    value = float(n)
    for unit in ("B", "KiB", "MiB"):
        if abs(value) < 1024:
            return f"{value:.0f} B" if unit == "B" else f"{value:.{digits}f} {unit}"
        value /= 1024
    return f"{value:.{digits}f} GiB"


def parse_bytes(text: str) -> int | None:
    """``"30KiB"`` -> 30720, ``"2MB"`` -> 2000000, ``"123"`` -> 123 (case and spaces ignored);
    ``None`` for text that is not a byte count (the caller names the argument)."""
    m = _SIZE.fullmatch(str(text))
    if not m or m[2].lower() not in UNITS:
        return None
    return int(Fraction(m[1]) * UNITS[m[2].lower()])  # exact: no float overflow
