"""One stored video as a training item: the one place an archive's video becomes (features,
labels) for a model, whoever trains (``TaszDataset``, the fidelity harness, the benchmarks).

Shapes: T frames (T' kept after ``frames``), D feature width, A archive classes.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from ..dataset.orientation import in_layout
from ..decode import decode_video_tensor

__all__ = ["decoded_item"]


def decoded_item(archive: Any, video: str, *, device: Any = None, layout: str = "DT",
                 frames: slice = slice(None), class_map: np.ndarray | None = None
                 ) -> tuple[Any, Any]:
    """``(features, labels)`` of stored ``video``: features float32 in ``layout`` ((D, T') by
    default), labels int64 (T',), the frames ``frames`` keeps (``orientation.frame_slice``).

    ``device=None``: decoded with NumPy (``archive.decode``), NumPy arrays. Any other device: torch tensors there,
    decoded by ``decode.decode_video_tensor`` (``"cpu"``: NumPy's decode wrapped;
    ``"cpu-torch"``, ``"cuda"``, a ``torch.device``: the torch decoder). ``class_map`` (A,)
    int64: archive class id -> the caller's class id (labels of several archives in one class
    list); ``None`` keeps the archive's ids.
    """
    labels = np.asarray(archive.labels(video), dtype=np.int64)[frames]
    if class_map is not None:
        labels = class_map[labels]
    labels = np.ascontiguousarray(labels, dtype=np.int64)
    if device is None:
        x = np.asarray(archive.decode(video), dtype=np.float32)[frames]
        return in_layout(x, layout), labels
    import torch  # lazy: only the torch devices need it

    x = in_layout(decode_video_tensor(archive, video, device=device)[frames], layout)
    return x, torch.from_numpy(labels).to(x.device)
