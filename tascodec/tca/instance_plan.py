"""The per-instance and per-frame layout that the TCA encoder and inversion work through.

Shapes: N instances (codes), F frames (all videos of a table, concatenated), D feature width.
"""

from __future__ import annotations

import copy
from dataclasses import dataclass
from typing import Any

import numpy as np
import torch

from ..content import SegmentTable
from ..runtime.devices import same_device
from ..errors import TascodecError
from ..segments import instance_lengths, segment_coherence, segments_to_labels
from ..dataset.source import FrameSource
from .model import TCA, TCADecoder

__all__ = ["InversionPlan", "SAMPLED_CHUNK_SPREAD", "chunks", "on_device", "require_encoder",
           "subsample"]


@dataclass
class InversionPlan:
    """Per-instance and per-frame layout of a table's videos, in table order.

    ``inst_length``/``inst_action`` (N,), ``frame_inst`` (F,) int64, ``frame_c`` (F,) float32,
    ``video_first_frame`` (V + 1,): F = total frames.
    """

    videos: list[str]
    inst_length: np.ndarray
    inst_action: np.ndarray
    frame_inst: np.ndarray
    frame_c: np.ndarray
    video_first_frame: np.ndarray

    @classmethod
    def build(cls, source: FrameSource, table: SegmentTable) -> InversionPlan:
        """Check ``table`` against ``source`` (frame counts and labels) and lay it out."""
        try:
            table.check()
        except TascodecError as exc:
            raise TascodecError(f"inversion: bad segment table: {exc}") from None
        first_seg = table.video_first_segment
        for i, video in enumerate(table.video_names):
            y = np.asarray(source.labels(video))
            seg = slice(int(first_seg[i]), int(first_seg[i + 1]))
            expect = segments_to_labels(table.seg_action[seg], table.seg_length[seg])
            if y.shape != expect.shape or not np.array_equal(y, expect):
                raise TascodecError(f"inversion: segment table does not match the labels of "
                                    f"video {video!r} ({y.shape[0]} frames, table says "
                                    f"{expect.shape[0]})")
        inst_length = instance_lengths(table.seg_length, table.seg_num_instances)
        n = inst_length.size
        return cls(
            videos=list(table.video_names), inst_length=inst_length,
            inst_action=np.repeat(table.seg_action.astype(np.int64), table.seg_num_instances),
            frame_inst=np.repeat(np.arange(n, dtype=np.int64), inst_length),
            frame_c=segment_coherence(table.seg_length),
            video_first_frame=np.concatenate(([0], np.cumsum(table.video_num_frames))),
        )

    def frames(self, source: FrameSource, f0: int, f1: int) -> np.ndarray:
        """Real frames ``[f0, f1)`` of the concatenated videos: (f1 - f0, D) float32."""
        out = []
        v = int(np.searchsorted(self.video_first_frame, f0, side="right")) - 1
        while f0 < f1:
            base, end = int(self.video_first_frame[v]), int(self.video_first_frame[v + 1])
            hi = min(f1, end)
            x = source.features(self.videos[v])
            out.append(np.asarray(x[f0 - base:hi - base], dtype=np.float32))
            f0, v = hi, v + 1
        return np.concatenate(out) if out else np.zeros((0, int(source.feature_dim)), np.float32)


def on_device(module: Any, dev: torch.device) -> Any:
    """``module`` on ``dev``: itself if already there, else a copy (the caller's stays put)."""
    if same_device(next(module.parameters()).device, dev):  # "cuda" is "cuda:0" there
        return module
    return copy.deepcopy(module).to(dev)


def require_encoder(model: TCA | TCADecoder) -> TCA:
    if not isinstance(model, TCA):
        raise TascodecError("inversion: init='encoded' needs a full TCA model (with encoder), "
                            f"got {type(model).__name__}")
    return model


def subsample(lengths: np.ndarray, first: np.ndarray, m: int | None) -> np.ndarray:
    """Chunk-local frame indices, at most ``m`` evenly spaced per instance (all when None)."""
    if m is None or int(lengths.max(initial=0)) <= m:
        return np.arange(int(lengths.sum()))
    take = np.minimum(lengths, m)
    inst = np.repeat(np.arange(lengths.size), take)
    j = np.arange(inst.size) - np.repeat(np.cumsum(take) - take, take)
    return first[inst] + ((2 * j + 1) * lengths[inst]) // (2 * take[inst])


#: ``chunk_by="sampled"``: a chunk's frames in all at most this many times ``chunk_frames``
#: (its targets and final-error temporaries are (frames, H) for every frame, sampled or not)
SAMPLED_CHUNK_SPREAD = 8


def chunks(lengths: np.ndarray, limit: int, per_instance: int | None = None,
            cap: int | None = None) -> list[tuple[int, int]]:
    """Consecutive instance ranges holding at most ``limit`` frames per iteration (at most
    ``per_instance`` of each instance, all when None) and at most ``cap`` frames in all
    (default: no cap); one long instance alone may exceed both."""
    out, start, size, whole = [], 0, 0, 0
    for i, n in enumerate(lengths.tolist()):
        m = n if per_instance is None else min(n, per_instance)
        if size and (size + m > limit or (cap is not None and whole + n > cap)):
            out.append((start, i))
            start, size, whole = i, 0, 0
        size, whole = size + m, whole + n
    if size:
        out.append((start, lengths.size))
    return out
