"""What a fidelity plot shows (``tascodec.plots.fidelity``, NumPy only): the error per frame
and per class, a stored video set beside the dataset's."""

from __future__ import annotations

import numpy as np
import pytest

from tascodec.dataset.layout import StandardDataset
from tascodec.errors import TascodecError
from tascodec.format import open_archive
from tascodec.plots import class_error, frame_error, video_fidelity


def test_frame_and_class_error():
    x = np.array([[0.0, 2.0, 4.0], [1.0, 1.0, 1.0]])  # (D=2, T=3); spread: mean of 4, 0, 4
    np.testing.assert_allclose(frame_error(x, x), 0)
    np.testing.assert_allclose(frame_error(x, x + [[1.0], [0.0]]), [3 / 8] * 3)
    np.testing.assert_allclose(class_error(np.array([1.0, 3.0, 5.0]), np.array([0, 0, 2]), 4),
                               [2.0, np.nan, 5.0, np.nan])


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
