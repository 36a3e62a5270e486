"""``mean`` codec: one code per segment, the segment's mean frame, repeated over the segment.

Also holds the helpers every ``repeat`` codec shares (``raw``, ``coreset``): building the
content and measuring the per-frame reconstruction MSE while the codes are computed, one video
at a time, so peak memory is one video's frames (T, D) plus the codes (N, D).
"""

from __future__ import annotations

import tempfile
import time
from typing import TYPE_CHECKING, Any

import numpy as np

from ..content import ArchiveContent, SegmentTable
from ..errors import TascodecError
from . import register_codec
from .base import Codec

if TYPE_CHECKING:  # pragma: no cover
    from .source import EncodeSource

__all__ = ["MeanCodec", "build_table", "alloc_codes", "make_content", "RepeatCodec"]

# Code arrays larger than this live in an unlinked temporary file (memory-mapped), so a raw
# archive of a large dataset never needs its frames in RAM at once.
_MEMMAP_BYTES = 512 * 2**20


def build_table(source: "EncodeSource", k: int | None) -> SegmentTable:
    """The segment table of ``source.videos`` with ``K = k`` instances per segment."""
    table = SegmentTable.from_labels(
        source.videos, [np.asarray(source.labels(v)) for v in source.videos], k
    )
    table.check()
    return table


def alloc_codes(num_codes: int, dim: int) -> np.ndarray:
    """A writable (N, dim) float32 array; memory-mapped onto a temporary file when large."""
    if num_codes * dim * 4 <= _MEMMAP_BYTES:
        return np.empty((num_codes, dim), dtype=np.float32)
    with tempfile.TemporaryFile(prefix="tascodec-codes-") as handle:
        # The mapping outlives the (unlinked) file: it is freed with the array.
        return np.memmap(handle, dtype=np.float32, mode="w+", shape=(num_codes, dim))


def make_content(
    codec: Codec,
    source: "EncodeSource",
    table: SegmentTable,
    codes: np.ndarray | None,
    *,
    code_dim: int,
    decoder: Any = None,
    config: dict[str, Any] | None = None,
    stats: dict[str, Any] | None = None,
) -> ArchiveContent:
    """Assemble an ``ArchiveContent`` for ``source`` (class names, splits, table, codes)."""
    return ArchiveContent(
        codec=codec.codec_id,
        codec_config=dict(config if config is not None else codec.get_config()),
        decode_kind=codec.decode_kind,
        class_names=source.class_names,
        splits={name: list(v) for name, v in source.splits.items()},
        table=table,
        codes=codes,
        code_dim=int(code_dim),
        feature_dim=source.feature_dim,
        decoder=decoder,
        stats=dict(stats or {}),
    )


def _progress(source: "EncodeSource", desc: str):
    from tqdm.auto import tqdm

    return tqdm(source.videos, desc=desc, unit="video", disable=not source.progress, leave=False)


class RepeatCodec(Codec):
    """Base of the one-code-per-segment ``repeat`` codecs: subclasses pick the code per segment.

    ``segment_code(frames)`` maps one segment's frames (l, D) float32 to its code (D,).
    """

    decode_kind = "repeat"

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
        for v, video in enumerate(_progress(source, self.codec_id)):
            x = np.asarray(source.features(video), dtype=np.float32)
            _check_frames(x, video, int(table.video_num_frames[v]), dim)
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


def _check_frames(x: np.ndarray, video: str, num_frames: int, dim: int) -> None:
    if x.shape != (num_frames, dim):
        raise TascodecError(
            f"video {video!r}: features have shape {x.shape} (T, D), labels need "
            f"({num_frames}, {dim})"
        )


@register_codec
class MeanCodec(RepeatCodec):
    """Each segment becomes its mean frame (K = 1), repeated over the segment when decoded."""

    codec_id = "mean"

    def segment_code(self, frames: np.ndarray) -> np.ndarray:
        return frames.mean(axis=0, dtype=np.float64).astype(np.float32)

