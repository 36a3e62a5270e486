"""Decoding codes into frames: one entry, ``decode_video(archive, video, device=None)``.

* ``view``: one stored video as decoders read it (``VideoView``: decode kind, rows, widths,
  readers of codes, decoder and offsets), resolved once per decode (``video_view``); NumPy
  only.
* ``plan``: what every decoder shares (table checks, instances, coherence, the decodability
  check, a video's budget); NumPy only.
* ``numpy``: the structured fast path (``decode_segments``) and the plain reference
  (``decode_reference``); NumPy only.
* ``torch``: the same on a torch device (``decode_segments_torch``, ``decode_video_torch``).

``device`` ``None`` / ``"cpu"`` / ``"numpy"`` decodes with NumPy (torch is never imported);
anything else (``"cuda"``, ``"cuda:0"``, ``"cpu-torch"``, a ``torch.device``) with torch there.
The ``tca-mlp`` architecture itself (shapes, validation, folding) is ``tascodec.tca_mlp``.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from ..tca_mlp import PreparedDecoder, prepare_decoder
from .numpy import decode_reference, decode_segments
from .budget import group_slices
from .plan import NUMPY_DEVICES, video_plan
from .view import video_rows, video_view

__all__ = [
    "decode_video",
    "decode_video_tensor",
    "decode_segments",
    "decode_reference",
    "prepare_decoder",
    "PreparedDecoder",
    "video_rows",
    "NUMPY_DEVICES",
]


def decode_video(archive: Any, video: str | int, *, device: Any = None,
                 limit: Any = None) -> np.ndarray:
    """Decode one stored video of an open archive: (T, D) float32 in host memory.

    ``archive``: a ``format.Archive`` or any archive-like object (``view``'s docstring).
    Every reader goes through here (or ``decode_video_tensor``), so every reader runs the same
    checks (``plan.check_decodable``: known decode kind, known decoder architecture) and the
    same decode budget (``budget``: ``DecodeBudgetError`` before anything is read or allocated
    over ``limit``; segment groups when only the temporaries would not fit).
    """
    if device not in NUMPY_DEVICES:
        return decode_video_tensor(archive, video, device=device, limit=limit).cpu().numpy()
    view = video_view(archive, video)
    plan = video_plan(view, limit)
    codes, dec, offsets = view.read()
    kind, action, length, k_eff = view.kind, view.action, view.length, view.k_eff
    if len(plan.groups) == 1:
        return decode_segments(kind, codes, action, length, k_eff, dec, offsets)
    out = None
    for seg, frames, rows, keep in group_slices(plan, length, k_eff,
                                                context=view.spec.across_segments):
        part = decode_segments(kind, codes[rows], action[seg], length[seg], k_eff[seg], dec,
                               None if offsets is None else offsets[seg])
        if out is None:
            out = np.empty((int(length.sum()), part.shape[1]), dtype=np.float32)
        out[frames] = part[keep]
    return out


def decode_video_tensor(archive: Any, video: str | int, *, device: Any = None,
                        limit: Any = None) -> Any:
    """Decode one stored video: a (T, D) float32 ``torch.Tensor`` on ``device``.

    NumPy devices decode with NumPy and wrap the result (CPU tensor, shared memory). The
    checks and the decode budget apply as in ``decode_video``.
    """
    if device in NUMPY_DEVICES:
        import torch

        return torch.from_numpy(decode_video(archive, video, device=device, limit=limit))
    from .torch import decode_video_torch

    view = video_view(archive, video)
    return decode_video_torch(view, device=device, plan=video_plan(view, limit, device))
