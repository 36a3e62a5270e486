"""The one orientation rule of the API, and frame subsampling as standard-layout code does it.

**The rule.** The standard dataset layout stores a video's features as (D, T): channel-major,
D feature width, T frames (``np.load(features/<v>.npy)``). Everything that stands in for that
layout gives (D, T) by default: ``Archive.features``, ``TaszDataset`` items, ``tascodec decode``
output files and ``tascodec export``. ``Archive.decode`` (and ``decode.decode_video``) is the
low-level, frame-major call and gives (T, D), one row per frame. ``layout="TD"`` asks any of
the former for (T, D).

**Subsampling.** MS-TCN / ASFormer / DiffAct read ``np.load(path)[:, offset::sample_rate]``
and the labels ``labels[offset::sample_rate]``; ``subsample`` does exactly that (NumPy only).
"""

from __future__ import annotations

from typing import Any

import numpy as np

from ..errors import TascodecError

__all__ = ["LAYOUTS", "check_frame_args", "frame_slice", "in_layout", "subsample"]

#: ``"DT"``: (D, T) as the standard layout stores it (the default); ``"TD"``: (T, D)
LAYOUTS = ("DT", "TD")


def _is_int(value: object) -> bool:
    return isinstance(value, (int, np.integer)) and not isinstance(value, (bool, np.bool_))


def check_frame_args(layout: str = "DT", sample_rate: int = 1, offset: int = 0, *,
                     where: object = "features") -> None:
    """``TascodecError`` naming the argument (and ``where``) unless ``layout`` is one of
    ``LAYOUTS``, ``sample_rate`` an integer >= 1 and ``offset`` an integer >= 0."""
    if not isinstance(layout, str) or layout not in LAYOUTS:
        raise TascodecError(f"{where}: layout must be 'DT' (D, T) or 'TD' (T, D), got {layout!r}")
    if not _is_int(sample_rate) or sample_rate < 1:
        raise TascodecError(f"{where}: sample_rate must be an integer >= 1, got {sample_rate!r}")
    if not _is_int(offset) or offset < 0:
        raise TascodecError(f"{where}: offset must be an integer >= 0, got {offset!r}")


def frame_slice(sample_rate: int = 1, offset: int = 0) -> slice:
    """The frames kept: ``offset::sample_rate`` (T' = ``len(range(offset, T, sample_rate))``,
    0 when ``offset >= T``, as NumPy slicing gives)."""
    return slice(int(offset), None, int(sample_rate))


def in_layout(frames_td: Any, layout: str = "DT") -> Any:
    """(T, D) frames, a NumPy array or a torch tensor, in ``layout``, contiguous: (D, T) for
    ``"DT"``, (T, D) for ``"TD"`` (a tensor's transpose copy is torch's, several times faster
    than NumPy's for large float32 arrays)."""
    if isinstance(frames_td, np.ndarray):
        return np.ascontiguousarray(frames_td.T if layout == "DT" else frames_td)
    return (frames_td.T if layout == "DT" else frames_td).contiguous()


def subsample(frames_td: np.ndarray, layout: str = "DT", sample_rate: int = 1,
              offset: int = 0) -> np.ndarray:
    """(T, D) frames -> the kept frames in ``layout``, C-contiguous: (D, T') for ``"DT"`` (what
    ``np.load(path)[:, offset::sample_rate]`` holds for a file of ``frames_td.T``), (T', D)
    for ``"TD"``. Arguments checked first (``check_frame_args``)."""
    check_frame_args(layout, sample_rate, offset)
    return in_layout(np.asarray(frames_td)[frame_slice(sample_rate, offset)], layout)
