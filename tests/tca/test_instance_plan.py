"""The per-instance and per-frame layout the TCA encoder and inversion work through
(``tascodec.tca.instance_plan``): chunks of instances, sampled frames, modules on a device."""

from __future__ import annotations

import numpy as np
import torch
from hypothesis import given, settings
from hypothesis import strategies as st

from tascodec.tca.instance_plan import chunks as _chunks, subsample as _subsample


def test_on_device_keeps_the_module_on_its_device():
    from tascodec.tca.instance_plan import on_device

    layer = torch.nn.Linear(2, 2)
    assert on_device(layer, torch.device("cpu")) is layer


def test_chunks_counted_in_sampled_frames():
    from tascodec.tca.instance_plan import chunks

    lengths = np.array([40, 40, 40, 40, 3, 3])
    assert chunks(lengths, 50) == [(0, 1), (1, 2), (2, 3), (3, 6)]  # all frames
    assert chunks(lengths, 50, per_instance=16) == [(0, 3), (3, 6)]  # 16 + 16 + 16 <= 50
    assert chunks(lengths, 50, per_instance=16, cap=100) == [(0, 2), (2, 6)]
    rng = np.random.default_rng(0)
    for _ in range(50):
        lengths = rng.integers(1, 60, size=int(rng.integers(1, 30)))
        m, limit, cap = int(rng.integers(1, 20)), int(rng.integers(1, 80)), int(rng.integers(1, 400))
        got = chunks(lengths, limit, m, cap)
        assert got[0][0] == 0 and got[-1][1] == lengths.size
        assert all(b == c for (_, b), (c, _) in zip(got, got[1:]))
        for a, b in got:
            assert b - a == 1 or (np.minimum(lengths[a:b], m).sum() <= limit
                                  and lengths[a:b].sum() <= cap)


def test_subsample_indices():
    lengths = np.array([1, 5, 10, 2])
    first = np.concatenate(([0], np.cumsum(lengths)[:-1]))
    idx = _subsample(lengths, first, 3)
    assert idx.tolist() == [0, 1, 3, 5, 7, 11, 14, 16, 17]
    assert _subsample(lengths, first, None).tolist() == list(range(18))


@settings(max_examples=50, deadline=None)
@given(lengths=st.lists(st.integers(1, 40), min_size=1, max_size=12),
       m=st.one_of(st.none(), st.integers(1, 12)), limit=st.integers(1, 60))
def test_subsample_and_chunks_properties(lengths, m, limit):
    lengths = np.array(lengths)
    first = np.concatenate(([0], np.cumsum(lengths)[:-1]))
    idx = _subsample(lengths, first, m)
    inst = np.searchsorted(first, idx, side="right") - 1
    assert (np.diff(idx) > 0).all() and idx[0] >= 0 and idx[-1] < lengths.sum()
    want = lengths if m is None or lengths.max() <= m else np.minimum(lengths, m)
    np.testing.assert_array_equal(np.bincount(inst, minlength=lengths.size), want)
    chunks = _chunks(lengths, limit)
    assert chunks[0][0] == 0 and chunks[-1][1] == lengths.size
    assert all(a < b for a, b in chunks) and all(chunks[i][1] == chunks[i + 1][0]
                                                 for i in range(len(chunks) - 1))
    assert all(lengths[a:b].sum() <= limit or b - a == 1 for a, b in chunks)
