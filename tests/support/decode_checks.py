"""Checks the decode tests share (``tests/decode/``): a decode equal to its reference."""

from __future__ import annotations

import numpy as np


def assert_close(x, ref):
    assert x.dtype == np.float32 and x.shape == ref.shape
    tol = 1e-4 * max(float(np.abs(ref).max()), 1e-6)
    np.testing.assert_array_less(np.abs(x - ref), tol)
