"""Sequence sampling: pick the videos an archive stores, diverse (furthest point) or random.

Diverse sampling (paper Sec. 3.4) measures the distance between two videos as the normalised
edit distance between their transcripts (the ordered actions of their segments),
``Levenshtein(s_i, s_j) / max(|s_i|, |s_j|)``, and selects furthest-point style: each new video
is the one whose distance to its nearest already-selected video is largest.

Cost: furthest-point selection needs only the distances from each newly selected video to all
N videos, O(|S| N) edit distances, never the N x N matrix. Those are computed for all N
candidates at once: transcripts are padded into an (N, L) int array and the Levenshtein DP runs
row by row over the selected transcript, each row vectorised over candidates and positions
(the insertion recurrence along a row is a cumulative minimum).

Determinism: everything is a pure function of ``(transcripts, gamma, method, seed)``; the seed
goes through ``tascodec.rng`` (a specified generator), not NumPy's, so results do not change
across NumPy versions.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Any, Literal

import numpy as np

from ..errors import TascodecError
from ..rng import gaussian, splitmix64
from ..segments import transcript
from .splits import resolve_split

__all__ = [
    "edit_distance",
    "normalized_edit_distance",
    "edit_distances_to",
    "sample_size",
    "sample_videos",
    "SamplingMethod",
    "SAMPLING_METHODS",
    "select_videos",
    "DEFAULT_GAMMA",
]

#: the fraction of a split ``encode`` stores when not told, the same for every codec and every
#: ``k`` (every video), so that two codecs compared with their defaults store the same videos;
#: ``gamma=0.5`` (CLI ``--gamma 0.5``) is the paper's diverse half
DEFAULT_GAMMA = 1.0

SamplingMethod = Literal["diverse", "random"]
#: how ``encode`` picks the stored videos of a split ("none": all of them)
SAMPLING_METHODS = ("diverse", "random", "none")


def _as_sequence(seq: Sequence[int] | np.ndarray, what: str) -> np.ndarray:
    arr = np.asarray(seq)
    if arr.ndim != 1:
        raise TascodecError(f"{what}: a transcript must be 1-D, got shape {arr.shape}")
    if arr.size and not np.issubdtype(arr.dtype, np.integer):
        raise TascodecError(f"{what}: a transcript must hold integer action ids, got {arr.dtype}")
    return arr.astype(np.int64, copy=False)


def edit_distance(a: Sequence[int] | np.ndarray, b: Sequence[int] | np.ndarray) -> int:
    """Levenshtein distance between two integer sequences (unit insert/delete/substitute)."""
    a = _as_sequence(a, "edit_distance(a)")
    b = _as_sequence(b, "edit_distance(b)")
    return int(edit_distances_to(a, [b])[0])


def normalized_edit_distance(
    a: Sequence[int] | np.ndarray, b: Sequence[int] | np.ndarray
) -> float:
    """``edit_distance(a, b) / max(len(a), len(b))`` in [0, 1]; 0 when both are empty."""
    a = _as_sequence(a, "normalized_edit_distance(a)")
    b = _as_sequence(b, "normalized_edit_distance(b)")
    longest = max(a.size, b.size)
    return 0.0 if longest == 0 else edit_distance(a, b) / longest


def _pad(transcripts: Sequence[np.ndarray]) -> tuple[np.ndarray, np.ndarray]:
    """Pad transcripts into (N, L) int64 (pad value -1, never a real action) plus lengths (N,)."""
    lengths = np.array([t.size for t in transcripts], dtype=np.int64)
    width = int(lengths.max()) if lengths.size else 0
    padded = np.full((len(transcripts), width), -1, dtype=np.int64)
    for i, t in enumerate(transcripts):
        padded[i, : t.size] = t
    return padded, lengths


def _distances_padded(a: np.ndarray, padded: np.ndarray, lengths: np.ndarray) -> np.ndarray:
    """Levenshtein distances from ``a`` (m,) to every row of ``padded`` (N, L): (N,) int64."""
    n, width = padded.shape
    cols = np.arange(width + 1, dtype=np.int64)
    prev = np.broadcast_to(cols, (n, width + 1)).copy()  # row 0: j insertions
    for i, symbol in enumerate(a, start=1):
        cur = np.empty_like(prev)
        cur[:, 0] = i
        # Deletion from prev[j] or (mis)match from prev[j - 1] ...
        cur[:, 1:] = np.minimum(prev[:, 1:] + 1, prev[:, :-1] + (padded != symbol))
        # ... then insertions along the row: cur[j] = min_k<=j (cur[k] + j - k).
        cur = np.minimum.accumulate(cur - cols, axis=1) + cols
        prev = cur
    return prev[np.arange(n), lengths]


def edit_distances_to(
    a: Sequence[int] | np.ndarray, others: Sequence[Sequence[int] | np.ndarray]
) -> np.ndarray:
    """Levenshtein distances from ``a`` (m,) to each of ``others`` (N sequences): (N,) int64."""
    a = _as_sequence(a, "edit_distances_to(a)")
    seqs = [_as_sequence(b, f"edit_distances_to(others[{i}])") for i, b in enumerate(others)]
    if not seqs:
        return np.zeros(0, dtype=np.int64)
    padded, lengths = _pad(seqs)
    return _distances_padded(a, padded, lengths)


def sample_size(num_videos: int, gamma: float) -> int:
    """``|S| = round(gamma * N)`` (halves round up), at least 1 when N > 0.

    Raises ``TascodecError`` unless ``0 < gamma <= 1``.
    """
    if isinstance(gamma, bool) or not isinstance(gamma, (int, float, np.floating)):
        raise TascodecError(f"gamma must be a number in (0, 1], got {gamma!r}")
    if not (0.0 < float(gamma) <= 1.0) or math.isnan(float(gamma)):
        raise TascodecError(f"gamma must be in (0, 1], got {gamma!r}")
    if num_videos <= 0:
        return 0
    return min(num_videos, max(1, math.floor(float(gamma) * num_videos + 0.5)))


def _first_index(seed: int, n: int) -> int:
    """The seed's starting video: a stable hash of the seed, modulo N."""
    word = splitmix64(np.array([seed & 0xFFFFFFFFFFFFFFFF], dtype=np.uint64))[0]
    return int(word % np.uint64(n))


def _furthest_point(transcripts: list[np.ndarray], count: int, seed: int) -> list[int]:
    # Distances are computed once per distinct transcript (datasets repeat many) and only
    # against the distinct transcripts; ``inverse`` maps each video to its distinct row.
    keys: dict[bytes, int] = {}
    inverse = np.array([keys.setdefault(t.tobytes(), len(keys)) for t in transcripts])
    distinct = [transcripts[int(i)] for i in np.unique(inverse, return_index=True)[1]]
    padded, lengths = _pad(distinct)
    n = len(transcripts)
    first = _first_index(seed, n)
    selected = [first]
    nearest = np.full(len(distinct), np.inf)  # per distinct transcript: to nearest selected
    done = np.zeros(len(distinct), dtype=bool)  # distinct transcripts already measured from
    chosen = np.zeros(n, dtype=bool)
    current = first
    while True:
        chosen[current] = True
        if len(selected) == count:
            return selected
        row = int(inverse[current])
        if not done[row]:
            done[row] = True
            a = distinct[row]
            dist = _distances_padded(a, padded, lengths).astype(np.float64)
            longest = np.maximum(lengths, a.size)
            dist = np.divide(dist, longest, out=np.zeros_like(dist), where=longest > 0)
            np.minimum(nearest, dist, out=nearest)
        score = np.where(chosen, -1.0, nearest[inverse])
        current = int(np.argmax(score))  # ties: the lowest index wins
        selected.append(current)


def sample_videos(
    transcripts: Sequence[Sequence[int] | np.ndarray],
    gamma: float,
    *,
    method: SamplingMethod = "diverse",
    seed: int = 0,
) -> list[int]:
    """Indices of ``round(gamma * N)`` distinct videos, **in selection order**.

    ``transcripts``: N integer sequences (a video's segment actions, see
    ``tascodec.segments.transcript``). ``method="diverse"``: furthest-point selection under the
    normalised edit distance; the seed picks the first video, later ties go to the lowest index.
    ``method="random"``: a seeded uniform random subset (the paper's baseline). The first ``m``
    indices of a run are the selection for any smaller size ``m``; sort them for dataset order.
    """
    seqs = [_as_sequence(t, f"transcripts[{i}]") for i, t in enumerate(transcripts)]
    count = sample_size(len(seqs), gamma)
    if not isinstance(seed, (int, np.integer)) or isinstance(seed, bool):
        raise TascodecError(f"seed must be an integer, got {seed!r}")
    if count == 0:
        return []
    if method == "diverse":
        return _furthest_point(seqs, count, int(seed))
    if method == "random":
        keys = gaussian(int(seed) & 0xFFFFFFFF, 0, len(seqs))
        return [int(i) for i in np.argsort(keys, kind="stable")[:count]]
    raise TascodecError(f"sampling method must be 'diverse' or 'random', got {method!r}")


def select_videos(dataset: Any, split: str | None, gamma: float, sampling: str, seed: int
                  ) -> tuple[list[str], list[str], dict[str, list[str]], str | None]:
    """What ``encode`` stores of a ``StandardDataset``: (stored videos, the split's videos,
    splits to record, the split's bundle name), for a split (``gamma`` of it by ``sampling``)
    or, with ``split=None``, the whole dataset (gamma 1)."""

    if sampling not in SAMPLING_METHODS:
        raise TascodecError(f"sampling must be one of {SAMPLING_METHODS}, got {sampling!r}")
    sample_size(1, gamma)  # validates gamma
    if split is None:
        if float(gamma) != 1.0:
            raise TascodecError(
                f"gamma={gamma!r} needs a split: archiving a whole dataset (split=None) "
                "stores every video, so gamma must be 1"
            )
        videos = list(dataset.videos)
        return videos, videos, dataset.splits(), None
    pool = dataset.split(split)
    name = resolve_split(split, dataset.splits())  # stored under its bundle name
    if not pool:
        raise TascodecError(f"split {name!r} of {dataset.root} has no videos")
    if sampling == "none":
        if float(gamma) != 1.0:
            raise TascodecError(f"sampling='none' stores every video: gamma must be 1, got {gamma}")
        stored = list(pool)
    else:
        picked = sample_videos(
            [transcript(dataset.labels(v)) for v in pool], gamma, method=sampling, seed=seed
        )
        stored = [pool[i] for i in sorted(picked)]  # archive keeps the split's order
    return stored, list(pool), {name: stored}, name
