"""Byte counts for people: binary units, labelled as such (B, KiB, MiB, GiB)."""

from __future__ import annotations

__all__ = ["format_bytes"]


def format_bytes(n: float, digits: int = 2) -> str:
    """``1536`` -> ``"1.50 KiB"`` (``digits`` decimals); under 1024: ``"123 B"``."""
    value = float(n)
    for unit in ("B", "KiB", "MiB"):
        if abs(value) < 1024:
            return f"{value:.0f} B" if unit == "B" else f"{value:.{digits}f} {unit}"
        value /= 1024
    return f"{value:.{digits}f} GiB"
