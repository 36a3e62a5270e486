"""``EncodeSummary``: what ``tascodec.encode`` did, as a value and as the table the CLI prints."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from ..units import format_bytes

__all__ = ["EncodeSummary", "FIDELITY_NOTES", "SHORT_CONFIG", "short_config"]

#: what each fidelity figure means, printed beside it (``encode``'s summary, ``tascodec info``)
FIDELITY_NOTES = {
    "relative_mse": "squared error relative to each channel's variance over the split: 0 "
                    "exact, 1 no better than the channel's mean; plot divides by one video's "
                    "spread",
    "reconstruction_mse": "mean squared error per value, in feature units",
}
#: codec parameters the one-line summaries show (the whole configuration: ``info --json``)
SHORT_CONFIG = ("k", "components", "stride", "interpolation", "latent_dim", "hidden_dim", "code_dtype",
                "decoder_dtype", "dtype",
                "recipe", "init")


def short_config(config: dict[str, Any]) -> str:
    """``k=auto latent_dim=16 ...``: the codec parameters people compare (``SHORT_CONFIG``)."""
    return " ".join(f"{k}={config[k]}" for k in SHORT_CONFIG if config.get(k) is not None)


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
    #: the ratio a default target asked for when this dataset cannot reach it (the archive is
    #: then the smallest rate control makes); ``None`` when the target was met
    target_missed: float | None = None

    @property
    def storage_bytes(self) -> int:
        """The archive's bytes (``bytes["total"]``), as ``info --json`` and ``eval --json``
        name them."""
        return int(self.bytes.get("total", 0))

    @property
    def ratio(self) -> float:
        """``source_bytes / storage_bytes``: the factor (53.1 = 53.1 times smaller), as
        everywhere."""
        return self.source_bytes / max(self.storage_bytes, 1)

    @property
    def ratio_stored(self) -> float:
        return self.original_bytes / max(self.bytes.get("total", 0), 1)

    def __str__(self) -> str:
        mse = "n/a" if self.reconstruction_mse is None else (
            f"{self.reconstruction_mse:.6g} ({FIDELITY_NOTES['reconstruction_mse']})")
        which = ("every video" if self.videos == self.split_videos else
                 f"a sample of {100 * self.videos / max(self.split_videos, 1):.0f}% (--gamma)")
        rows = [
            ("archive", str(self.path)),
            ("codec", f"{self.codec} {short_config(self.codec_config)}".rstrip()),
            ("purpose", self.purpose + (f" ({self.split})" if self.split else "")),
            ("videos", f"{self.videos} stored of {self.split_videos} ({which})"),
            ("frames / segments", f"{self.frames} / {self.segments}"),
            ("codes", f"{self.codes} x {self.code_dim} (D = {self.feature_dim})"),
        ]
        rows += [(f"bytes: {k}", _human(v)) for k, v in self.bytes.items()]
        rows += [
            ("original (float32)", f"{_human(self.original_bytes)} stored videos, "
                                   f"{_human(self.source_bytes)} all"),
            ("ratio vs float32", f"{self.ratio:.1f}x of the split (the stored videos alone: "
                                 f"{self.ratio_stored:.1f}x)"),
        ]
        if self.target_missed is not None:
            rows.append(("note", f"the default target of {self.target_missed:g}x cannot be met "
                                 f"on a dataset this small (the archive's fixed part alone "
                                 f"is larger): this is the smallest archive rate control makes"))
        if self.relative_mse is not None:
            rows.append(("relative error", f"{self.relative_mse:.4g} "
                                           f"({FIDELITY_NOTES['relative_mse']})"))
        rows += [
            ("reconstruction MSE", mse),
            ("device", self.device),
        ]
        rows += [(f"time: {k}", f"{v:.2f} s") for k, v in self.seconds.items()]
        width = max(len(k) for k, _ in rows)
        return "\n".join(f"{k:<{width}}  {v}" for k, v in rows)


def _human(n: int) -> str:
    return f"{n} B" if n < 1024 else f"{format_bytes(n)} ({n} B)"

