"""``tascodec plot``: the fidelity figure, checked on the Figure object (headless, Agg)."""

from __future__ import annotations

import os
import sys

import numpy as np
import pytest

os.environ.setdefault("MPLBACKEND", "Agg")
pytest.importorskip("matplotlib")  # in the test extra; `pip install -e '.[plot]'`

from tascodec.cli import main  # noqa: E402
from tascodec.errors import TascodecError  # noqa: E402
from tascodec.format import open_archive  # noqa: E402
from tascodec.dataset.layout import StandardDataset  # noqa: E402
from tascodec.plots import (VideoFidelity, class_error, frame_error, plot_archive,  # noqa: E402
                            storage_summary, video_fidelity)
from tascodec.plots.figure import STORAGE_PARTS, class_colors, fidelity_figure  # noqa: E402


@pytest.fixture(scope="module")
def tiny_archive(tiny_dataset, tmp_path_factory):
    from tascodec import encode

    path = tmp_path_factory.mktemp("plot") / "t.tasz"
    encode(tiny_dataset, path, codec="mean", split="train", gamma=1.0, progress=False)
    return path


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


def test_frame_and_class_error():
    x = np.array([[0.0, 2.0, 4.0], [1.0, 1.0, 1.0]])  # (D=2, T=3); spread: mean of 4, 0, 4
    np.testing.assert_allclose(frame_error(x, x), 0)
    np.testing.assert_allclose(frame_error(x, x + [[1.0], [0.0]]), [3 / 8] * 3)
    np.testing.assert_allclose(class_error(np.array([1.0, 3.0, 5.0]), np.array([0, 0, 2]), 4),
                               [2.0, np.nan, 5.0, np.nan])


def test_plot_files_and_refusals(tiny_archive, tiny_dataset, tmp_path, capsys):
    png = tmp_path / "a.png"
    assert main(["plot", str(tiny_archive), "--dataset", str(tiny_dataset), "-o", str(png),
                 "--video", "1"]) == 0
    assert png.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    assert main(["plot", str(tiny_archive), "--dataset", str(tiny_dataset), "-o", str(png)]) == 2
    assert "already exists" in capsys.readouterr().err
    with open_archive(tiny_archive) as ar:
        names = ar.videos
    pdf = tmp_path / "all.pdf"
    assert main(["plot", str(tiny_archive), "--dataset", str(tiny_dataset), "-o", str(pdf),
                 "--video", f"{names[2]}.txt", "--video", "0"]) == 0
    assert pdf.read_bytes().count(b"/Type /Page\n") + pdf.read_bytes().count(
        b"/Type /Page ") == 2
    assert main(["plot", str(tiny_archive), "--dataset", str(tiny_dataset), "-o", str(pdf),
                 "--all", "--video", "0", "--overwrite"]) == 2
    assert "--all and --video" in capsys.readouterr().err
    with pytest.raises(TascodecError, match="need a .pdf output"):
        plot_archive(tiny_archive, tiny_dataset, tmp_path / "b.png", videos=names[:2])
    assert main(["plot", str(tiny_archive), "--dataset", str(tiny_dataset), "-o",
                 str(tmp_path / "c.png"), "--video", "nope"]) == 2
    assert "no video 'nope'" in capsys.readouterr().err
    assert not list(tmp_path.glob(".tascodec-tmp-*")) and not (tmp_path / "b.png").exists()


def test_a_test_video_missing_from_the_dataset_is_named(tiny_archive, tiny_dataset, tmp_path):
    from tascodec.dataset.layout_write import LayoutWriter

    ds = StandardDataset(tiny_dataset)
    with open_archive(tiny_archive) as ar:
        kept = [v for v in ds.videos if v != ar.videos[0]]
        w = LayoutWriter(tmp_path / "d", ds.class_names)
        for v in kept:
            w.write_video(v, np.asarray(ds.features(v)), ds.labels(v))
        w.write_mapping()
        with pytest.raises(TascodecError, match="stored but not in the dataset"):
            video_fidelity(ar, StandardDataset(tmp_path / "d"), ar.videos[0])


def test_missing_matplotlib_is_one_line_naming_the_extra(tiny_archive, tiny_dataset, tmp_path,
                                                         monkeypatch, capsys):
    for name in [m for m in sys.modules if m == "matplotlib" or m.startswith("matplotlib.")]:
        monkeypatch.delitem(sys.modules, name)
    monkeypatch.setitem(sys.modules, "matplotlib", None)  # import matplotlib -> ImportError
    assert main(["plot", str(tiny_archive), "--dataset", str(tiny_dataset), "-o",
                 str(tmp_path / "x.png")]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and 'pip install -e ".[plot]"' in err
    assert not (tmp_path / "x.png").exists()


def test_plot_into_folders_with_progress(tiny_archive, tiny_dataset, tmp_path, capsys):
    with open_archive(tiny_archive) as ar:
        first = ar.videos[0]
    assert main(["plot", str(tiny_archive), "--dataset", str(tiny_dataset), "-o",
                 str(tmp_path)]) == 0  # an existing folder: <video>.png in it
    assert (tmp_path / f"{first}.png").is_file()
    assert main(["plot", str(tiny_archive), "--dataset", str(tiny_dataset), "--all", "-o",
                 f"{tmp_path}/new/deeper/"]) == 0  # folders made; several videos: a PDF
    assert (tmp_path / "new" / "deeper" / f"{tiny_archive.stem}.pdf").is_file()
    assert "plot" in capsys.readouterr().err  # a bar over the videos
    assert main(["plot", str(tiny_archive), "--dataset", str(tiny_dataset), "--all", "-o",
                 str(tmp_path / "q.pdf"), "--quiet"]) == 0
    assert capsys.readouterr().err == ""


def test_which_channels_and_no_class_colour_in_the_bytes_panel():
    from tascodec.plots.figure import STORAGE_COLORS, display_grid
    from matplotlib.colors import to_rgba

    channels, _, note = display_grid((2048, 10), 64, 2000)
    assert f"{channels[0]}, {channels[1]}, ..., {channels[-1]}" in note and "2047" in note
    palette = {tuple(np.round(c, 3)) for c in class_colors(20)}
    assert not palette & {tuple(np.round(to_rgba(c), 3)) for c in STORAGE_COLORS}
