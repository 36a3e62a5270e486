"""The fidelity figure of one video (``tascodec.plots.figure``), checked on the Figure object
(headless, Agg)."""

from __future__ import annotations

import os

import numpy as np
import pytest

os.environ.setdefault("MPLBACKEND", "Agg")
pytest.importorskip("matplotlib")  # in the test extra; `pip install -e '.[plot]'`

from tascodec.format import open_archive  # noqa: E402
from tascodec.dataset.layout import StandardDataset  # noqa: E402
from tascodec.plots import (VideoFidelity, class_error, frame_error,  # noqa: E402
                            storage_summary, video_fidelity)
from tascodec.plots.figure import STORAGE_PARTS, class_colors, fidelity_figure  # noqa: E402


def _axes(fig):
    return {ax.get_label(): ax for ax in fig.axes}


def test_figure_content(tiny_archive, tiny_dataset):
    ds = StandardDataset(tiny_dataset)
    with open_archive(tiny_archive) as ar:
        v = ar.videos[1]
        vf = video_fidelity(ar, ds, v)
        storage = storage_summary(ar)
        fig = fidelity_figure(vf, storage)
        sizes = ar.sizes()
    ax = _axes(fig)
    assert set(ax) == {"ribbon", "original", "decoded", "colorbar", "error", "class-error",
                       "storage"}
    # the ribbon: one rectangle per ground-truth segment, in its class's colour, legend names
    seg = vf.segments
    colors = class_colors(len(ds.class_names))
    rects = ax["ribbon"].patches
    assert len(rects) == seg.action.size > 1
    for r, a, s, n in zip(rects, seg.action, seg.start, seg.length):
        assert (r.get_x(), r.get_width()) == (s, n)
        np.testing.assert_allclose(r.get_facecolor(), colors[a])
    legend = [t.get_text() for t in fig.legends[0].get_texts()]
    assert legend == [ds.class_names[a] for a in sorted(set(seg.action.tolist()))]
    assert v in ax["ribbon"].get_title(loc="left")
    # heatmaps: (D, T) original and decoded, one colour scale
    (im_o,), (im_d,) = ax["original"].get_images(), ax["decoded"].get_images()
    assert im_o.get_clim() == im_d.get_clim() and im_o.get_clim()[0] < im_o.get_clim()[1]
    np.testing.assert_array_equal(im_o.get_array(), ds.features(v))
    with open_archive(tiny_archive) as ar:
        np.testing.assert_array_equal(im_d.get_array(), ar.features(v))
    assert "original" in ax["original"].get_title(loc="left") and "shown" not in ax["original"].get_title(loc="left")
    # the per-frame error line, its boundaries, the per-class bars and the storage bars
    (line,) = ax["error"].get_lines()[:1]
    np.testing.assert_allclose(line.get_ydata(), vf.frame_error)
    assert len(ax["class-error"].patches) == len(set(seg.action.tolist()))
    widths = [p.get_width() for p in ax["storage"].patches]
    assert widths == [sizes[p] for p in STORAGE_PARTS]
    assert "smaller than float32" in ax["storage"].get_title(loc="left")


def test_large_videos_are_subsampled_for_display_and_say_so():
    rng = np.random.default_rng(0)
    d, t = 300, 5000
    x = rng.standard_normal((d, t)).astype(np.float32)
    labels = np.repeat(np.arange(4), t // 4)
    errors = frame_error(x, x * 0.9)
    vf = VideoFidelity("big", ["a", "b", "c", "d", "e"], x, x * 0.9, labels, errors,
                       class_error(errors, labels, 5))
    fig = fidelity_figure(vf, {"sizes": dict.fromkeys(STORAGE_PARTS, 1) | {"total": 4},
                               "ratio": None}, max_channels=128, max_frames=2000)
    ax = _axes(fig)
    title = ax["decoded"].get_title(loc="left")
    assert "128 of 300 channels" in title and "1 frame in 3" in title
    assert ax["original"].get_images()[0].get_array().shape == (128, 1667)
    assert len(ax["class-error"].patches) == 4  # class "e" has no frame: no bar


def test_which_channels_and_no_class_colour_in_the_bytes_panel():
    from tascodec.plots.figure import STORAGE_COLORS, display_grid
    from matplotlib.colors import to_rgba

    channels, _, note = display_grid((2048, 10), 64, 2000)
    assert f"{channels[0]}, {channels[1]}, ..., {channels[-1]}" in note and "2047" in note
    palette = {tuple(np.round(c, 3)) for c in class_colors(20)}
    assert not palette & {tuple(np.round(to_rgba(c), 3)) for c in STORAGE_COLORS}
