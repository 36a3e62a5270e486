"""``raw`` codec: the original features, every frame a one-frame instance (``repeat``).

Original and condensed data then go through the same reader. ``dtype="float16"`` halves the
size: the content still carries float32 codes, and ``tascodec.encode`` passes the dtype to the
writer (``code_dtype``), which stores them as float16. The reported MSE is that of the stored
dtype (0 for float32).
"""

from __future__ import annotations

import time
from typing import TYPE_CHECKING

import numpy as np

from ..content import REPEAT, ArchiveContent
from ..errors import TascodecError
from . import register_codec
from .base import Codec, alloc_codes, build_table, check_frames, make_content, progress_bar

if TYPE_CHECKING:  # pragma: no cover
    from ..dataset.source import EncodeSource

__all__ = ["RawCodec", "RAW_DTYPES"]

RAW_DTYPES = ("float32", "float16")
_FLOAT16_MAX = float(np.finfo(np.float16).max)


@register_codec
class RawCodec(Codec):
    """Store every frame: codes (sum T, D) with one instance per frame (K = l)."""

    codec_id = "raw"
    decode_kind = REPEAT
    encode_options = {"k": (None,), "code_dtype": RAW_DTYPES}  # one code per frame

    def __init__(self, dtype: str = "float32") -> None:
        if dtype not in RAW_DTYPES:
            raise TascodecError(f"raw codec: dtype must be one of {RAW_DTYPES}, got {dtype!r}")
        super().__init__(dtype=dtype)

    @property
    def code_dtype(self) -> str:
        """The dtype the writer stores the codes in."""
        return str(self.params["dtype"])

    def encode(self, source: "EncodeSource") -> ArchiveContent:
        """Codes are the frames themselves, copied one video at a time."""
        start = time.perf_counter()
        table = build_table(source, None)
        dim = source.feature_dim
        codes = alloc_codes(table.num_codes, dim)
        first = table.video_first_code
        sq_err = 0.0
        for v, video in enumerate(progress_bar(source, self.codec_id)):
            x = np.asarray(source.features(video), dtype=np.float32)
            check_frames(x, video, int(table.video_num_frames[v]), dim)
            codes[first[v] : first[v + 1]] = x
            if self.code_dtype == "float16":
                if np.abs(x).max(initial=0.0) > _FLOAT16_MAX:
                    raise TascodecError(
                        f"raw codec: video {video!r} has features beyond the float16 range "
                        f"(|x| > {_FLOAT16_MAX}); use dtype='float32'"
                    )
                err = x - x.astype(np.float16).astype(np.float32)
                sq_err += float(np.square(err, dtype=np.float64).sum())
        stats = {
            "reconstruction_mse": sq_err / max(table.num_codes * dim, 1),
            "encode_seconds": time.perf_counter() - start,
        }
        return make_content(self, source, table, codes, code_dim=dim, stats=stats)
