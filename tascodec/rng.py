"""A counter-based Gaussian generator, specified exactly so any reader can reproduce it.

Used by the ``tca-random`` codec, whose codes are not stored but drawn at decode time. The
stream is a pure function of ``(seed, index)``; NumPy's own generators make no promise of
stable streams across versions, so the archive cannot depend on them. See ``spec/``.

``u64(seed, n) = splitmix64(seed * 2**32 + n)`` (mod 2**64);
uniforms ``u1 = (u64(seed, 2j) >> 11 + 0.5) / 2**53``, ``u2`` likewise from ``2j + 1``;
value ``j`` = ``sqrt(-2 ln u1) * cos(2 pi u2)`` (Box-Muller, one value per pair).
"""

from __future__ import annotations

import numpy as np

__all__ = ["splitmix64", "gaussian", "random_codes", "BLOCK"]

_MASK = np.uint64(0xFFFFFFFFFFFFFFFF)


def splitmix64(x: np.ndarray) -> np.ndarray:
    """SplitMix64 finaliser of uint64 counters (wrapping arithmetic)."""
    with np.errstate(over="ignore"):
        z = (x + np.uint64(0x9E3779B97F4A7C15)) & _MASK
        z = ((z ^ (z >> np.uint64(30))) * np.uint64(0xBF58476D1CE4E5B9)) & _MASK
        z = ((z ^ (z >> np.uint64(27))) * np.uint64(0x94D049BB133111EB)) & _MASK
        return z ^ (z >> np.uint64(31))


def _uniform(seed: int, counter: np.ndarray) -> np.ndarray:
    with np.errstate(over="ignore"):
        key = (np.uint64(seed & 0xFFFFFFFF) << np.uint64(32)) + counter.astype(np.uint64)
    bits = splitmix64(key) >> np.uint64(11)
    return (bits.astype(np.float64) + 0.5) / float(2**53)


def gaussian(seed: int, start: int, count: int) -> np.ndarray:
    """Standard normal values ``start .. start + count - 1`` of stream ``seed``: (count,) float64."""
    j = np.arange(start, start + count, dtype=np.uint64)
    u1 = _uniform(seed, j * np.uint64(2))
    u2 = _uniform(seed, j * np.uint64(2) + np.uint64(1))
    return np.sqrt(-2.0 * np.log(u1)) * np.cos(2.0 * np.pi * u2)


#: values drawn at once by ``random_codes``: its temporaries (about 64 bytes per value: the
#: uint64 counters and keys, the float64 uniforms and the Box-Muller terms) stay
#: ``64 * BLOCK`` bytes, whatever the number of codes
BLOCK = 4096


def random_codes(seed: int, first_code: int, num_codes: int, dim: int) -> np.ndarray:
    """Codes ``first_code .. first_code + num_codes - 1`` of a ``tca-random`` archive: (n, dim) float32.

    Code ``i`` is values ``i * dim .. (i + 1) * dim - 1`` of stream ``seed``. Drawn ``BLOCK``
    values at a time into the float32 result (each value is a function of its index alone),
    so a decode holds the (n, dim) float32 codes and at most ``64 * BLOCK`` bytes besides.
    """
    out = np.empty(num_codes * dim, dtype=np.float32)
    start = first_code * dim
    for lo in range(0, out.size, BLOCK):
        hi = min(lo + BLOCK, out.size)
        out[lo:hi] = gaussian(seed, start + lo, hi - lo)
    return out.reshape(num_codes, dim)
