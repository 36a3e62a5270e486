"""Action segments: run-length encoding of frame labels, instances and the coherence variable.

Conventions (normative, see ``spec/``):

* a segment is ``(action, start, length)``; segments of a video tile ``[0, T)`` in order;
* a segment of length ``l`` is split into ``K_eff = min(K, l)`` instances; instance ``k``
  (0-based) covers the frames ``[floor(k * l / K_eff), floor((k + 1) * l / K_eff))`` of the
  segment, so instance lengths sum to ``l`` and differ by at most one;
* the coherence variable of frame ``i`` (0-based) of a segment is ``c_i = i / (l - 1)``, and
  ``0`` when ``l == 1`` (the paper's ``(i - 1) / (l - 1)`` with 1-based ``i``);
* linear interpolation between codes (decode kind ``content.MLP_LERP``, format 2.2): instance
  ``k`` of a segment, covering ``[s_k, e_k)``, sits at its centre ``(s_k + e_k - 1) / 2``; frame
  ``i`` between the centres of instances ``k`` and ``k + 1`` of its segment takes
  ``w = (2 i - M_k) / (M_{k+1} - M_k)`` (``M_k = s_k + e_k - 1``, float64 cast to float32) of
  the right code, and frames before the first centre or after the last take the nearest code;
* the same over the video's whole timeline (decode kind ``content.MLP_LERP_VIDEO``, format 2.3):
  instance ``j`` of the video, covering video frames ``[S_j, E_j)``, sits at ``M_j = S_j + E_j
  - 1`` (doubled), and frame ``t`` between ``M_j`` and ``M_{j+1}`` takes ``w = (2 t - M_j) /
  (M_{j+1} - M_j)`` of code ``j + 1``, whether or not the two instances share a segment.
"""

from __future__ import annotations

from typing import NamedTuple

import numpy as np

from .errors import TascodecError

__all__ = [
    "Segments",
    "labels_to_segments",
    "segments_to_labels",
    "transcript",
    "num_instances",
    "num_instances_for_stride",
    "instance_bounds",
    "instance_lengths",
    "coherence",
    "segment_coherence",
    "lerp_weights",
]


class Segments(NamedTuple):
    """Run-length encoded labels of one video; three arrays of shape (N,)."""

    action: np.ndarray  # int64 (N,)
    start: np.ndarray  # int64 (N,)
    length: np.ndarray  # int64 (N,)

    def __len__(self) -> int:  # type: ignore[override]
        return int(self.action.shape[0])


def labels_to_segments(labels: np.ndarray) -> Segments:
    """Run-length encode frame labels (T,) into segments; an empty array gives no segments."""
    labels = np.asarray(labels)
    if labels.ndim != 1:
        raise TascodecError(f"labels must be 1-D (T,), got shape {labels.shape}")
    if labels.size == 0:
        empty = np.zeros(0, dtype=np.int64)
        return Segments(empty, empty.copy(), empty.copy())
    change = np.flatnonzero(labels[1:] != labels[:-1]) + 1
    start = np.concatenate(([0], change)).astype(np.int64)
    end = np.concatenate((change, [labels.size])).astype(np.int64)
    return Segments(labels[start].astype(np.int64), start, end - start)


def segments_to_labels(action: np.ndarray, length: np.ndarray) -> np.ndarray:
    """Frame labels (T,) int64 from per-segment actions (N,) and lengths (N,)."""
    return np.repeat(np.asarray(action, dtype=np.int64), np.asarray(length, dtype=np.int64))


def transcript(labels: np.ndarray) -> np.ndarray:
    """The ordered actions of a video's segments (N,) int64."""
    return labels_to_segments(labels).action


def num_instances(length: np.ndarray | int, k: int | None) -> np.ndarray:
    """``K_eff = min(K, l)`` per segment; ``k=None`` means one instance per frame (K = l)."""
    length = np.asarray(length, dtype=np.int64)
    if k is None:
        return length.copy()
    if k < 1:
        raise TascodecError(f"k must be >= 1 or None (per frame), got {k}")
    return np.minimum(length, k)


def num_instances_for_stride(length: np.ndarray | int, stride: int) -> np.ndarray:
    """``K = ceil(l / stride)`` per segment: instances of at most ``stride`` frames each (the
    ``pca`` codec's one code per ``stride`` frames, never across a segment boundary)."""
    length = np.asarray(length, dtype=np.int64)
    if isinstance(stride, bool) or int(stride) != stride or stride < 1:
        raise TascodecError(f"stride must be a positive integer, got {stride!r}")
    return np.maximum(1, -(-length // int(stride)))


def instance_bounds(length: int, k_eff: int) -> np.ndarray:
    """Start offsets of the ``k_eff`` instances of a segment plus its end: (k_eff + 1,) int64."""
    if not 1 <= k_eff <= max(length, 1):
        raise TascodecError(f"instance count {k_eff} not in [1, {length}]")
    return (np.arange(k_eff + 1, dtype=np.int64) * length) // k_eff


def instance_lengths(length: np.ndarray, k_eff: np.ndarray) -> np.ndarray:
    """Lengths of every instance of every segment, concatenated: (sum k_eff,) int64."""
    length = np.asarray(length, dtype=np.int64)
    k_eff = np.asarray(k_eff, dtype=np.int64)
    seg = np.repeat(np.arange(length.size), k_eff)
    first = np.concatenate(([0], np.cumsum(k_eff)[:-1]))
    k = np.arange(seg.size) - first[seg]
    lo = (k * length[seg]) // k_eff[seg]
    hi = ((k + 1) * length[seg]) // k_eff[seg]
    return hi - lo


def coherence(length: int) -> np.ndarray:
    """Coherence variable of one segment's frames: (l,) float32 in [0, 1]."""
    if length <= 1:
        return np.zeros(max(length, 0), dtype=np.float32)
    return (np.arange(length, dtype=np.float64) / (length - 1)).astype(np.float32)


def segment_coherence(length: np.ndarray) -> np.ndarray:
    """Coherence of every frame of consecutive segments, concatenated: (sum l,) float32."""
    length = np.asarray(length, dtype=np.int64)
    total = int(length.sum())
    seg = np.repeat(np.arange(length.size), length)
    start = np.concatenate(([0], np.cumsum(length)[:-1]))
    i = np.arange(total) - start[seg]
    denom = np.maximum(length[seg] - 1, 1)
    return (i / denom).astype(np.float32)


def lerp_weights(length: np.ndarray, k_eff: np.ndarray, across_segments: bool = False
                 ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Per frame of consecutive segments (T,): the instances ``left`` and ``right`` (int64,
    indices over all instances) whose centres bracket it, and the weight ``w`` (float32 in
    [0, 1]) of ``right`` (module docstring): a frame's code is ``z[left] + w * (z[right] -
    z[left])``. Inside its segment (``across_segments=False``, format 2.2's ``MLP_LERP``) or
    over the video's whole timeline (``True``, format 2.3's ``MLP_LERP_VIDEO``: the centres
    of consecutive instances bracket a frame whatever segments they belong to). Outside the
    first and last bracketing centres, and with one instance, ``left == right`` and
    ``w == 0``."""
    length = np.asarray(length, dtype=np.int64)
    k_eff = np.asarray(k_eff, dtype=np.int64)
    inst_len = instance_lengths(length, k_eff)
    n = inst_len.size
    inst_start = np.concatenate(([0], np.cumsum(inst_len)[:-1]))  # (N,) first frame, global
    inst = np.repeat(np.arange(n), inst_len)  # (T,) each frame's instance
    if across_segments:
        centre2 = 2 * inst_start + inst_len - 1  # (N,) M_k = s_k + e_k - 1, video frames
        frame2 = 2 * np.arange(inst.size)  # (T,) 2 t
        first = np.zeros_like(inst)
        last = np.full_like(inst, n - 1)
    else:
        seg = np.repeat(np.arange(length.size), k_eff)  # (N,) each instance's segment
        seg_start = np.concatenate(([0], np.cumsum(length)[:-1]))
        local = inst_start - seg_start[seg]  # (N,) s_k inside the segment
        centre2 = 2 * local + inst_len - 1  # (N,) M_k = s_k + e_k - 1
        frame2 = 2 * (np.arange(inst.size) - seg_start[seg[inst]])  # (T,) 2 i
        first = np.concatenate(([0], np.cumsum(k_eff)[:-1]))[seg[inst]]  # segment's first
        last = first + k_eff[seg[inst]] - 1
    after = frame2 >= centre2[inst]
    left = np.where(after, inst, np.maximum(inst - 1, first))
    right = np.where(after, np.minimum(inst + 1, last), inst)
    span = centre2[right] - centre2[left]
    w = np.where(span > 0, (frame2 - centre2[left]) / np.maximum(span, 1), 0.0)
    return left, right, w.astype(np.float32)
