"""Sequence sampling: edit distances, furthest-point selection, random baseline, errors."""

from __future__ import annotations

import time

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from tascodec.errors import TascodecError
from tascodec.dataset.sampling import (
    edit_distance,
    edit_distances_to,
    normalized_edit_distance,
    sample_size,
    sample_videos,
)

seqs = st.lists(st.integers(0, 4), max_size=9)


def plain_levenshtein(a: list[int], b: list[int]) -> int:
    e = [[0] * (len(b) + 1) for _ in range(len(a) + 1)]
    for i in range(len(a) + 1):
        for j in range(len(b) + 1):
            if min(i, j) == 0:
                e[i][j] = max(i, j)
            else:
                e[i][j] = min(
                    e[i - 1][j] + 1, e[i][j - 1] + 1, e[i - 1][j - 1] + (a[i - 1] != b[j - 1])
                )
    return e[len(a)][len(b)]


def test_edit_distance_known_values():
    assert edit_distance([1, 2, 3], [1, 2, 3]) == 0
    assert edit_distance([], [4, 5]) == 2
    assert edit_distance([1, 2, 3, 4], [2, 3, 4, 5]) == 2
    assert normalized_edit_distance([1, 2], [1, 3, 4, 5]) == pytest.approx(3 / 4)
    assert normalized_edit_distance([], []) == 0.0


@settings(max_examples=150, deadline=None)
@given(seqs, st.lists(seqs, min_size=1, max_size=6))
def test_vectorised_distances_match_plain_dp(a, others):
    got = edit_distances_to(np.array(a, dtype=np.int64), [np.array(b, np.int64) for b in others])
    assert got.tolist() == [plain_levenshtein(a, b) for b in others]


@settings(max_examples=60, deadline=None)
@given(seqs, seqs)
def test_distance_symmetric_and_normalised(a, b):
    assert edit_distance(a, b) == edit_distance(b, a)
    assert 0.0 <= normalized_edit_distance(a, b) <= 1.0


@pytest.mark.parametrize("method", ["diverse", "random"])
@settings(max_examples=40, deadline=None)
@given(
    transcripts=st.lists(seqs, min_size=1, max_size=25),
    gamma=st.floats(0.01, 1.0),
    seed=st.integers(0, 2**40),
)
def test_size_distinct_and_deterministic(method, transcripts, gamma, seed):
    picked = sample_videos(transcripts, gamma, method=method, seed=seed)
    n = len(transcripts)
    assert len(picked) == max(1, int(np.floor(gamma * n + 0.5)))
    assert len(set(picked)) == len(picked)
    assert all(0 <= i < n for i in picked)
    assert picked == sample_videos(transcripts, gamma, method=method, seed=seed)


def test_furthest_point_hand_case():
    # Three clusters of transcripts: near-copies of A, B and C, all far apart.
    a, b, c = [0, 1, 2, 3], [4, 5, 6, 7], [8, 9, 10, 11]
    transcripts = [a, a + [3], b, [0, 1, 2], b + [7], c, c + [11]]
    for seed in range(6):
        picked = sample_videos(transcripts, 3 / 7, seed=seed)
        clusters = {0: "a", 1: "a", 3: "a", 2: "b", 4: "b", 5: "c", 6: "c"}
        assert sorted(clusters[i] for i in picked) == ["a", "b", "c"], (seed, picked)


def test_furthest_point_property():
    rng = np.random.default_rng(3)
    transcripts = [rng.integers(0, 6, size=rng.integers(1, 8)) for _ in range(30)]
    picked = sample_videos(transcripts, 0.4)
    d = np.array(
        [[normalized_edit_distance(x, y) for y in transcripts] for x in transcripts]
    )
    for step in range(1, len(picked)):
        chosen = picked[:step]
        nearest = d[:, chosen].min(axis=1)
        nearest[chosen] = -1
        assert nearest[picked[step]] == nearest.max()
        assert picked[step] == int(np.argmax(nearest))  # ties to the lowest index


def test_duplicates_come_last_and_seed_picks_first():
    transcripts = [[1, 2]] * 5 + [[3]] + [[4, 5, 6]]
    picked = sample_videos(transcripts, 1.0, seed=0)
    assert sorted(picked) == list(range(7))
    assert set(picked[:3]) >= {5, 6}
    firsts = {sample_videos(transcripts, 1 / 7, seed=s)[0] for s in range(40)}
    assert len(firsts) > 3  # the seed moves the starting point


def test_prefix_property_and_random_differs_by_seed():
    rng = np.random.default_rng(0)
    transcripts = [rng.integers(0, 9, size=6) for _ in range(40)]
    assert sample_videos(transcripts, 0.25) == sample_videos(transcripts, 0.5)[:10]
    runs = {tuple(sample_videos(transcripts, 0.5, method="random", seed=s)) for s in range(5)}
    assert len(runs) == 5


@pytest.mark.parametrize("gamma", [0, -0.1, 1.5, float("nan"), "half", None, True])
def test_bad_gamma(gamma):
    with pytest.raises(TascodecError, match="gamma"):
        sample_videos([[1], [2]], gamma)


def test_bad_inputs():
    with pytest.raises(TascodecError, match="method"):
        sample_videos([[1], [2]], 0.5, method="greedy")
    with pytest.raises(TascodecError, match=r"transcripts\[1\]"):
        sample_videos([[1], [[2, 3]]], 0.5)
    with pytest.raises(TascodecError, match=r"transcripts\[0\].*integer"):
        sample_videos([[1.5]], 0.5)
    with pytest.raises(TascodecError, match="seed"):
        sample_videos([[1]], 0.5, seed=1.5)
    assert sample_videos([], 0.5) == []
    assert sample_size(3, 0.01) == 1
    assert sample_size(21, 0.5) == 11  # halves round up


@pytest.mark.slow
def test_breakfast_split1_speed():
    from conftest import shared_dataset

    from tascodec.segments import transcript

    root = shared_dataset("breakfast-gt")
    ids = {}
    for line in (root / "mapping.txt").read_text().splitlines():
        if line.strip():
            i, name = line.split()
            ids[name] = int(i)
    videos = (root / "splits" / "train.split1.bundle").read_text().split()
    trs = [
        transcript(np.array([ids[w] for w in (root / "groundTruth" / v).read_text().split()]))
        for v in videos
    ]
    start = time.perf_counter()
    picked = sample_videos(trs, 0.5)
    elapsed = time.perf_counter() - start
    print(f"breakfast split1: {len(trs)} transcripts -> {len(picked)} in {elapsed:.3f} s")
    assert len(picked) == 730
