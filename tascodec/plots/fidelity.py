"""What a fidelity plot shows, computed with NumPy only (no matplotlib): per video, the original
and decoded features, the ground truth and the per-frame and per-class error.

Shapes: D feature width, T frames, A classes, S segments.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np

from ..errors import TascodecError
from ..segments import Segments, labels_to_segments

__all__ = ["VideoFidelity", "video_fidelity", "frame_error", "class_error"]


def frame_error(original: np.ndarray, decoded: np.ndarray) -> np.ndarray:
    """Squared error per frame over the video's spread, (T,) float64, from two (D, T) arrays:
    ``||x_hat_t - x_t||^2 / mean_t ||x_t - mean(x)||^2``; 1.0 is an error as large as the
    video's own spread around its mean frame (0 spread: the plain squared error).

    This is the plot's error, per video (``VideoFidelity.mean_frame_error`` its mean): not
    the ``relative_mse`` ``encode`` and ``info`` report, which divides each channel's MSE by that channel's variance over the whole split
    (``sum_c MSE_c / var_c / D``). The two differ (a video spreads less than its split, and
    channels weigh by their variance here), so each is named for what it divides by."""
    x = np.asarray(original, np.float64)
    err = np.square(np.asarray(decoded, np.float64) - x).sum(0)
    spread = float(np.square(x - x.mean(1, keepdims=True)).sum(0).mean())
    return err / spread if spread > 0 else err


def class_error(errors: np.ndarray, labels: np.ndarray, num_classes: int) -> np.ndarray:
    """Mean of ``errors`` (T,) over the frames of each class: (A,) float64, NaN where a class
    has no frame."""
    labels = np.asarray(labels, np.int64)
    count = np.bincount(labels, minlength=num_classes).astype(np.float64)
    total = np.bincount(labels, weights=errors, minlength=num_classes)
    with np.errstate(invalid="ignore", divide="ignore"):
        return np.where(count > 0, total / np.maximum(count, 1), np.nan)


@dataclass(frozen=True)
class VideoFidelity:
    """One video, original beside decoded: ``original`` / ``decoded`` (D, T) float32,
    ``labels`` (T,) int64 ground truth, ``frame_error`` (T,) and ``class_error`` (A,) as
    :func:`frame_error` / :func:`class_error` define them."""

    video: str
    class_names: list[str]
    original: np.ndarray
    decoded: np.ndarray
    labels: np.ndarray
    frame_error: np.ndarray
    class_error: np.ndarray

    @property
    def segments(self) -> Segments:
        """The ground truth's segments (action, start, length), each (S,) int64."""
        return labels_to_segments(self.labels)

    @property
    def mean_frame_error(self) -> float:
        """The video's mean error over its spread (the mean of ``frame_error``; not
        ``encode``'s ``relative_mse``, which divides by each channel's variance)."""
        return float(self.frame_error.mean())


def video_fidelity(archive: Any, dataset: Any, video: str, *, device: Any = None
                   ) -> VideoFidelity:
    """Decode ``video`` of an open ``Archive`` and set it beside the ``StandardDataset``'s
    original. ``TascodecError`` naming both when they do not describe the same video (classes,
    D, T or labels differ)."""
    where = f"{archive.path} vs {dataset.root}"
    if list(dataset.class_names) != list(archive.class_names):
        raise TascodecError(f"{where}: the class lists differ ({dataset.class_names[:5]} vs "
                            f"{archive.class_names[:5]}); plot an archive beside its dataset")
    if video not in dataset:
        raise TascodecError(f"{where}: video {video!r} is stored but not in the dataset")
    original = np.asarray(dataset.features(video), np.float32)
    labels = dataset.labels(video)
    if original.shape != (archive.feature_dim, archive.num_frames(video)):
        raise TascodecError(f"{where}: video {video!r} is (D, T) = {original.shape} in the "
                            f"dataset, ({archive.feature_dim}, {archive.num_frames(video)}) "
                            f"in the archive")
    if not np.array_equal(labels, archive.labels(video)):
        raise TascodecError(f"{where}: video {video!r} has other labels in the archive")
    decoded = archive.features(video, device=device)
    errors = frame_error(original, decoded)
    return VideoFidelity(video, list(archive.class_names), original, decoded, labels, errors,
                         class_error(errors, labels, len(archive.class_names)))
