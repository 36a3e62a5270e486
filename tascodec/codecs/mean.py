"""``mean`` codec: one code per segment, the segment's mean frame, repeated over the segment."""

from __future__ import annotations

import numpy as np

from . import register_codec
from .repeat import RepeatCodec

__all__ = ["MeanCodec"]


@register_codec
class MeanCodec(RepeatCodec):
    """Each segment becomes its mean frame (K = 1), repeated over the segment when decoded."""

    codec_id = "mean"

    def segment_code(self, frames: np.ndarray) -> np.ndarray:
        return frames.mean(axis=0, dtype=np.float64).astype(np.float32)
