"""Pictures of an archive's fidelity (``tascodec plot``): per video, the ground truth, the
original and decoded features, the per-frame and per-class error and the archive's bytes.

``fidelity.py`` computes what is drawn (NumPy only); ``figure.py`` draws one video's figure
(matplotlib, the ``plot`` extra, imported lazily); ``plot_archive`` writes the file(s).
"""

from __future__ import annotations

from .fidelity import VideoFidelity, class_error, frame_error, video_fidelity
from .write import plot_archive, storage_summary

__all__ = ["VideoFidelity", "video_fidelity", "frame_error", "class_error", "plot_archive",
           "storage_summary"]
