"""Sources of frames, in one place: what codecs condense and what the TCA trains and inverts on.

* ``FrameSource``: the protocol (``training_videos``, ``features(video)`` (T, D) float32,
  ``labels(video)`` (T,) int64, ``class_names``, ``feature_dim``).
* ``EncodeSource``: a ``StandardDataset`` plus the videos to store and the run's settings: the
  input of ``Codec.encode``.
* ``ArraySource``: a ``FrameSource`` over in-memory arrays (tests, benchmarks, callers that
  hold their data in memory).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Protocol

import numpy as np

from ..errors import TascodecError
from .layout import MAX_FRAME_MAGNITUDE, check_frame_values

if TYPE_CHECKING:  # pragma: no cover
    from .layout import StandardDataset

__all__ = ["FrameSource", "EncodeSource", "ArraySource", "MAX_FRAME_MAGNITUDE",
           "check_frame_values"]

class FrameSource(Protocol):
    """What training and inversion read (``EncodeSource`` and ``ArraySource`` satisfy it)."""

    training_videos: list[str]

    def features(self, video: str) -> np.ndarray: ...  # (T, D) float32
    def num_frames(self, video: str) -> int: ...  # T, without reading the frames
    def labels(self, video: str) -> np.ndarray: ...  # (T,) int64
    @property
    def class_names(self) -> list[str]: ...
    @property
    def feature_dim(self) -> int: ...


class ArraySource:
    """A ``FrameSource`` over in-memory arrays: ``features[video]`` (T, D), ``labels[video]`` (T,).

    For tests, benchmarks and callers that hold their data in memory; ``training_videos``
    defaults to every video (in ``features`` order).
    """

    def __init__(self, features: dict[str, np.ndarray], labels: dict[str, np.ndarray],
                 class_names: list[str], training_videos: list[str] | None = None) -> None:
        if set(features) != set(labels):
            raise TascodecError("ArraySource: features and labels name different videos")
        dims = {np.shape(x)[1] if np.ndim(x) == 2 else -1 for x in features.values()}
        if len(dims) != 1 or -1 in dims:
            raise TascodecError(f"ArraySource: features must all be (T, D) with one D, got {dims}")
        self._x = {k: np.asarray(v, dtype=np.float32) for k, v in features.items()}
        for k, v in self._x.items():
            check_frame_values(v.T, f"ArraySource: video {k!r}")
        self._y = {k: np.asarray(v, dtype=np.int64) for k, v in labels.items()}
        self._classes = list(class_names)
        self.videos = list(features)
        self.training_videos = list(training_videos) if training_videos is not None else self.videos
        unknown = sorted(set(self.training_videos) - set(features))
        if unknown:
            raise TascodecError(f"ArraySource: unknown training videos {unknown}")

    def _get(self, store: dict[str, np.ndarray], video: str) -> np.ndarray:
        if video not in store:
            raise TascodecError(f"ArraySource: unknown video {video!r}")
        return store[video]

    def features(self, video: str) -> np.ndarray:
        return self._get(self._x, video)

    def num_frames(self, video: str) -> int:
        return int(self._get(self._x, video).shape[0])

    def labels(self, video: str) -> np.ndarray:
        return self._get(self._y, video)

    @property
    def class_names(self) -> list[str]:
        return list(self._classes)

    @property
    def feature_dim(self) -> int:
        return int(next(iter(self._x.values())).shape[1])


@dataclass
class EncodeSource:
    """The input of ``Codec.encode``.

    ``videos``: the videos stored in the archive (after sequence sampling), in archive order.
    ``training_videos``: the videos a learned codec trains its model on (a superset of
    ``videos``: the whole training split before sampling, or every video when archiving).
    ``splits``: split name -> video names, restricted to ``videos``, stored in the header.
    ``cache``: shared between codecs of one run (e.g. a trained TCA model keyed by its config),
    so a benchmark that encodes several codecs trains the model once.
    ``reserved_bytes``: bytes of the archive already spent before the codes and decoder (a
    budgeted encode fits them in the rest); ``channel_spread`` (D,): the per-channel spread the
    relative error is measured against (``None``: the decoder's normalisation scale); both are
    set by a codec that codes derived frames (``codecs.mean_inversion.ResidualSource``).
    """

    dataset: "StandardDataset"
    videos: list[str]
    training_videos: list[str]
    splits: dict[str, list[str]]
    device: str = "cpu"
    seed: int = 0
    progress: bool = True
    cache: dict[str, Any] = field(default_factory=dict)
    reserved_bytes: int = 0
    channel_spread: np.ndarray | None = None

    def features(self, video: str) -> np.ndarray:
        """Frames of ``video`` as (T, D) float32 (a transposed view of the (D, T) file)."""
        return self.dataset.features(video).T

    def num_frames(self, video: str) -> int:
        """T of ``video``, from its file's header."""
        return int(self.dataset.num_frames(video))

    def labels(self, video: str) -> np.ndarray:
        """Frame labels of ``video``: (T,) int64."""
        return self.dataset.labels(video)

    @property
    def class_names(self) -> list[str]:
        return list(self.dataset.class_names)

    @property
    def feature_dim(self) -> int:
        return int(self.dataset.feature_dim)
