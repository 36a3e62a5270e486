"""``coreset`` codec: herding, one real frame per segment (the one nearest the segment mean)."""

from __future__ import annotations

import numpy as np

from . import register_codec
from .repeat import RepeatCodec

__all__ = ["CoresetCodec"]


@register_codec
class CoresetCodec(RepeatCodec):
    """Each segment becomes its frame nearest (L2) to the segment mean, repeated (K = 1).

    With one frame per segment, herding's first (and only) pick is that frame; ties go to the
    earliest frame.
    """

    codec_id = "coreset"

    def segment_code(self, frames: np.ndarray) -> np.ndarray:
        """frames (l, D) -> the chosen frame (D,), an exact copy of a stored feature row."""
        mean = frames.mean(axis=0, dtype=np.float64)
        dist = np.square(frames - mean).sum(axis=1)
        return frames[int(np.argmin(dist))]
