"""``RepeatCodec``: base of the one-code-per-segment ``repeat`` codecs (``mean``, ``coreset``).

Codes are computed, and the per-frame reconstruction MSE measured, one video at a time, so peak
memory is one video's frames (T, D) plus the codes (S, D).
"""

from __future__ import annotations

import time
from typing import TYPE_CHECKING, Any

import numpy as np

from ..content import REPEAT, ArchiveContent
from ..errors import TascodecError
from ..format.v1 import CODE_DTYPES
from .base import Codec, alloc_codes, build_table, check_frames, make_content, progress_bar

if TYPE_CHECKING:  # pragma: no cover
    from ..dataset.source import EncodeSource

__all__ = ["RepeatCodec"]


class RepeatCodec(Codec):
    """Base of the one-code-per-segment ``repeat`` codecs: subclasses pick the code per segment.

    ``segment_code(frames)`` maps one segment's frames (l, D) float32 to its code (D,).
    """

    decode_kind = REPEAT
    encode_options = {"k": (1,), "code_dtype": CODE_DTYPES}  # one code per segment

    def __init__(self, **params: Any) -> None:
        if params:
            raise TascodecError(
                f"codec {self.codec_id!r} takes no parameters, got {sorted(params)}"
            )
        super().__init__()

    def segment_code(self, frames: np.ndarray) -> np.ndarray:  # pragma: no cover - abstract
        raise NotImplementedError

    def encode(self, source: "EncodeSource") -> ArchiveContent:
        """Codes (S, D): one per segment; stats carry the per-frame MSE and the encode time."""
        start = time.perf_counter()
        table = build_table(source, 1)
        dim = source.feature_dim
        codes = alloc_codes(table.num_codes, dim)
        sq_err, frames_seen = 0.0, 0
        bounds = table.video_first_segment
        for v, video in enumerate(progress_bar(source, self.codec_id)):
            x = np.asarray(source.features(video), dtype=np.float32)
            check_frames(x, video, int(table.video_num_frames[v]), dim)
            lengths = table.seg_length[bounds[v] : bounds[v + 1]]
            offsets = np.concatenate(([0], np.cumsum(lengths)))
            for s, (lo, hi) in enumerate(zip(offsets[:-1], offsets[1:])):
                seg = x[lo:hi]
                code = self.segment_code(seg)
                codes[bounds[v] + s] = code
                sq_err += float(np.square(seg - code, dtype=np.float64).sum())
            frames_seen += x.shape[0]
        stats = {
            "reconstruction_mse": sq_err / max(frames_seen * dim, 1),
            "encode_seconds": time.perf_counter() - start,
        }
        return make_content(self, source, table, codes, code_dim=dim, stats=stats)
