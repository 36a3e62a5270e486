"""The fidelity figure of one video (matplotlib, imported lazily: the ``plot`` extra).

Panels, top to bottom, sharing the frame axis: the ground-truth ribbon (one rectangle per
segment, a colour per class, the legend naming the classes present), the original and the
decoded features as (D, T) heatmaps on one colour scale, the per-frame relative error with the
segment boundaries; then a summary row: the error per class and the archive's bytes by part.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np

from ..errors import MissingDependencyError
from ..extras import install_command
from ..units import format_bytes
from .fidelity import VideoFidelity

__all__ = ["require_matplotlib", "class_colors", "display_grid", "fidelity_figure",
           "STORAGE_PARTS", "STORAGE_COLORS"]

#: the parts of ``Archive.sizes()`` the storage panel shows, in order
STORAGE_PARTS = ("codes", "decoder", "tables", "overhead")
#: their colours: greys, so that no part shares a colour with a class of the ribbon
STORAGE_COLORS = ("0.25", "0.45", "0.65", "0.8")


def require_matplotlib() -> Any:
    """The ``matplotlib`` module; ``MissingDependencyError`` naming the extra when it is
    missing."""
    try:
        import matplotlib  # lazy: matplotlib
    except ImportError:
        raise MissingDependencyError(
            f"plotting needs matplotlib, which is not installed: {install_command('plot')}"
        ) from None
    return matplotlib


def class_colors(num_classes: int) -> np.ndarray:
    """(A, 4) RGBA, class id -> colour, the same in every figure of ``num_classes`` classes:
    tab10 / tab20 when they suffice, then tab20 + tab20b + tab20c, then an even hue wheel."""
    from matplotlib import colormaps  # lazy: matplotlib

    if num_classes <= 10:
        return colormaps["tab10"](np.arange(num_classes))
    if num_classes <= 20:
        return colormaps["tab20"](np.arange(num_classes))
    if num_classes <= 60:
        pool = np.concatenate([colormaps[n](np.arange(20)) for n in ("tab20", "tab20b",
                                                                     "tab20c")])
        return pool[:num_classes]
    return colormaps["hsv"](np.linspace(0, 1, num_classes, endpoint=False))


def display_grid(shape: tuple[int, int], max_channels: int, max_frames: int
                 ) -> tuple[np.ndarray, int, str]:
    """Which of a (D, T) array to draw: (channel indices (D',) evenly spaced, frame step, a
    note for the title saying which channels and frames are drawn, empty when all are)."""
    d, t = shape
    channels = np.unique(np.linspace(0, d - 1, min(d, max_channels)).round().astype(np.int64))
    step = max(1, math.ceil(t / max_frames))
    notes = []
    if channels.size < d:
        every = (d - 1) / max(channels.size - 1, 1)
        notes.append(f"{channels.size} of {d} channels, evenly spaced: {channels[0]}, "
                     f"{channels[1]}, ..., {channels[-1]} (about every {every:.3g}th)")
    if step > 1:
        notes.append(f"1 frame in {step}")
    return channels, step, f" (shown: {'; '.join(notes)})" if notes else ""


def _ribbon(ax: Any, vf: VideoFidelity, colors: np.ndarray) -> list[Any]:
    from matplotlib.patches import Patch, Rectangle  # lazy: matplotlib

    seg = vf.segments
    for a, s, n in zip(seg.action, seg.start, seg.length):
        ax.add_patch(Rectangle((int(s), 0), int(n), 1, facecolor=colors[a], linewidth=0))
    ax.set_ylim(0, 1)
    ax.set_yticks([])
    ax.set_title(f"{vf.video}: ground truth ({seg.action.size} segments, "
                 f"{vf.labels.size} frames)", loc="left", fontsize=10)
    present = sorted(set(int(a) for a in seg.action))
    return [Patch(facecolor=colors[a], label=vf.class_names[a]) for a in present]


def _heatmaps(fig: Any, axes: list[Any], cax: Any, vf: VideoFidelity, max_channels: int,
              max_frames: int) -> None:
    channels, step, note = display_grid(vf.original.shape, max_channels, max_frames)
    shown = [x[channels][:, ::step] for x in (vf.original, vf.decoded)]
    lo, hi = np.percentile(shown[0], [1, 99]) if shown[0].size else (0.0, 1.0)
    if not hi > lo:
        lo, hi = lo - 0.5, hi + 0.5
    t = vf.labels.size
    for ax, x, name in zip(axes, shown, ("original", "decoded")):
        im = ax.imshow(x, aspect="auto", interpolation="nearest", cmap="viridis",
                       vmin=float(lo), vmax=float(hi), extent=(0, t, channels.size, 0))
        ax.set_ylabel("channel")
        ticks = np.unique(np.linspace(0, channels.size - 1, min(channels.size, 5)).round())
        ax.set_yticks(ticks + 0.5, [str(int(channels[int(i)])) for i in ticks])
        ax.set_title(f"{name} features (D={vf.original.shape[0]}){note}", loc="left",
                     fontsize=10)
    fig.colorbar(im, cax=cax, label="feature value (shared scale, 1st-99th pct. of original)")


def _error(ax: Any, vf: VideoFidelity) -> None:
    t = vf.labels.size
    ax.plot(np.arange(t) + 0.5, vf.frame_error, color="C3", linewidth=0.8)
    bounds = vf.segments.start[1:]
    if bounds.size:
        ax.vlines(bounds, 0, 1, transform=ax.get_xaxis_transform(), color="0.55",
                  linewidth=0.6, linestyle=":")
    ax.axhline(vf.mean_frame_error, color="k", linewidth=0.8, linestyle="--")
    ax.set_ylim(bottom=0)
    ax.set_xlim(0, t)
    ax.set_xlabel("frame")
    ax.set_ylabel("error / video spread")
    ax.set_title(f"per-frame squared error over this video's spread (1 = as far off as the "
                 f"video's frames are from its mean frame; dashed: mean "
                 f"{vf.mean_frame_error:.3g}; dotted: segment boundaries)", loc="left", fontsize=10)


def _class_bars(ax: Any, vf: VideoFidelity, colors: np.ndarray) -> None:
    present = [a for a in range(len(vf.class_names)) if not np.isnan(vf.class_error[a])]
    y = np.arange(len(present))
    ax.barh(y, [vf.class_error[a] for a in present], color=[colors[a] for a in present])
    ax.set_yticks(y, [vf.class_names[a] for a in present], fontsize=8)
    ax.invert_yaxis()
    ax.set_xlabel("mean error / video spread")
    ax.set_title("error per class", loc="left", fontsize=10)


def _storage(ax: Any, storage: dict[str, Any]) -> None:
    sizes = storage["sizes"]
    values = [int(sizes.get(p, 0)) for p in STORAGE_PARTS]
    y = np.arange(len(values))
    ax.barh(y, values, color=list(STORAGE_COLORS), edgecolor="k", linewidth=0.5)
    ax.set_yticks(y, STORAGE_PARTS)
    ax.invert_yaxis()
    top = max(values) or 1
    for i, v in enumerate(values):
        ax.text(v + 0.01 * top, i, format_bytes(v), va="center", fontsize=8)
    ax.set_xlim(0, top * 1.3)
    ax.set_xticks([])
    ratio = storage.get("ratio")
    extra = f", {ratio:.1f}x smaller than float32" if ratio else ""
    ax.set_title(f"archive bytes: {format_bytes(int(sizes['total']))}{extra}", loc="left",
                 fontsize=10)


def fidelity_figure(vf: VideoFidelity, storage: dict[str, Any], *, max_channels: int = 128,
                    max_frames: int = 2000) -> Any:
    """The figure of one video (a ``matplotlib.figure.Figure``, no pyplot state).

    ``storage``: ``{"sizes": Archive.sizes(), "ratio": float | None}``. Heatmaps draw at most
    ``max_channels`` channels (evenly spaced) and ``max_frames`` frames (a step), saying so in
    their titles. Axes carry labels ``ribbon``, ``original``, ``decoded``, ``colorbar``,
    ``error``, ``class-error``, ``storage`` (``ax.get_label()``).
    """
    require_matplotlib()
    from matplotlib.figure import Figure  # lazy: matplotlib

    colors = class_colors(len(vf.class_names))
    fig = Figure(figsize=(13, 11), layout="constrained")
    gs = fig.add_gridspec(5, 3, height_ratios=(0.45, 2, 2, 1.3, 2.2),
                          width_ratios=(1, 1, 0.025))
    ribbon = fig.add_subplot(gs[0, :2], label="ribbon")
    orig = fig.add_subplot(gs[1, :2], sharex=ribbon, label="original")
    dec = fig.add_subplot(gs[2, :2], sharex=ribbon, label="decoded")
    cax = fig.add_subplot(gs[1:3, 2], label="colorbar")
    err = fig.add_subplot(gs[3, :2], sharex=ribbon, label="error")
    bars = fig.add_subplot(gs[4, 0], label="class-error")
    store = fig.add_subplot(gs[4, 1], label="storage")
    handles = _ribbon(ribbon, vf, colors)
    _heatmaps(fig, [orig, dec], cax, vf, max_channels, max_frames)
    _error(err, vf)
    for ax in (ribbon, orig, dec):
        ax.tick_params(labelbottom=False)
    _class_bars(bars, vf, colors)
    _storage(store, storage)
    fig.legend(handles=handles, loc="outside upper center", ncol=min(len(handles), 8),
               fontsize=8, frameon=False, title="classes", title_fontsize=8)
    return fig
