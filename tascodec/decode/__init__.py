"""Decoding codes into frames: one entry, ``decode_video(archive, video, device=None)``.

* ``plan``: what every decoder shares (table checks, instances, coherence, the archive's rows
  and folded decoder, the decodability check); NumPy only.
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
from .plan import NUMPY_DEVICES, archive_decoder, check_decodable, video_rows

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


def decode_video(archive: Any, video: str | int, *, device: Any = None) -> np.ndarray:
    """Decode one stored video of an open archive: (T, D) float32 in host memory.

    Every reader goes through here (or ``decode_video_tensor``), so every reader runs the same
    checks (``plan.check_decodable``: known decode kind, known decoder architecture).
    """
    if device in NUMPY_DEVICES:
        check_decodable(archive)
        action, length, k_eff = video_rows(archive, video)
        return decode_segments(archive.decode_kind, archive.codes(video), action, length, k_eff,
                               archive_decoder(archive))
    return decode_video_tensor(archive, video, device=device).cpu().numpy()


def decode_video_tensor(archive: Any, video: str | int, *, device: Any = None) -> Any:
    """Decode one stored video: a (T, D) float32 ``torch.Tensor`` on ``device``.

    NumPy devices decode with NumPy and wrap the result (CPU tensor, shared memory).
    """
    if device in NUMPY_DEVICES:
        import torch

        return torch.from_numpy(decode_video(archive, video, device=device))
    from .torch import decode_video_torch

    check_decodable(archive)
    return decode_video_torch(archive, video, device=device)
