"""The counter-based Gaussian generator (``tascodec.rng``): the spec's test vectors, and the
memory a generation holds."""

from __future__ import annotations

import tracemalloc

import numpy as np


def test_spec_rng_vectors():
    """The test vectors quoted in spec/tasz-v1.md section 5.1."""
    from tascodec.rng import gaussian, random_codes, splitmix64

    assert int(splitmix64(np.array([0], np.uint64))[0]) == 0xE220A8397B1DCDAF
    assert int(splitmix64(np.array([1], np.uint64))[0]) == 0x910A2DEC89025CC1
    np.testing.assert_allclose(
        gaussian(12345, 0, 4),
        [-0.8970744049798663, -0.10970906659925467, 0.3066287889890559, -0.13122391210619216],
        rtol=1e-15,
    )
    np.testing.assert_array_equal(
        random_codes(12345, 5, 1, 3)[0],
        np.float32([-0.7267609238624573, -1.005210518836975, -0.3211902379989624]),
    )


def test_generated_codes_hold_the_codes_and_one_block():
    """Issue 28 item 1: ``random_codes`` held several uint64 / float64 arrays of N d values
    (10.5 x the estimate of a ``tca-random`` decode); now the float32 codes and one block."""
    from tascodec import rng

    n, d = 2000, 256
    tracemalloc.start()
    try:
        codes = rng.random_codes(3, 10, n, d)
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert codes.shape == (n, d) and codes.dtype == np.float32
    assert peak <= 4 * n * d + 64 * rng.BLOCK + (16 << 10), peak
    np.testing.assert_array_equal(codes[5:7], rng.random_codes(3, 15, 2, d))
