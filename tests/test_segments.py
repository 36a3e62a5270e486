"""Properties of tascodec.segments: RLE round trips, instances, coherence."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from tascodec.segments import (
    coherence,
    instance_bounds,
    instance_lengths,
    labels_to_segments,
    num_instances,
    segment_coherence,
    segments_to_labels,
    transcript,
)

labels_st = st.lists(st.integers(0, 6), min_size=0, max_size=200).map(
    lambda xs: np.asarray(xs, dtype=np.int64)
)
lengths_st = st.lists(st.integers(1, 60), min_size=1, max_size=20).map(
    lambda xs: np.asarray(xs, dtype=np.int64)
)
k_st = st.one_of(st.none(), st.integers(1, 12))


@settings(max_examples=200, deadline=None)
@given(labels_st)
def test_labels_segments_round_trip(y: np.ndarray) -> None:
    seg = labels_to_segments(y)
    np.testing.assert_array_equal(segments_to_labels(seg.action, seg.length), y)
    assert seg.length.sum() == y.size and np.all(seg.length >= 1)
    # segments tile [0, T) in order and neighbours differ
    np.testing.assert_array_equal(seg.start, np.concatenate(([0], np.cumsum(seg.length)[:-1]))[: len(seg)])
    assert np.all(seg.action[1:] != seg.action[:-1])
    np.testing.assert_array_equal(transcript(y), seg.action)
    for arr in seg:
        assert arr.dtype == np.int64


@settings(max_examples=200, deadline=None)
@given(st.lists(st.tuples(st.integers(0, 4), st.integers(1, 30)), min_size=1, max_size=20))
def test_segments_labels_round_trip(runs) -> None:
    # merge equal neighbours so the runs are a canonical segmentation
    merged: list[list[int]] = []
    for a, l in runs:
        if merged and merged[-1][0] == a:
            merged[-1][1] += l
        else:
            merged.append([a, l])
    action = np.array([m[0] for m in merged], dtype=np.int64)
    length = np.array([m[1] for m in merged], dtype=np.int64)
    seg = labels_to_segments(segments_to_labels(action, length))
    np.testing.assert_array_equal(seg.action, action)
    np.testing.assert_array_equal(seg.length, length)


@settings(max_examples=200, deadline=None)
@given(lengths_st, k_st)
def test_instance_lengths(length: np.ndarray, k) -> None:
    k_eff = num_instances(length, k)
    expected = length if k is None else np.minimum(length, k)
    np.testing.assert_array_equal(k_eff, expected)
    inst = instance_lengths(length, k_eff)
    assert inst.size == k_eff.sum() and np.all(inst >= 1)
    offsets = np.concatenate(([0], np.cumsum(k_eff)))
    for s in range(length.size):
        part = inst[offsets[s] : offsets[s + 1]]
        assert part.sum() == length[s]
        assert part.max() - part.min() <= 1
        bounds = instance_bounds(int(length[s]), int(k_eff[s]))
        assert bounds[0] == 0 and bounds[-1] == length[s]
        np.testing.assert_array_equal(np.diff(bounds), part)


@settings(max_examples=200, deadline=None)
@given(st.integers(1, 500))
def test_coherence_endpoints(length: int) -> None:
    c = coherence(length)
    assert c.shape == (length,) and c.dtype == np.float32
    assert c[0] == 0.0
    if length > 1:
        assert c[-1] == 1.0
        assert np.all(np.diff(c) > 0)
    assert np.all((c >= 0) & (c <= 1))


@settings(max_examples=200, deadline=None)
@given(lengths_st)
def test_segment_coherence_is_concatenation(length: np.ndarray) -> None:
    expected = np.concatenate([coherence(int(l)) for l in length])
    np.testing.assert_allclose(segment_coherence(length), expected, rtol=0, atol=1e-7)


def test_edge_cases() -> None:
    seg = labels_to_segments(np.zeros(0, dtype=np.int64))
    assert len(seg) == 0
    assert coherence(0).size == 0 and coherence(1).tolist() == [0.0]
    assert num_instances(5, None).tolist() == 5
    with pytest.raises(ValueError):
        labels_to_segments(np.zeros((2, 2)))
    with pytest.raises(ValueError):
        num_instances(np.array([3]), 0)
    with pytest.raises(ValueError):
        instance_bounds(3, 4)
    with pytest.raises(ValueError):
        instance_bounds(3, 0)
