"""benchmarks/bench_replay_fidelity.py: the split of the reconstruction error."""

from __future__ import annotations

import numpy as np

from benchmarks.bench_replay_fidelity import energy_shares


def _segment_means(x: np.ndarray, labels: np.ndarray) -> np.ndarray:
    out = x.copy()
    cut = np.flatnonzero(np.diff(labels)) + 1
    for a, b in zip(np.r_[0, cut], np.r_[cut, len(x)]):
        out[a:b] = x[a:b].mean(0)
    return out


def test_mean_replay_spends_all_its_error_on_variation():
    rng = np.random.default_rng(0)
    labels = np.repeat([2, 0, 2, 1], [5, 9, 3, 7])
    x = rng.normal(size=(24, 6))
    got = energy_shares(_segment_means(x, labels), x, labels)
    assert abs(got["mean_error"]) < 1e-12 and abs(got["variation_kept"]) < 1e-12
    assert np.isclose(got["error"], got["variation"])
    assert np.isclose(got["energy"], (x ** 2).sum())


def test_error_is_mean_error_plus_the_within_segment_part():
    rng = np.random.default_rng(1)
    labels = np.repeat([0, 1, 0], [4, 6, 5])
    x, y = rng.normal(size=(15, 3)), rng.normal(size=(15, 3))
    got = energy_shares(x, y, labels)
    within = ((x - _segment_means(x, labels)) - (y - _segment_means(y, labels))) ** 2
    assert np.isclose(got["error"], got["mean_error"] + within.sum())
    assert got["mean_error"] > 0
