"""``plot_archive`` (``tascodec.plots.write``): the figures of an archive's videos written to
one file (a page per video in a PDF), never over an existing one; the storage summary."""

from __future__ import annotations

import os

import pytest

os.environ.setdefault("MPLBACKEND", "Agg")
pytest.importorskip("matplotlib")  # in the test extra; `pip install -e '.[plot]'`

from tascodec.errors import OutputExistsError, TascodecError  # noqa: E402
from tascodec.format import open_archive  # noqa: E402
from tascodec.plots import plot_archive, storage_summary  # noqa: E402


def test_storage_summary_is_the_byte_accounting_and_the_ratio(tiny_archive):
    with open_archive(tiny_archive) as ar:
        summary = storage_summary(ar)
        sizes = ar.sizes()
        original = sum(ar.num_frames(v) for v in ar.videos) * ar.feature_dim * 4
    assert summary["sizes"] == sizes
    assert summary["ratio"] == pytest.approx(original / sizes["total"], rel=1e-3)


def test_plot_archive_writes_the_videos_asked_for(tiny_archive, tiny_dataset, tmp_path):
    with open_archive(tiny_archive) as ar:
        names = list(ar.videos)
    svg = tmp_path / "sub" / "one.svg"
    assert plot_archive(tiny_archive, tiny_dataset, svg, videos=[1]) == [names[1]]
    assert b"<svg" in svg.read_bytes()[:1000]
    pdf = tmp_path / "two.pdf"
    assert plot_archive(tiny_archive, tiny_dataset, pdf, videos=[names[0], 2]) == [names[0],
                                                                                 names[2]]
    data = pdf.read_bytes()
    assert data.count(b"/Type /Page\n") + data.count(b"/Type /Page ") == 2
    assert plot_archive(tiny_archive, tiny_dataset, tmp_path / "first.png") == [names[0]]
    with pytest.raises(OutputExistsError):
        plot_archive(tiny_archive, tiny_dataset, pdf)
    with pytest.raises(TascodecError, match="give the output a suffix"):
        plot_archive(tiny_archive, tiny_dataset, tmp_path / "figure")
    assert sorted(p.name for p in tmp_path.iterdir()) == ["first.png", "sub", "two.pdf"]
