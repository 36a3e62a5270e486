"""``mean+inversion`` codec: each segment's mean frame, stored, plus inversion of what is left.

Shapes: S segments, T frames of a video, D feature width.

A segment's mean frame carries most of a video's energy, and a small TCA decoder (the few
thousand parameters a tight budget buys) cannot reproduce it: its outputs span only H
directions, and real segment means lie outside them. This codec stores every segment's mean
(``offset_dtype``, int8 per channel by default: 1 byte per value) and spends the rest of the
budget on the ``inversion`` codec run on the residual frames (each frame less its segment's
stored mean): the decoder models the variation inside segments, which is what it can do.
Decoding is decode kind ``content.MLP_OFFSET`` (format 2.1): the ``mlp`` frames plus the
segment's offset. Parameters: those of ``inversion`` plus ``offset_dtype``.
"""

from __future__ import annotations

import functools
from dataclasses import dataclass, field, fields, replace
from typing import Any

import numpy as np

from ..content import MLP_OFFSET, ArchiveContent, SegmentTable
from ..errors import TascodecError
from ..format.v1 import CODE_DTYPES
from ..format.v1_write import quantise
from ..runtime.parallel import current
from ..rate import CODE_VALUE_BYTES
from ..segments import labels_to_segments
from ..dataset.source import EncodeSource
from . import register_codec
from .base import build_table, progress_bar
from .inversion import InversionCodec

__all__ = ["MeanInversionCodec", "ResidualSource", "less_offsets", "segment_means",
           "stored_offsets"]


def segment_means(frames: np.ndarray, lengths: np.ndarray) -> np.ndarray:
    """Mean frame of each segment: frames (T, D), lengths (S,) -> (S, D) float32 (float64
    sums, as the ``mean`` codec)."""
    starts = np.concatenate(([0], np.cumsum(lengths)[:-1])).astype(np.int64)
    sums = np.add.reduceat(np.asarray(frames, np.float64), starts, axis=0) if len(lengths) \
        else np.zeros((0, frames.shape[1]))
    return (sums / np.asarray(lengths, np.float64)[:, None]).astype(np.float32)


def stored_offsets(means: np.ndarray, dtype: str) -> tuple[np.ndarray, np.ndarray | None]:
    """Segment means (S, D) as an archive stores them: ``(offsets dequantised (S, D) float32,
    the int8 scale (D,) or None)``; the writer, given that scale, stores the same integers."""
    stored, scale = quantise(means, dtype, "segment offsets")
    return stored.astype(np.float32) * (scale if scale is not None else np.float32(1)), scale


def less_offsets(frames: np.ndarray, labels: np.ndarray, offsets: np.ndarray | None
                 ) -> np.ndarray:
    """``frames`` (T, D) less each segment's row of ``offsets`` (S, D), the segments those of
    ``labels`` (T,); ``None``: the segments' own exact means."""
    lengths = labels_to_segments(np.asarray(labels)).length
    if offsets is None:
        offsets = segment_means(frames, lengths)
    return frames - np.repeat(offsets, lengths, axis=0)


@dataclass
class ResidualSource(EncodeSource):
    """An ``EncodeSource`` whose frames are the original ones less their segment's offset.

    ``offsets``: video -> (S_v, D) float32, the offsets the archive stores (stored videos); a
    training-only video uses its exact segment means.
    """

    offsets: dict[str, np.ndarray] = field(default_factory=dict)
    frames_tag: str = "segment residuals"  # part of the trained-model cache key

    def features(self, video: str) -> np.ndarray:
        return less_offsets(super().features(video), self.labels(video),
                            self.offsets.get(video))


@register_codec
class MeanInversionCodec(InversionCodec):
    """Segment means stored (``offset_dtype``) plus inversion codes of the residual frames."""

    codec_id = "mean+inversion"
    decode_kind = MLP_OFFSET
    own_params = (*InversionCodec.own_params, "offset_dtype")

    def __init__(self, k: int | str | None = 8, *, offset_dtype: str = "int8",
                 **params: Any) -> None:
        if offset_dtype not in CODE_DTYPES:
            raise TascodecError(f"codec {self.codec_id!r}: offset_dtype must be one of "
                                f"{CODE_DTYPES}, got {offset_dtype!r}")
        super().__init__(k, offset_dtype=offset_dtype, **params)

    def encode(self, source: EncodeSource) -> ArchiveContent:
        """Offsets (S, D) from one pass over the stored videos, then the ``inversion`` of the
        residual frames under what the budget leaves."""
        dtype = self.params["offset_dtype"]
        table = build_table(source, 1)
        first = table.video_first_segment
        means, moments = _means_and_moments(source, table)
        offsets, scale = stored_offsets(means, dtype)
        moments = functools.reduce(np.add, moments, np.zeros((2, source.feature_dim)))
        count = max(int(table.seg_length.sum()), 1)
        spread = np.sqrt(np.maximum(moments[1] / count - (moments[0] / count) ** 2, 0.0))
        spent = offsets_bytes(table, source.feature_dim, dtype)
        residual = ResidualSource(
            **{f.name: getattr(source, f.name) for f in fields(EncodeSource)
               if f.name not in ("reserved_bytes", "channel_spread")},
            reserved_bytes=int(source.reserved_bytes) + spent, channel_spread=spread,
            offsets={video: offsets[int(first[v]):int(first[v + 1])]
                     for v, video in enumerate(source.videos)})
        content = super().encode(residual)
        stats = {**content.stats, "offsets": {"dtype": dtype, "bytes": spent}}
        return replace(content, segment_offsets=offsets, offset_dtype=dtype,
                       offset_scale=scale, stats=stats)


def _means_and_moments(source: EncodeSource, table: SegmentTable
                       ) -> tuple[np.ndarray, np.ndarray]:
    """Every segment's mean frame (S, D) float32 and every video's per-channel sums of x and
    x^2 (V, 2, D) float64. On several ranks each reads its share of the videos and fills its
    rows; the shares are summed (x + 0 = x), so every rank holds what one process computes."""
    world = current()
    start, stop = world.shard(table.video_num_frames)
    first = table.video_first_segment
    means = np.zeros((table.seg_length.size, source.feature_dim), np.float32)
    moments = np.zeros((len(source.videos), 2, source.feature_dim))

    def share() -> None:
        for v in progress_bar(source, "segment means", range(start, stop)):
            x = np.asarray(source.features(source.videos[v]), np.float32)
            rows = slice(int(first[v]), int(first[v + 1]))
            means[rows] = segment_means(x, table.seg_length[rows])
            moments[v] = (x.sum(0, dtype=np.float64), np.square(x, dtype=np.float64).sum(0))

    world.run("the segment means", share)
    world.all_reduce_sum_(means, "the segment means")
    world.all_reduce_sum_(moments, "the segment means")
    return means, moments


#: what a 2.1 archive holds besides an ``inversion`` archive's fixed part (``rate.FIXED_BYTES``):
#: the offset arrays' entries, metadata and manifest lines and the grouped header (2.7 KB
#: measured on a GTEA task)
OFFSET_FIXED_BYTES = 3 * 1024


def offsets_bytes(table: SegmentTable, feature_dim: int, dtype: str) -> int:
    """Bytes the offsets add to an archive: S x D values, for int8 the (D,) float32 scale, and
    ``OFFSET_FIXED_BYTES``."""
    return (int(table.seg_length.size) * int(feature_dim) * CODE_VALUE_BYTES[dtype]
            + (4 * int(feature_dim) if dtype == "int8" else 0) + OFFSET_FIXED_BYTES)
