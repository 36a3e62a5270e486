"""``plot_archive``: the fidelity figures of an archive's videos written to one file.

A ``.pdf`` output gets one page per video; any other format matplotlib writes (``.png``,
``.svg``, ...) holds one video. The file is written to a temporary name beside it and renamed
(``tempfiles``), so an existing file is never left half written.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any, Sequence

from tqdm.auto import tqdm

from ..dataset.layout import StandardDataset
from ..errors import OutputExistsError, TascodecError
from ..format import open_archive
from ..report.info import info_dict
from ..runtime.tempfiles import ensure_parent, mkstemp_beside
from .fidelity import video_fidelity
from .figure import fidelity_figure, require_matplotlib

__all__ = ["plot_archive", "storage_summary"]


def storage_summary(archive: Any) -> dict[str, Any]:
    """``{"sizes": Archive.sizes(), "ratio": float | None}``: the byte accounting and the ratio
    to the float32 original that ``tascodec info`` prints (``report.info.info_dict``)."""

    info = info_dict(archive)
    return {"sizes": info["sizes"], "ratio": info["ratio"]}


def plot_archive(archive_path: str | os.PathLike[str], dataset_dir: str | os.PathLike[str],
                 out: str | os.PathLike[str], *, videos: Sequence[str | int] | None = None,
                 overwrite: bool = False, device: Any = None, max_channels: int = 128,
                 max_frames: int = 2000, progress: bool = False) -> list[str]:
    """Draw ``videos`` (names or indices; default: the first stored) of the archive beside
    the dataset at ``dataset_dir`` into ``out``; returns the videos drawn. ``progress``: a
    bar over the videos. Missing folders above ``out`` are created.

    ``TascodecError`` (before anything is written) when matplotlib is missing, ``out`` exists
    and ``overwrite`` is false, several videos go to a format other than PDF, or a video is
    not in both.
    """

    require_matplotlib()
    out = Path(out)
    fmt = out.suffix.lower().lstrip(".")
    if not fmt:
        raise TascodecError(f"{out}: give the output a suffix (.png, .pdf, .svg, ...)")
    if out.exists() and not overwrite:
        raise OutputExistsError(out)
    ensure_parent(out)
    dataset = StandardDataset(dataset_dir)
    with open_archive(archive_path) as ar:
        chosen = [ar.videos[ar.video_index(v)] for v in (videos if videos else [0])]
        if len(chosen) > 1 and fmt != "pdf":
            raise TascodecError(f"{out}: {len(chosen)} videos need a .pdf output (one page "
                                f"each); a .{fmt} holds one")
        storage = storage_summary(ar)

        shown = tqdm(chosen, desc="plot", unit="video", disable=not progress or len(chosen) < 2)
        figures = (fidelity_figure(video_fidelity(ar, dataset, v, device=device), storage,
                                   max_channels=max_channels, max_frames=max_frames)
                   for v in shown)
        _save(figures, out, fmt)
    return chosen


def _save(figures: Any, out: Path, fmt: str) -> None:
    fd, tmp = mkstemp_beside(out)
    os.close(fd)
    try:
        if fmt == "pdf":
            from matplotlib.backends.backend_pdf import PdfPages  # lazy: matplotlib

            with PdfPages(tmp) as pdf:
                for fig in figures:
                    pdf.savefig(fig)
        else:
            for fig in figures:
                fig.savefig(tmp, format=fmt, dpi=110)
        os.replace(tmp, out)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise
