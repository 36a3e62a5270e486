"""``EncodeSummary``: what ``tascodec.encode`` did, as a value and as the table the CLI prints."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from .units import format_bytes

__all__ = ["EncodeSummary"]



@dataclass
class EncodeSummary:
    """What ``encode`` wrote: counts, sizes (bytes), fidelity and wall times (seconds).

    ``videos``: videos stored; ``split_videos``: videos of the whole split (or dataset), as
    the header's ``stats["split_videos"]`` (the header's ``stats["source_videos"]`` counts the
    stored videos). ``bytes``: archive parts (``codes``, ``tables``, ``decoder``, ``overhead``,
    ``total``);
    ``original_bytes``: the stored videos as float32; ``source_bytes``: the whole split (or
    dataset) as float32; ``ratio`` = ``source_bytes / bytes["total"]`` (sampling included),
    ``ratio_stored`` = ``original_bytes / bytes["total"]``.
    """

    path: Path
    codec: str
    codec_config: dict[str, Any]
    purpose: str
    split: str | None
    videos: int
    split_videos: int
    frames: int
    segments: int
    codes: int
    code_dim: int
    feature_dim: int
    bytes: dict[str, int]
    original_bytes: int
    source_bytes: int
    reconstruction_mse: float | None
    seconds: dict[str, float] = field(default_factory=dict)
    device: str = "cpu"
    relative_mse: float | None = None  # MSE over each channel's variance (learned codecs)

    @property
    def ratio(self) -> float:
        return self.source_bytes / max(self.bytes.get("total", 0), 1)

    @property
    def ratio_stored(self) -> float:
        return self.original_bytes / max(self.bytes.get("total", 0), 1)

    def __str__(self) -> str:
        mse = "n/a" if self.reconstruction_mse is None else f"{self.reconstruction_mse:.6g}"
        rows = [
            ("archive", str(self.path)),
            ("codec", f"{self.codec} {_short_config(self.codec_config)}"),
            ("purpose", self.purpose + (f" ({self.split})" if self.split else "")),
            ("videos", f"{self.videos} stored of {self.split_videos}"),
            ("frames / segments", f"{self.frames} / {self.segments}"),
            ("codes", f"{self.codes} x {self.code_dim} (D = {self.feature_dim})"),
        ]
        rows += [(f"bytes: {k}", _human(v)) for k, v in self.bytes.items()]
        rows += [
            ("original (float32)", f"{_human(self.original_bytes)} stored videos, "
                                   f"{_human(self.source_bytes)} all"),
            ("ratio vs float32", f"{self.ratio:.1f}x of the split (the stored videos alone: "
                                 f"{self.ratio_stored:.1f}x)"),
            ("reconstruction MSE", mse + ("" if self.relative_mse is None else
                                          f" (relative to each channel's variance: "
                                          f"{self.relative_mse:.4g})")),
            ("device", self.device),
        ]
        rows += [(f"time: {k}", f"{v:.2f} s") for k, v in self.seconds.items()]
        width = max(len(k) for k, _ in rows)
        return "\n".join(f"{k:<{width}}  {v}" for k, v in rows)


def _human(n: int) -> str:
    return f"{n} B" if n < 1024 else f"{format_bytes(n)} ({n} B)"


def _short_config(config: dict[str, Any]) -> str:
    return " ".join(f"{k}={v}" for k, v in config.items() if k != "id")
