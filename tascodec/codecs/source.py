"""What a codec condenses: a dataset, the videos to store, and the run's settings."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import numpy as np

if TYPE_CHECKING:  # pragma: no cover
    from ..layout import StandardDataset

__all__ = ["EncodeSource"]


@dataclass
class EncodeSource:
    """The input of ``Codec.encode``.

    ``videos``: the videos stored in the archive (after sequence sampling), in archive order.
    ``training_videos``: the videos a learned codec trains its model on (a superset of
    ``videos``: the whole training split before sampling, or every video when archiving).
    ``splits``: split name -> video names, restricted to ``videos``, stored in the header.
    ``cache``: shared between codecs of one run (e.g. a trained TCA model keyed by its config),
    so a benchmark that encodes several codecs trains the model once.
    """

    dataset: "StandardDataset"
    videos: list[str]
    training_videos: list[str]
    splits: dict[str, list[str]]
    device: str = "cpu"
    seed: int = 0
    progress: bool = True
    cache: dict[str, Any] = field(default_factory=dict)
    stats: dict[str, Any] = field(default_factory=dict)

    def features(self, video: str) -> np.ndarray:
        """Frames of ``video`` as (T, D) float32 (a transposed view of the (D, T) file)."""
        return self.dataset.features(video).T

    def labels(self, video: str) -> np.ndarray:
        """Frame labels of ``video``: (T,) int64."""
        return self.dataset.labels(video)

    @property
    def class_names(self) -> list[str]:
        return list(self.dataset.class_names)

    @property
    def feature_dim(self) -> int:
        return int(self.dataset.feature_dim)
