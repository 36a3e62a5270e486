"""benchmarks/plots.py draws readable figures: no labels on points, a marker per row, the
original's line; rows of equal size are nudged apart."""

from __future__ import annotations

import pytest

pytest.importorskip("matplotlib")

from benchmarks import plots  # noqa: E402


def _row(name, size, f1):
    return {"row": name, "fidelity": {"storage_bytes": size, "mean": {"f1@50": f1},
                                      "std": {"f1@50": 1.0}}}


def test_dodge_spreads_only_near_points():
    xs = [1.0, 1.01, 5.0, 0.3]
    out = plots.dodge(xs)
    assert out[2:] == [5.0, 0.3] and out[0] < 1.0 < 1.01 < out[1]
    assert plots.dodge([1.0, 2.0]) == [1.0, 2.0]


def test_storage_plot_legend_markers_and_original_line(tmp_path, monkeypatch):
    import matplotlib.pyplot as plt

    seen = {}
    monkeypatch.setattr(plt, "close", lambda fig: seen.setdefault("fig", fig))
    rows = [_row("original", 10 << 20, 40.0), _row("inversion", 300 << 10, 39.0),
            _row("encoded", 301 << 10, 37.0), _row("mean", 320 << 10, 27.0)]
    plots.storage_plot("d", rows, tmp_path / "s.png")
    assert (tmp_path / "s.png").stat().st_size > 0
    (ax,) = seen["fig"].axes
    assert not ax.texts  # nothing written beside the points
    labels = [t.get_text() for t in ax.get_legend().get_texts()]
    assert labels[0].startswith("original's F1@50") and len(labels) == 5
    markers = [c.lines[0].get_marker() for c in ax.containers]
    assert len(set(markers)) == len(rows)
    assert "nudged" in ax.get_xlabel()
